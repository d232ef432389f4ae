// One full-screen triangle; the fragment shader composes the whole screen from the uniforms:
// background, then the image (or text) layer, then the fixation cross, then the calibration
// target. Everything is in screen pixels, so what is drawn is checkable against a CPU rule.

struct Uniforms {
    // x, y: image rectangle origin (px); z, w: its size (px). Size 0 = no image layer.
    rect: vec4<f32>,
    background: vec4<f32>,
    // x, y: centre (px); z: half arm length; w: half thickness. z = 0: no cross.
    cross: vec4<f32>,
    cross_color: vec4<f32>,
    // x, y: centre (px); z: disk radius; w: dot radius. z = 0: no target.
    spot: vec4<f32>,
    spot_color: vec4<f32>,
    dot_color: vec4<f32>,
}

@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var layer: texture_2d<f32>;
@group(0) @binding(2) var layer_sampler: sampler;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let x = f32((i << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(i & 2u) * 2.0 - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) p: vec4<f32>) -> @location(0) vec4<f32> {
    // p.xy is the pixel centre (x + 0.5, y + 0.5), origin top-left.
    var c = u.background.rgb;
    if (u.rect.z > 0.0) {
        let q = (p.xy - u.rect.xy) / u.rect.zw;
        if (q.x >= 0.0 && q.y >= 0.0 && q.x < 1.0 && q.y < 1.0) {
            let t = textureSampleLevel(layer, layer_sampler, q, 0.0);
            c = mix(c, t.rgb, t.a);
        }
    }
    if (u.cross.z > 0.0) {
        let d = abs(p.xy - u.cross.xy);
        if ((d.x < u.cross.z && d.y < u.cross.w) || (d.y < u.cross.z && d.x < u.cross.w)) {
            c = u.cross_color.rgb;
        }
    }
    if (u.spot.z > 0.0) {
        let r = distance(p.xy, u.spot.xy);
        if (r < u.spot.w) {
            c = u.dot_color.rgb;
        } else if (r < u.spot.z) {
            c = u.spot_color.rgb;
        }
    }
    return vec4<f32>(c, 1.0);
}
