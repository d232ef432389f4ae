//! Where things go on the participant's screen: a stimulus image scaled to fit, and the
//! operator's pictures (positioning guide, validation plot).

/// Where the operator's pictures (positioning guide, validation plot) go on the participant's
/// screen: 16:10, as large as fits up to 1280 × 800 px, centred on whole pixels. They are drawn
/// at this size, so text stays sharp.
pub fn operator_rect(screen_w: u32, screen_h: u32) -> [f32; 4] {
    let fit = fit_rect(1280, 800, screen_w, screen_h);
    let (w, h) = (fit[2].min(1280.0).floor(), fit[3].min(800.0).floor());
    [
        ((screen_w as f32 - w) / 2.0).floor(),
        ((screen_h as f32 - h) / 2.0).floor(),
        w,
        h,
    ]
}

/// The image rectangle (x, y, w, h in screen px): scaled to fit, aspect kept, centred.
pub fn fit_rect(img_w: u32, img_h: u32, screen_w: u32, screen_h: u32) -> [f32; 4] {
    let s = (f64::from(screen_w) / f64::from(img_w)).min(f64::from(screen_h) / f64::from(img_h));
    let (w, h) = (f64::from(img_w) * s, f64::from(img_h) * s);
    [
        ((f64::from(screen_w) - w) / 2.0) as f32,
        ((f64::from(screen_h) - h) / 2.0) as f32,
        w as f32,
        h as f32,
    ]
}
