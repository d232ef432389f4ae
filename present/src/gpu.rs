//! The wgpu side of the presenter: device, one pipeline, preloaded image layers, and encoding
//! a screen into any texture view (window surface or offscreen target).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::text::Font;
use super::{Layout, PresentError, Result, Screen, Style};

/// Which adapter renders; recorded so a recording says what drew it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    pub adapter: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
}

impl std::fmt::Display for GpuInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, driver {})",
            self.adapter, self.backend, self.device_type, self.driver
        )
    }
}

/// Asks for an adapter (the one that can show on `surface` when there is one) and its device.
pub(crate) fn request_device(
    instance: &wgpu::Instance,
    surface: Option<&wgpu::Surface<'_>>,
) -> Result<(wgpu::Adapter, wgpu::Device, wgpu::Queue, GpuInfo)> {
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: surface,
        apply_limit_buckets: false,
    }))
    .map_err(|e| PresentError::NoAdapter(e.to_string()))?;
    let ai = adapter.get_info();
    let info = GpuInfo {
        adapter: ai.name.clone(),
        backend: format!("{:?}", ai.backend),
        device_type: format!("{:?}", ai.device_type),
        driver: format!("{} {}", ai.driver, ai.driver_info)
            .trim()
            .to_string(),
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("et-suite presenter"),
        required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
        ..Default::default()
    }))
    .map_err(|e| PresentError::Device(e.to_string()))?;
    Ok((adapter, device, queue, info))
}

struct Layer {
    texture: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    w: u32,
    h: u32,
}

/// Draws screens. Owns every GPU resource; image layers stay resident until `unload`.
pub struct Renderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::RenderPipeline,
    bind_layout: wgpu::BindGroupLayout,
    uniforms: wgpu::Buffer,
    sampler: wgpu::Sampler,
    layers: HashMap<String, Layer>,
    /// Bound when a screen has no image layer (the shader skips it).
    empty: wgpu::BindGroup,
    font: Option<Font>,
    /// The first error wgpu reported outside a call (it would panic otherwise).
    device_error: Arc<Mutex<Option<String>>>,
    pub style: Style,
    pub info: GpuInfo,
}

const UNIFORM_FLOATS: usize = 28;

fn rgb(c: [u8; 3]) -> [f32; 4] {
    [
        f32::from(c[0]) / 255.0,
        f32::from(c[1]) / 255.0,
        f32::from(c[2]) / 255.0,
        1.0,
    ]
}

impl Renderer {
    /// `format` is the render target's format; it must not be an sRGB format, so the 8-bit
    /// values of images and colours reach the screen unchanged.
    pub(crate) fn new(
        device: wgpu::Device,
        queue: wgpu::Queue,
        format: wgpu::TextureFormat,
        style: Style,
        info: GpuInfo,
    ) -> Renderer {
        let device_error = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&device_error);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            tracing::error!("graphics device: {e}");
            if let Ok(mut s) = slot.lock() {
                s.get_or_insert_with(|| e.to_string());
            }
        }));
        Renderer::on_device(device, queue, format, style, info, device_error)
    }

    /// A second renderer on this one's device (another window's surface, in `format`): it
    /// shares the device's error slot, as a device has one error handler.
    pub(crate) fn beside(&self, format: wgpu::TextureFormat, style: Style) -> Renderer {
        Renderer::on_device(
            self.device.clone(),
            self.queue.clone(),
            format,
            style,
            self.info.clone(),
            Arc::clone(&self.device_error),
        )
    }

    fn on_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        format: wgpu::TextureFormat,
        style: Style,
        info: GpuInfo,
        device_error: Arc<Mutex<Option<String>>>,
    ) -> Renderer {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("presenter"),
            source: wgpu::ShaderSource::Wgsl(include_str!("shader.wgsl").into()),
        });
        let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("presenter"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("presenter"),
            bind_group_layouts: &[Some(&bind_layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("presenter"),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                buffers: &[],
                compilation_options: Default::default(),
            },
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some("fs_main"),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
                compilation_options: Default::default(),
            }),
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        });
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("presenter uniforms"),
            size: (UNIFORM_FLOATS * 4) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // Linear filtering for scaled stimuli; at 1:1 every pixel centre hits a texel centre,
        // so the image reaches the screen unchanged.
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("presenter"),
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let empty = bind(
            &device,
            &bind_layout,
            &uniforms,
            &blank_texture(&device),
            &sampler,
        );
        Renderer {
            device,
            queue,
            pipeline,
            bind_layout,
            uniforms,
            sampler,
            layers: HashMap::new(),
            empty,
            font: None,
            device_error,
            style,
            info,
        }
    }

    /// Fails with the first error the device reported since it was made.
    pub fn check(&self) -> Result<()> {
        match self.device_error.lock() {
            Ok(mut e) => match e.take() {
                Some(m) => Err(PresentError::Device(m)),
                None => Ok(()),
            },
            Err(_) => Err(PresentError::Device("error slot poisoned".into())),
        }
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Uploads an image under `key` so that showing it costs no decoding or transfer.
    pub fn preload(&mut self, key: &str, img: &image::RgbaImage) -> Result<()> {
        let max = self.device.limits().max_texture_dimension_2d;
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 || w > max || h > max {
            return Err(PresentError::TooLarge {
                key: key.into(),
                w,
                h,
                max,
            });
        }
        let size = wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        };
        // The same key at the same size again (the operator's picture, redrawn ten times a
        // second): new texels into the texture it has, no new allocation.
        if let Some(layer) = self.layers.get(key).filter(|l| (l.w, l.h) == (w, h)) {
            write_texels(&self.queue, &layer.texture, img, size);
            return Ok(());
        }
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(key),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        write_texels(&self.queue, &texture, img, size);
        let bind_group = bind(
            &self.device,
            &self.bind_layout,
            &self.uniforms,
            &texture,
            &self.sampler,
        );
        self.layers.insert(
            key.to_string(),
            Layer {
                texture,
                bind_group,
                w,
                h,
            },
        );
        Ok(())
    }

    pub fn is_loaded(&self, key: &str) -> bool {
        self.layers.contains_key(key)
    }

    /// Frees an image layer (after its trial) so a long session does not hold every texture.
    pub fn unload(&mut self, key: &str) {
        self.layers.remove(key);
    }

    /// Encodes `screen` drawn into `view` (`w` × `h` px); `age_s` is the time since the screen
    /// first appeared (animates the calibration target). The caller submits.
    pub fn encode(
        &mut self,
        view: &wgpu::TextureView,
        w: u32,
        h: u32,
        screen: &Screen,
        age_s: f32,
    ) -> Result<wgpu::CommandEncoder> {
        self.check()?;
        let mut layout = Layout::of(screen, &self.style, w, h, age_s);
        let key = match screen {
            Screen::Image { key, .. } => Some(key.clone()),
            Screen::Text(text) => {
                let key = format!("text:{text}");
                if !self.layers.contains_key(&key) {
                    if self.font.is_none() {
                        self.font = Some(Font::find()?);
                    }
                    if let Some(font) = &self.font {
                        // Never wider or taller than the screen (less a margin).
                        let img = font.render_within(
                            text,
                            self.style.text_px,
                            self.style.foreground,
                            (w * 24 / 25, h * 24 / 25),
                        );
                        self.preload(&key, &img)?;
                    }
                }
                Some(key)
            }
            _ => None,
        };
        let group = match &key {
            Some(k) => {
                let layer = self
                    .layers
                    .get(k)
                    .ok_or_else(|| PresentError::NotPreloaded { key: k.clone() })?;
                if let Screen::Text(_) = screen {
                    // Text at 1:1, centred on whole pixels so glyphs stay sharp.
                    layout.rect = [
                        ((w as f32 - layer.w as f32) / 2.0).floor(),
                        ((h as f32 - layer.h as f32) / 2.0).floor(),
                        layer.w as f32,
                        layer.h as f32,
                    ];
                }
                &layer.bind_group
            }
            None => &self.empty,
        };
        let s = &self.style;
        let mut u = [0f32; UNIFORM_FLOATS];
        u[0..4].copy_from_slice(&layout.rect);
        u[4..8].copy_from_slice(&rgb(s.background));
        u[8..12].copy_from_slice(&layout.cross.unwrap_or([0.0; 4]));
        u[12..16].copy_from_slice(&rgb(s.foreground));
        u[16..20].copy_from_slice(&layout.target.unwrap_or([0.0; 4]));
        u[20..24].copy_from_slice(&rgb(s.target_color));
        u[24..28].copy_from_slice(&rgb(s.target_dot_color));
        let bytes: Vec<u8> = u.iter().flat_map(|f| f.to_ne_bytes()).collect();
        self.queue.write_buffer(&self.uniforms, 0, &bytes);
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("screen"),
            });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("screen"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.draw(0..3, 0..1);
        }
        Ok(encoder)
    }
}

fn write_texels(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    img: &image::RgbaImage,
    size: wgpu::Extent3d,
) {
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        img.as_raw(),
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(4 * size.width),
            rows_per_image: Some(size.height),
        },
        size,
    );
}

fn blank_texture(device: &wgpu::Device) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("no layer"),
        size: wgpu::Extent3d {
            width: 1,
            height: 1,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::TEXTURE_BINDING,
        view_formats: &[],
    })
}

fn bind(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    uniforms: &wgpu::Buffer,
    texture: &wgpu::Texture,
    sampler: &wgpu::Sampler,
) -> wgpu::BindGroup {
    let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("layer"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: uniforms.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::TextureView(&view),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: wgpu::BindingResource::Sampler(sampler),
            },
        ],
    })
}
