//! Figures drawn with plotters, each with a title, axis labels with units and a legend, written
//! as PNG (for the report) and SVG (for papers). Text needs a TrueType font
//! (`et_stimuli::font`: `ET_FONT` or the system's DejaVu/Liberation Sans); without one the
//! figures are skipped and the analysis says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::descriptive::mean;
use crate::study::{ParticipantValidation, StudyAnalysis};
use crate::AnalysisError;

/// Why a figure could not be drawn.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FigureError {
    /// No font for the figures' text: the figures are skipped and the analysis says so.
    #[error("{0}")]
    Font(String),
    /// What the plotting library or the PNG encoder reported.
    #[error("{0}")]
    Draw(String),
    /// An error while drawing the file `path`.
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        source: Box<FigureError>,
    },
    #[error("{}: cannot write: {message}", path.display())]
    Write { path: PathBuf, message: String },
    #[error("{}: cannot read the stimulus image: {message}", path.display())]
    Image { path: PathBuf, message: String },
    #[error("no stimulus {stimulus:?} in the analysis (it has: {})", present.join(", "))]
    NoStimulus {
        stimulus: String,
        present: Vec<String>,
    },
    #[error("participant {participant:?} has no fixations on {stimulus} (participants there: {})", present.join(", "))]
    NoFixations {
        participant: String,
        stimulus: String,
        present: Vec<String>,
    },
}

/// What plotters reports, as drawing text (its error type differs per backend).
impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for FigureError {
    fn from(e: DrawingAreaErrorKind<E>) -> FigureError {
        FigureError::Draw(e.to_string())
    }
}

impl FigureError {
    /// This error as one met while drawing `path`.
    fn in_file(self, path: &Path) -> FigureError {
        FigureError::InFile {
            path: path.into(),
            source: Box::new(self),
        }
    }
}

/// Registers the figures' font once; the error says which files were tried.
pub(crate) fn font() -> Result<(), FigureError> {
    static FONT: OnceLock<Result<(), FigureError>> = OnceLock::new();
    FONT.get_or_init(|| {
        let path = et_stimuli::font::font_file().map_err(|e| FigureError::Font(e.to_string()))?;
        let bytes = std::fs::read(&path)
            .map_err(|e| FigureError::Font(format!("{}: {e}", path.display())))?;
        // plotters keeps fonts for the life of the process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| {
            FigureError::Font(format!("{}: not a TrueType/OpenType font", path.display()))
        })
    })
    .clone()
}

/// Writes one figure as `<base>.png` (for the report) and `<base>.svg` (for papers) at `size`,
/// drawn by the same code handed once per backend, and returns both paths; an error names the
/// file it was drawing.
pub(crate) fn png_and_svg(
    base: &Path,
    size: (u32, u32),
    png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), FigureError>,
    svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), FigureError>,
) -> Result<Vec<PathBuf>, FigureError> {
    let (png_path, svg_path) = (base.with_extension("png"), base.with_extension("svg"));
    png(&BitMapBackend::new(&png_path, size).into_drawing_area())
        .map_err(|e| e.in_file(&png_path))?;
    svg(&SVGBackend::new(&svg_path, size).into_drawing_area()).map_err(|e| e.in_file(&svg_path))?;
    Ok(vec![png_path, svg_path])
}

/// A text style centred on its anchor point.
pub(crate) fn centred(size: u32, colour: &RGBColor) -> TextStyle<'static> {
    ("sans-serif", size)
        .into_font()
        .color(colour)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ))
}

/// The category at axis value `v` when it sits on category `i`'s tick (`i` in 0..n): the
/// label formatters of every categorical axis here.
pub(crate) fn category(v: f64, n: usize) -> Option<usize> {
    let i = v.round();
    ((v - i).abs() <= 1e-6 && i >= 0.0 && (i as usize) < n).then_some(i as usize)
}

/// Ticks of a 0–1 share axis as per cent, blank above 100 % (room kept for a legend).
fn percent_tick(v: &f64) -> String {
    if *v <= 1.0 + 1e-9 {
        format!("{:.0} %", v * 100.0)
    } else {
        String::new()
    }
}

/// What a bar chart over categories shows: its title, the categories' count and labels, the
/// share axis's top (above 1 is room for a legend) and both axes' descriptions.
struct CategoryAxes<'a> {
    caption: (&'a str, u32),
    n: usize,
    label: &'a dyn Fn(&f64) -> String,
    y_max: f64,
    y_area: u32,
    desc: (&'a str, &'a str),
}

/// A chart of `axes.n` categories (x from −0.5 to n − 0.5, a tick on each) against a share in
/// per cent: the frame of the data-quality figure and Figure 3.
fn category_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    axes: &CategoryAxes<'_>,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, FigureError>
where
    DB::ErrorType: 'static,
{
    let n = axes.n;
    let mut chart = ChartBuilder::on(root)
        .caption(axes.caption.0, ("sans-serif", axes.caption.1))
        .margin(15)
        .x_label_area_size(55)
        .y_label_area_size(axes.y_area)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..axes.y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(n.max(1))
        .x_label_formatter(axes.label)
        .y_label_formatter(&percent_tick)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(axes.desc.0)
        .y_desc(axes.desc.1)
        .draw()?;
    Ok(chart)
}

/// What the dwell figure shows, gathered from the analysis.
struct DwellData {
    /// (condition, expression) cells in order, and per cell each participant's mean dwell.
    cells: Vec<(String, String)>,
    means: BTreeMap<(String, String), BTreeMap<String, f64>>,
    /// Per comparison row: label, estimate, CI.
    effects: Vec<(String, f64, f64, f64)>,
    model: String,
}

fn gather(a: &StudyAnalysis) -> DwellData {
    let mut by: BTreeMap<(String, String), BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for r in &a.dwell {
        by.entry((r.condition.clone(), r.expression.clone()))
            .or_default()
            .entry(r.participant.clone())
            .or_default()
            .push(r.dwell_ms);
    }
    let means: BTreeMap<(String, String), BTreeMap<String, f64>> = by
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(p, d)| (p, mean(&d))).collect()))
        .collect();
    // no smile before smile within each condition.
    let mut cells: Vec<(String, String)> = means.keys().cloned().collect();
    cells.sort_by(|a, b| (a.0.as_str(), a.1 != "no_smile").cmp(&(b.0.as_str(), b.1 != "no_smile")));
    let effects = a
        .comparisons
        .iter()
        .filter(|c| c.estimate.is_finite())
        .map(|c| (c.condition.clone(), c.estimate, c.ci_low, c.ci_high))
        .collect();
    DwellData {
        cells,
        means,
        effects,
        model: a.config.model.as_str().to_string(),
    }
}

fn draw_dwell<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &DwellData,
    aoi: &str,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(820);
    let n = d.cells.len();
    let ymax = d
        .means
        .values()
        .flat_map(|m| m.values())
        .fold(0.0f64, |a, b| a.max(*b))
        .max(1.0)
        * 1.1;
    let label = |x: &f64| -> String {
        category(*x, n).map_or(String::new(), |i| {
            let (c, ex) = &d.cells[i];
            format!("{c} {}", ex.replace('_', " "))
        })
    };
    let mut chart = ChartBuilder::on(&left)
        .caption(
            format!("Dwell on the {aoi} AOI per participant"),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&label)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_desc("condition, expression")
        .y_desc("mean dwell per participant (ms)")
        .draw()?;
    let participants: Vec<String> = {
        let mut v: Vec<String> = d.means.values().flat_map(|m| m.keys().cloned()).collect();
        v.sort();
        v.dedup();
        v
    };
    let jitter = |p: &str| {
        let i = participants.iter().position(|q| q == p).unwrap_or(0) as f64;
        (i + 0.5) / participants.len().max(1) as f64 * 0.5 - 0.25
    };
    // Each participant's no smile → smile pair within a condition, joined.
    for (i, cell) in d.cells.iter().enumerate() {
        if cell.1 != "no_smile" {
            continue;
        }
        let Some(j) = d.cells.iter().position(|c| c.0 == cell.0 && c.1 == "smile") else {
            continue;
        };
        for (p, a) in &d.means[cell] {
            if let Some(b) = d.means[&d.cells[j]].get(p) {
                let x = jitter(p);
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(i as f64 + x, *a), (j as f64 + x, *b)],
                    BLUE.mix(0.25),
                )))?;
            }
        }
    }
    let points: Vec<(f64, f64)> = d
        .cells
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            d.means[c]
                .iter()
                .map(move |(p, v)| (i as f64 + jitter(p), *v))
        })
        .collect();
    chart
        .draw_series(
            points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 4, BLUE.mix(0.7).filled())),
        )?
        .label("one participant's mean (lines join their two versions)")
        .legend(|(x, y)| Circle::new((x, y), 4, BLUE.mix(0.7).filled()));
    chart
        .draw_series(d.cells.iter().enumerate().map(|(i, c)| {
            let m = mean(&d.means[c].values().copied().collect::<Vec<_>>());
            PathElement::new(
                vec![(i as f64 - 0.35, m), (i as f64 + 0.35, m)],
                BLACK.stroke_width(3),
            )
        }))?
        .label("mean over participants")
        .legend(|(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], BLACK.stroke_width(3)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;

    // Right: the model's smile − no smile with its 95 % CI, per condition and overall.
    let m = d.effects.len();
    let (lo, hi) = d.effects.iter().fold((0.0f64, 0.0f64), |(l, h), r| {
        (l.min(r.2.min(r.1)), h.max(r.3.max(r.1)))
    });
    let pad = (hi - lo).max(1.0) * 0.1;
    let name = |y: &f64| -> String {
        category(*y, m).map_or(String::new(), |i| d.effects[m - 1 - i].0.clone())
    };
    let mut fx = ChartBuilder::on(&right)
        .caption(
            format!("Smile − no smile ({}, 95 % CI)", d.model),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(55)
        .y_label_area_size(60)
        .build_cartesian_2d((lo - pad)..(hi + pad), -0.5f64..(m as f64 - 0.5))?;
    fx.configure_mesh()
        .disable_y_mesh()
        .y_labels(m.max(1))
        .y_label_formatter(&name)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE)
        .x_desc("difference in dwell (ms)")
        .y_desc("condition")
        .draw()?;
    fx.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, -0.5), (0.0, m as f64 - 0.5)],
        BLACK.mix(0.5),
    )))?;
    for (i, (_, est, l, h)) in d.effects.iter().rev().enumerate() {
        let y = i as f64;
        if l.is_finite() && h.is_finite() {
            fx.draw_series(std::iter::once(PathElement::new(
                vec![(*l, y), (*h, y)],
                RED.stroke_width(2),
            )))?;
        }
        fx.draw_series(std::iter::once(Circle::new((*est, y), 5, RED.filled())))?;
    }
    root.present().map_err(FigureError::from)
}

/// Writes `dwell_figure.png` and `.svg` into `dir`: each participant's mean dwell per condition
/// and expression beside the model's estimate of the smile effect with its CI.
pub fn write_dwell_figure(a: &StudyAnalysis, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    font()?;
    let d = gather(a);
    if !a.smile_design || d.cells.is_empty() {
        return Ok(Vec::new());
    }
    png_and_svg(
        &dir.join("dwell_figure"),
        (1400, 620),
        |r| draw_dwell(r, &d, &a.aoi),
        |r| draw_dwell(r, &d, &a.aoi),
    )
}

/// The share axis of the data-quality figure: from a round 5 % step below the lowest bar (so
/// 96 % and 97 % look different) up to 100 %; from 0 when a bar is below 50 %.
fn quality_axis_floor(values: impl Iterator<Item = f64>) -> f64 {
    let lowest = values.filter(|v| v.is_finite()).fold(1.0f64, f64::min);
    if lowest < 0.5 {
        0.0
    } else {
        ((lowest - 0.02) * 20.0).floor() / 20.0
    }
}

fn draw_quality<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    a: &StudyAnalysis,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let q = &a.participant_quality;
    let n = q.len();
    let series = [
        ("left eye", BLUE.mix(0.8), -0.25, 0usize),
        ("right eye", GREEN.mix(0.8), 0.0, 1),
        ("either eye", BLACK.mix(0.8), 0.25, 2),
    ];
    let value = |p: &crate::quality::ParticipantQuality, which: usize| {
        [p.valid_share_left, p.valid_share_right, p.valid_share_any][which]
    };
    let floor = quality_axis_floor(q.iter().flat_map(|p| (0..3).map(move |w| value(p, w))));
    // The legend in a band of its own above the chart: it covers no bar and needs no room
    // above 100 % on the axis.
    let (band, body) = root.split_vertically(70);
    let mut x = 80i32;
    for (name, colour, _, _) in &series {
        band.draw(&Rectangle::new([(x, 42), (x + 14, 56)], colour.filled()))?;
        band.draw(&Text::new(*name, (x + 20, 41), ("sans-serif", 15)))?;
        x += 40 + 9 * name.len() as i32;
    }
    band.draw(&Cross::new((x + 7, 49), 6, RED.stroke_width(3)))?;
    band.draw(&Text::new(
        "excluded by a rule (exclusions.csv)",
        (x + 20, 41),
        ("sans-serif", 15),
    ))?;
    band.draw(&Text::new(
        "Data quality per participant",
        (band.dim_in_pixel().0 as i32 / 2, 16),
        centred(22, &BLACK),
    ))?;
    let label =
        |x: &f64| -> String { category(*x, n).map_or(String::new(), |i| q[i].participant.clone()) };
    let mut chart = ChartBuilder::on(&body)
        .margin(15)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), floor..1.0)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(n.max(1))
        .x_label_formatter(&label)
        .y_label_formatter(&|v: &f64| format!("{:.0} %", v * 100.0))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_desc("participant")
        .y_desc(if floor > 0.0 {
            "samples with valid gaze (axis from its floor)"
        } else {
            "samples with valid gaze"
        })
        .draw()?;
    for (_, colour, dx, which) in series {
        chart.draw_series(q.iter().enumerate().map(|(i, p)| {
            let v = value(p, which);
            let x = i as f64 + dx;
            Rectangle::new(
                [(x - 0.11, floor), (x + 0.11, v.max(floor))],
                colour.filled(),
            )
        }))?;
    }
    // Participants the rules excluded: marked on their bars' axis line.
    let out: Vec<usize> = q
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            a.exclusions
                .iter()
                .any(|x| x.trial < 0 && x.participant == p.participant)
        })
        .map(|(i, _)| i)
        .collect();
    let mark = floor + (1.0 - floor) * 0.97;
    chart.draw_series(
        out.iter()
            .map(|&i| Cross::new((i as f64, mark), 7, RED.stroke_width(3))),
    )?;
    root.present().map_err(FigureError::from)
}

/// Writes `quality_figure.png` and `.svg`: each participant's share of valid samples per eye
/// and for either eye, the participants the exclusion rules left out marked.
pub fn write_quality_figure(a: &StudyAnalysis, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    font()?;
    if a.participant_quality.is_empty() {
        return Ok(Vec::new());
    }
    let width = (240 + 70 * a.participant_quality.len() as u32).clamp(900, 2400);
    png_and_svg(
        &dir.join("quality_figure"),
        (width, 540),
        |r| draw_quality(r, a),
        |r| draw_quality(r, a),
    )
}

/// The AOI figure's categories (stimulus × AOI, as in `aoi_stimuli.csv`) and, for each, every
/// participant's dwell share (mean over their trials of the stimulus).
fn aoi_shares(a: &StudyAnalysis) -> Vec<(String, Vec<f64>)> {
    crate::metrics::by_stimulus_aoi(&a.metrics)
        .into_iter()
        .map(|((stimulus, aoi), people)| {
            let share = |trials: &Vec<&crate::metrics::AoiMetrics>| {
                mean(
                    &trials
                        .iter()
                        .map(|m| m.dwell_proportion)
                        .collect::<Vec<_>>(),
                )
            };
            (
                format!("{stimulus}: {aoi}"),
                people.values().map(share).collect(),
            )
        })
        .collect()
}

fn draw_aoi<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cells: &[(String, Vec<f64>)],
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let n = cells.len();
    let label =
        |x: &f64| -> String { category(*x, n).map_or(String::new(), |i| cells[i].0.clone()) };
    let mut chart = category_chart(
        root,
        &CategoryAxes {
            caption: ("Dwell per stimulus and AOI", 22),
            n,
            label: &label,
            y_max: 1.3,
            y_area: 75,
            desc: ("stimulus: AOI", "share of the stimulus's time"),
        },
    )?;
    chart
        .draw_series(cells.iter().enumerate().map(|(i, (_, v))| {
            let m = mean(v);
            let x = i as f64;
            Rectangle::new(
                [(x - 0.3, 0.0), (x + 0.3, m.max(0.0))],
                BLUE.mix(0.3).filled(),
            )
        }))?
        .label("mean over participants")
        .legend(|(x, y)| Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], BLUE.mix(0.3).filled()));
    // Each participant a dot, spread across the bar so equal values stay visible.
    chart
        .draw_series(cells.iter().enumerate().flat_map(|(i, (_, v))| {
            let k = v.len().max(1) as f64;
            v.iter().enumerate().map(move |(j, &share)| {
                let x = i as f64 - 0.2 + 0.4 * (j as f64 + 0.5) / k;
                Circle::new((x, share), 3, BLACK.filled())
            })
        }))?
        .label("a participant")
        .legend(|(x, y)| Circle::new((x, y), 3, BLACK.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present().map_err(FigureError::from)
}

/// Writes `aoi_figure.png` and `.svg` for an analysis without the smile design: per stimulus
/// and AOI, each participant's dwell share and their mean. Nothing when there are no AOI
/// metrics (no AOIs) or the smile figure applies.
pub fn write_aoi_figure(a: &StudyAnalysis, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    font()?;
    let cells = aoi_shares(a);
    if a.smile_design || cells.is_empty() {
        return Ok(Vec::new());
    }
    let width = (240 + 110 * cells.len() as u32).clamp(700, 4000);
    png_and_svg(
        &dir.join("aoi_figure"),
        (width, 500),
        |r| draw_aoi(r, &cells),
        |r| draw_aoi(r, &cells),
    )
}

/// One validation panel: the targets of `rows` (one attempt) as crosses, each eye's mean gaze
/// as a dot joined to its target, on the screen's pixels (y down, as on the screen).
/// The band below the screen that holds a validation panel's legend, as a share of the
/// screen's height.
const LEGEND_BAND: f64 = 0.45;

fn draw_validation_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    v: &ParticipantValidation,
    attempt: i32,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    let rows: Vec<&et_recording::ValidationRecord> =
        v.rows.iter().filter(|r| r.attempt == attempt).collect();
    let accuracy = |eye: &str| {
        let acc: Vec<f64> = rows
            .iter()
            .filter(|r| r.eye == eye && r.accuracy_deg.is_finite())
            .map(|r| f64::from(r.accuracy_deg))
            .collect();
        if acc.is_empty() {
            "n/a".to_string()
        } else {
            format!("{:.2}°", mean(&acc))
        }
    };
    let (w, h) = (f64::from(v.screen_px.0), f64::from(v.screen_px.1));
    // A band below the screen holds the legend, so it covers no target however narrow the
    // panel (it used to sit in the screen's lower left and reach the bottom target).
    let below = h * LEGEND_BAND;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{}, attempt {attempt}: left {}, right {}",
                v.participant,
                accuracy("left"),
                accuracy("right")
            ),
            ("sans-serif", 24),
        )
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..w, (h + below)..0f64)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&|v| format!("{v:.0}"))
        // No screen coordinates in the legend's band.
        .y_label_formatter(&|v| {
            if *v <= h {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 17))
        .axis_desc_style(("sans-serif", 18))
        .x_desc("screen x (px)")
        .y_desc("screen y (px)")
        .draw()?;
    let targets: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (f64::from(r.target_x), f64::from(r.target_y)))
        .collect();
    for (eye, colour) in [("left", BLUE), ("right", GREEN)] {
        // Every sample the figures came from, faint, under the mean.
        chart.draw_series(
            v.samples
                .iter()
                .filter(|p| p.attempt == attempt && p.left == (eye == "left"))
                .map(|p| {
                    Circle::new(
                        (f64::from(p.x), f64::from(p.y)),
                        1,
                        colour.mix(0.3).filled(),
                    )
                }),
        )?;
        let means: Vec<((f64, f64), (f64, f64))> = rows
            .iter()
            .filter(|r| r.eye == eye && r.mean_gaze_x.is_finite() && r.mean_gaze_y.is_finite())
            .map(|r| {
                (
                    (f64::from(r.target_x), f64::from(r.target_y)),
                    (f64::from(r.mean_gaze_x), f64::from(r.mean_gaze_y)),
                )
            })
            .collect();
        chart.draw_series(
            means
                .iter()
                .map(|(t, m)| PathElement::new(vec![*t, *m], colour.mix(0.6).stroke_width(2))),
        )?;
        chart
            .draw_series(
                means
                    .iter()
                    .map(|(_, m)| Circle::new(*m, 7, colour.mix(0.85).filled())),
            )?
            .label(format!("{eye} eye: mean gaze (dots: its samples)"))
            .legend(move |(x, y)| Circle::new((x, y), 7, colour.mix(0.85).filled()));
    }
    chart
        .draw_series(
            targets
                .iter()
                .map(|t| Cross::new(*t, 10, BLACK.stroke_width(3))),
        )?
        .label("target")
        .legend(|(x, y)| Cross::new((x, y), 8, BLACK.stroke_width(3)));
    // The screen's bottom edge, above the legend's band.
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, h), (w, h)],
        BLACK.mix(0.5).stroke_width(1),
    )))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 17))
        .draw()?;
    Ok(())
}

fn draw_validation<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[(&ParticipantValidation, i32)],
    cols: usize,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 30))?;
    let rows = panels.len().div_ceil(cols);
    let areas = root.split_evenly((rows, cols));
    for ((v, attempt), area) in panels.iter().zip(&areas) {
        draw_validation_panel(area, v, *attempt)?;
    }
    root.present().map_err(FigureError::from)
}

/// Writes `validation_figure.png` and `.svg`: per participant, the last validation attempt
/// (the one the session went on with): each target and where each eye looked on average, with
/// the mean accuracy per eye in the panel's title. Nothing when no recording was validated.
pub fn write_validation_figure(a: &StudyAnalysis, dir: &Path) -> Result<Vec<PathBuf>, FigureError> {
    font()?;
    let panels: Vec<(&ParticipantValidation, i32)> = a
        .validation
        .iter()
        .filter_map(|v| v.rows.iter().map(|r| r.attempt).max().map(|last| (v, last)))
        .collect();
    if panels.is_empty() {
        return Ok(Vec::new());
    }
    // Three panels across at most: legible at a page's width (about 2000 px at 300 dpi).
    let cols = panels.len().min(3);
    let rows = panels.len().div_ceil(cols) as u32;
    let size = (680 * cols as u32, 70 + 500 * rows);
    let title = "Validation: targets, each eye's samples and mean gaze (last attempt)";
    png_and_svg(
        &dir.join("validation_figure"),
        size,
        |r| draw_validation(r, title, &panels, cols),
        |r| draw_validation(r, title, &panels, cols),
    )
}

/// One session's validation as a PNG at `path` (beside its recording): a panel per attempt,
/// each target with each eye's samples and mean gaze. Created exclusively (an existing file
/// is never replaced). `Ok(false)` when the session was not validated.
pub fn write_session_validation(
    rec: &et_recording::Recording,
    path: &Path,
) -> Result<bool, FigureError> {
    let Some(v) = ParticipantValidation::of(rec) else {
        return Ok(false);
    };
    font()?;
    let mut attempts: Vec<i32> = v.rows.iter().map(|r| r.attempt).collect();
    attempts.dedup();
    let panels: Vec<(&ParticipantValidation, i32)> = attempts.iter().map(|a| (&v, *a)).collect();
    let cols = panels.len().min(3);
    let rows = panels.len().div_ceil(cols) as u32;
    let (w, h) = ((680 * cols as u32).max(1000), 70 + 500 * rows);
    let mut buf = vec![255u8; 3 * w as usize * h as usize];
    let title = format!(
        "Validation of {} (every attempt): targets, each eye's samples and mean gaze",
        v.participant
    );
    draw_validation(
        &BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area(),
        &title,
        &panels,
        cols,
    )?;
    let img = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| FigureError::Draw("figure buffer size".into()).in_file(path))?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| FigureError::Draw(e.to_string()).in_file(path))?;
    use std::io::Write as _;
    std::fs::File::create_new(path)
        .and_then(|mut f| f.write_all(&png))
        .map_err(|e| FigureError::Write {
            path: path.into(),
            message: e.to_string(),
        })?;
    Ok(true)
}

/// Figure 2 as the paper lays it out: per identity (rows, labelled with identity and
/// condition) the reconstructed image's heatmap beside the manipulated one's (titled columns),
/// and a colour bar for the density scale. Each overlay is scaled to its own image's maximum,
/// so the bar reads 0 to 1 of that maximum; a 1° scale bar (`one_degree`: a degree of visual
/// angle as a share of the image's width) below it. Laid out for an A4 page at 300 dpi
/// (`Figure2Layout::for_a4`). Writes `figure2.png` and `figure2.svg` (the SVG keeps the
/// overlays as embedded images and the labels as text).
pub fn write_figure2(
    pairs: &[(String, image::RgbImage, image::RgbImage)],
    one_degree: f64,
    dir: &Path,
) -> Result<Vec<PathBuf>, FigureError> {
    font()?;
    let n = u32::try_from(pairs.len())
        .map_err(|_| FigureError::Draw("too many identities for one figure".into()))?;
    let layout = Figure2Layout::for_a4(n);
    let size = layout.size();
    let cell = layout.cell;
    // Each overlay at its cell's size, once for both files.
    let cells: Vec<[image::RgbImage; 2]> = pairs
        .iter()
        .map(|(_, a, b)| {
            [a, b].map(|img| {
                image::imageops::resize(img, cell, cell, image::imageops::FilterType::Triangle)
            })
        })
        .collect();
    let labels: Vec<&str> = pairs.iter().map(|(l, _, _)| l.as_str()).collect();
    let bar = Figure2ScaleBar::new(one_degree * f64::from(cell));
    png_and_svg(
        &dir.join("figure2"),
        size,
        |r| draw_figure2(r, &layout, &labels, &cells, &bar),
        |r| draw_figure2(r, &layout, &labels, &cells, &bar),
    )
}

/// Figure 2's scale bar: whole degrees of visual angle on the images as drawn in their cells,
/// the fewest of 1, 2, 5 or 10 that make a bar at least 40 px long (one degree on a small
/// cell is a few px: a bar nobody sees).
struct Figure2ScaleBar {
    px: u32,
    degrees: u32,
}

impl Figure2ScaleBar {
    fn new(px_per_degree: f64) -> Figure2ScaleBar {
        let degrees = [1u32, 2, 5, 10]
            .into_iter()
            .find(|d| f64::from(*d) * px_per_degree >= 40.0)
            .unwrap_or(10);
        Figure2ScaleBar {
            px: (f64::from(degrees) * px_per_degree).round().max(1.0) as u32,
            degrees,
        }
    }
}

/// An A4 page at 300 dpi (px): the largest figure a journal prints at full resolution.
const A4_300_DPI: (u32, u32) = (2480, 3508);

/// Where Figure 2's parts go (px): identities in `blocks` columns of pairs (label, then the
/// reconstructed and the manipulated image), the colour bar and scale bar on the right. Sized
/// for an A4 page at 300 dpi, the cells as large as the page allows.
struct Figure2Layout {
    cell: u32,
    /// Identities per column block, and the number of blocks.
    rows: u32,
    blocks: u32,
    /// Text sizes scale with the page: about 8–10 pt at 300 dpi.
    font: u32,
}

impl Figure2Layout {
    const LABEL: u32 = 220;
    const TOP: u32 = 90;
    const RIGHT: u32 = 270;
    const GAP: u32 = 10;
    const BOTTOM: u32 = 20;

    /// The layout of `n` identities that fits A4 at 300 dpi with the largest cells: one to four
    /// blocks, whichever gives the largest images (the demo's 32 identities: three blocks).
    fn for_a4(n: u32) -> Figure2Layout {
        let (w, h) = A4_300_DPI;
        let n = n.max(1);
        let fit = |blocks: u32| {
            let rows = n.div_ceil(blocks);
            let by_width = w.saturating_sub(Self::RIGHT + blocks * (Self::LABEL + 3 * Self::GAP))
                / (2 * blocks);
            let by_height = h.saturating_sub(Self::TOP + Self::BOTTOM) / rows;
            let cell = by_width
                .min(by_height.saturating_sub(Self::GAP))
                .clamp(16, 1024);
            Figure2Layout {
                cell,
                rows,
                blocks,
                // Titles fit over their cell: ~0.55 em per character of "reconstructed".
                font: (cell / 8).clamp(14, 36),
            }
        };
        (1..=4)
            .map(fit)
            .reduce(|best, l| if l.cell > best.cell { l } else { best })
            .unwrap_or_else(|| fit(1))
    }

    fn block_width(&self) -> u32 {
        Self::LABEL + 2 * self.cell + 3 * Self::GAP
    }
    fn size(&self) -> (u32, u32) {
        (
            self.blocks * self.block_width() + Self::RIGHT,
            Self::TOP + self.rows * (self.cell + Self::GAP) + Self::BOTTOM,
        )
    }
    /// Left edge of identity `i`'s image `k` (0 reconstructed, 1 manipulated).
    fn col_x(&self, i: u32, k: u32) -> u32 {
        (i / self.rows) * self.block_width() + Self::LABEL + Self::GAP + k * (self.cell + Self::GAP)
    }
    fn row_y(&self, i: u32) -> u32 {
        Self::TOP + Self::GAP + (i % self.rows) * (self.cell + Self::GAP)
    }
    fn right_x(&self) -> u32 {
        self.blocks * self.block_width() + 30
    }
    fn bar_height(&self) -> u32 {
        (self.rows * (self.cell + Self::GAP) / 2).clamp(200, 1200)
    }
}

fn draw_figure2<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    l: &Figure2Layout,
    labels: &[&str],
    cells: &[[image::RgbImage; 2]],
    scale: &Figure2ScaleBar,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let px = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    for (i, pair) in cells.iter().enumerate() {
        let i = i as u32;
        for (k, img) in pair.iter().enumerate() {
            let at = (px(l.col_x(i, k as u32)), px(l.row_y(i)));
            if let Some(el) =
                BitMapElement::with_owned_buffer(at, (l.cell, l.cell), img.as_raw().clone())
            {
                root.draw(&el)?;
            }
        }
    }
    // The colour bar: the overlay's colour scale from 0 (bottom) to 1 (top), in 256 steps.
    let (bar_x, bar_top, bar_h) = (
        l.right_x(),
        Figure2Layout::TOP + Figure2Layout::GAP,
        l.bar_height(),
    );
    let steps = 256u32;
    for k in 0..steps {
        let t = 1.0 - (f64::from(k) + 0.5) / f64::from(steps);
        let [r, g, b] = crate::heatmap::colour(t);
        let y0 = bar_top + k * bar_h / steps;
        let y1 = bar_top + (k + 1) * bar_h / steps;
        root.draw(&Rectangle::new(
            [(px(bar_x), px(y0)), (px(bar_x + 50), px(y1))],
            RGBColor(r, g, b).filled(),
        ))?;
    }
    let blocks = l.blocks.min(u32::try_from(cells.len()).unwrap_or(1)).max(1);
    for b in 0..blocks {
        for (k, title) in ["reconstructed", "manipulated"].into_iter().enumerate() {
            let x = px(l.col_x(b * l.rows, k as u32) + l.cell / 2);
            root.draw(&Text::new(
                title,
                (x, px(Figure2Layout::TOP / 2)),
                centred(l.font + 4, &BLACK),
            ))?;
        }
    }
    for (i, label) in labels.iter().enumerate() {
        let i = i as u32;
        let y = px(l.row_y(i) + l.cell / 2);
        let x = (i / l.rows) * l.block_width() + Figure2Layout::LABEL / 2;
        root.draw(&Text::new(*label, (px(x), y), centred(l.font, &BLACK)))?;
    }
    let tx = px(bar_x + 60);
    let small = ("sans-serif", l.font).into_font().color(&BLACK);
    let bottom = px(bar_top + bar_h);
    for (text, at) in [
        ("1 (max)", (tx, px(bar_top))),
        ("0", (tx, bottom - px(l.font))),
        ("fixation-time", (px(bar_x), bottom + 16)),
        ("density", (px(bar_x), bottom + 16 + px(l.font))),
    ] {
        root.draw(&Text::new(text, at, small.clone()))?;
    }
    // The scale bar: one degree of visual angle on the images as drawn, thick and labelled.
    let sy = bottom + 16 + 4 * px(l.font);
    root.draw(&Rectangle::new(
        [(px(bar_x), sy), (px(bar_x + scale.px), sy + 14)],
        BLACK.filled(),
    ))?;
    root.draw(&Text::new(
        format!("{}° of visual angle", scale.degrees),
        (px(bar_x), sy + 24),
        small.clone(),
    ))?;
    root.present().map_err(FigureError::from)
}

fn draw_figure3<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    bins: &BTreeMap<u32, (usize, usize)>,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let levels: Vec<(u32, usize, usize)> = bins.iter().map(|(l, (n, k))| (*l, *n, *k)).collect();
    let n = levels.len();
    let name = |x: &f64| -> String {
        category(*x, n).map_or(String::new(), |i| {
            let (l, count, _) = levels[i];
            format!("{l} (n = {count})")
        })
    };
    let mut chart = category_chart(
        root,
        &CategoryAxes {
            caption: ("Figure 3: top-1 accuracy by smile intensity", 20),
            n,
            label: &name,
            y_max: 1.1,
            y_area: 70,
            desc: (
                "smile intensity, round(AU6 + AU12) from OpenFace (images)",
                "top-1 accuracy",
            ),
        },
    )?;
    for (i, (_, count, correct)) in levels.iter().enumerate() {
        let acc = *correct as f64 / (*count).max(1) as f64;
        let x = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.3, 0.0), (x + 0.3, acc)],
            RGBColor(70, 110, 170).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{:.0} %", acc * 100.0),
            (x, acc + 0.05),
            centred(14, &BLACK),
        )))?;
    }
    root.present().map_err(FigureError::from)
}

/// Writes `figure3.png` and `.svg` (the classifier's top-1 accuracy per smile-intensity level,
/// each bar with its accuracy and image count) into `dir`.
pub fn write_figure3(
    bins: &BTreeMap<u32, (usize, usize)>,
    dir: &Path,
) -> Result<Vec<PathBuf>, FigureError> {
    font()?;
    png_and_svg(
        &dir.join("figure3"),
        (640, 400),
        |r| draw_figure3(r, bins),
        |r| draw_figure3(r, bins),
    )
}

fn draw_scanpath<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    fixations: &[crate::heatmap::ImageFixation],
    (w, h): (f64, f64),
    stimulus: Option<&image::RgbImage>,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    // Image px with y downwards, as the image is seen.
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..w, h..0f64)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .x_desc("image x (px)")
        .y_desc("image y (px)")
        .draw()?;
    // The stimulus under the fixations, filling the plotting area (image px, top-left at 0, 0).
    if let Some(img) = stimulus {
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let (pw, ph) = (
            u32::try_from(xs.end - xs.start).unwrap_or(1).max(1),
            u32::try_from(ys.end - ys.start).unwrap_or(1).max(1),
        );
        let scaled = image::imageops::resize(img, pw, ph, image::imageops::FilterType::Triangle);
        if let Some(el) = BitMapElement::with_owned_buffer((0.0, 0.0), (pw, ph), scaled.into_raw())
        {
            chart.draw_series(std::iter::once(el))?;
        }
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            fixations.iter().map(|f| (f.x, f.y)).collect::<Vec<_>>(),
            BLUE.mix(0.5).stroke_width(2),
        )))?
        .label("saccade (order of fixations)")
        .legend(|(x, y)| {
            PathElement::new(vec![(x - 8, y), (x + 8, y)], BLUE.mix(0.5).stroke_width(2))
        });
    // Radius ∝ √duration, so area is proportional to time; 500 ms ↦ 14 px.
    let radius = |ms: f64| (14.0 * (ms.max(0.0) / 500.0).sqrt()).clamp(3.0, 40.0) as i32;
    chart
        .draw_series(
            fixations
                .iter()
                .map(|f| Circle::new((f.x, f.y), radius(f.duration_ms), RED.mix(0.35).filled())),
        )?
        .label("fixation (area ∝ duration; 500 ms shown)")
        .legend(|(x, y)| Circle::new((x, y), 14, RED.mix(0.35).filled()));
    chart.draw_series(
        fixations
            .iter()
            .enumerate()
            .map(|(i, f)| Text::new(format!("{}", i + 1), (f.x, f.y), centred(13, &BLACK))),
    )?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present().map_err(FigureError::from)
}

/// Writes `scanpaths/<participant>_<stimulus>.png` and `.svg`: the participant's fixations on
/// the stimulus in image px, numbered in order, area proportional to duration, joined by their
/// saccades, over the stimulus image itself when `images` (the stimulus set) is given. The error names what exists when the participant or stimulus does not.
pub fn write_scanpath(
    a: &StudyAnalysis,
    images: Option<&et_stimuli::StimulusSet>,
    participant: &str,
    stimulus: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, FigureError> {
    let Some(per) = a.stimulus_fixations.get(stimulus) else {
        return Err(FigureError::NoStimulus {
            stimulus: stimulus.into(),
            present: a.stimulus_fixations.keys().cloned().collect(),
        });
    };
    let Some(fix) = per.get(participant) else {
        return Err(FigureError::NoFixations {
            participant: participant.into(),
            stimulus: stimulus.into(),
            present: per.keys().cloned().collect(),
        });
    };
    font()?;
    let (w, h) = a.set.as_ref().map_or((1024.0, 1024.0), |s| {
        (f64::from(s.image_width), f64::from(s.image_height))
    });
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let sub = dir.join("scanpaths");
    std::fs::create_dir_all(&sub).map_err(|e| FigureError::Write {
        path: sub.clone(),
        message: e.to_string(),
    })?;
    let base = sub.join(format!("{}_{}", safe(participant), safe(stimulus)));
    let title = format!(
        "Scanpath of {participant} on {stimulus} ({} fixations)",
        fix.len()
    );
    let side = 640u32;
    let size = (
        side,
        (f64::from(side) * h / w).round().clamp(200.0, 2000.0) as u32 + 60,
    );
    // The image from the stimulus set given to the analysis (the recordings hold the
    // manifest but not where its images are).
    let stimulus = match images.and_then(|set| set.stimulus(stimulus).map(|s| set.image_path(s))) {
        Some(p) => Some(
            image::open(&p)
                .map_err(|e| FigureError::Image {
                    path: p.clone(),
                    message: e.to_string(),
                })?
                .to_rgb8(),
        ),
        None => None,
    };
    let image = stimulus.as_ref();
    png_and_svg(
        &base,
        size,
        |r| draw_scanpath(r, &title, fix, (w, h), image),
        |r| draw_scanpath(r, &title, fix, (w, h), image),
    )
}

// The heatmaps and Figure 2 of a study (called by `analyze`), here so that the study never
// depends on its figures.
impl StudyAnalysis {
    /// Writes, per stimulus, the group density (`heatmaps/<id>.npy`, 256 cells wide) and, when
    /// `images` (the stimulus set with its image folder) is given, the overlay PNG
    /// (`heatmaps/<id>.png`, with a 1° scale bar) and `figure2.png`: every reconstructed image
    /// beside its manipulated version, by condition. Returns the files written.
    pub fn write_heatmaps(
        &self,
        dir: &Path,
        images: Option<&et_stimuli::StimulusSet>,
    ) -> Result<Vec<std::path::PathBuf>, AnalysisError> {
        use crate::heatmap::{group_density, overlay, pairs_figure, save_png};
        let Some(set) = images.or(self.set.as_ref()) else {
            return Ok(Vec::new());
        };
        let hm = dir.join("heatmaps");
        std::fs::create_dir_all(&hm).map_err(|source| AnalysisError::Write {
            path: hm.display().to_string(),
            source,
        })?;
        let scale = 256.0 / f64::from(set.image_width);
        let (w, h) = (
            256usize,
            ((f64::from(set.image_height) * scale).round() as usize).max(1),
        );
        let sigma_px = self.config.heatmap_sigma_deg
            * if self.image_px_per_deg.is_finite() {
                self.image_px_per_deg
            } else {
                40.0
            };
        let empty = BTreeMap::new();
        let mut written = Vec::new();
        let mut overlays: BTreeMap<String, image::RgbImage> = BTreeMap::new();
        for st in &set.stimuli {
            let d = group_density(
                self.stimulus_fixations.get(&st.id).unwrap_or(&empty),
                w,
                h,
                scale,
                sigma_px,
            );
            let npy = hm.join(format!("{}.npy", st.id));
            d.write_npy(&npy)?;
            written.push(npy);
            if images.is_some() {
                let p = set.image_path(st);
                let img = image::open(&p)
                    .map_err(|e| AnalysisError::Input {
                        path: p.display().to_string(),
                        message: format!("cannot read the stimulus image: {e}"),
                    })?
                    .to_rgb8();
                let bar =
                    self.image_px_per_deg * f64::from(img.width()) / f64::from(set.image_width);
                let o = overlay(&img, &d, if bar.is_finite() { bar } else { 40.0 });
                written.push(save_png(&o, &hm.join(format!("{}.png", st.id)))?);
                overlays.insert(st.id.clone(), o);
            }
        }
        if images.is_some() {
            let mut pairs = Vec::new();
            let mut by_identity: Vec<(&str, &str)> =
                set.by_identity().keys().map(|k| (*k, *k)).collect();
            by_identity.sort_by_key(|(i, _)| {
                set.stimuli
                    .iter()
                    .find(|s| s.identity == *i)
                    .map(|s| (s.condition.clone(), s.identity.clone()))
            });
            for (identity, _) in by_identity {
                let condition = set
                    .stimuli
                    .iter()
                    .find(|s| s.identity == identity)
                    .map_or("", |s| s.condition.as_str());
                let of = |v: et_stimuli::Variant| {
                    set.stimuli
                        .iter()
                        .find(|s| s.identity == identity && s.variant == v)
                        .and_then(|s| overlays.get(&s.id))
                };
                if let (Some(a), Some(b)) = (
                    of(et_stimuli::Variant::Reconstructed),
                    of(et_stimuli::Variant::Manipulated),
                ) {
                    pairs.push((format!("{identity} ({condition})"), a.clone(), b.clone()));
                }
            }
            if !pairs.is_empty() {
                // Labelled (titles, identities, colour bar) in PNG and SVG when a font is
                // found; else the bare grid as PNG, which the report's caption then describes.
                let one_degree = if self.image_px_per_deg.is_finite() {
                    self.image_px_per_deg / f64::from(set.image_width)
                } else {
                    40.0 / 1024.0
                };
                match crate::figures::write_figure2(&pairs, one_degree, dir) {
                    Ok(files) => written.extend(files),
                    Err(why) => {
                        tracing::warn!("Figure 2 without labels: {why}");
                        let bare: Vec<_> = pairs
                            .iter()
                            .map(|(_, a, b)| (a.clone(), b.clone()))
                            .collect();
                        let figure = pairs_figure(&bare, 192);
                        written.push(save_png(&figure, &dir.join("figure2.png"))?);
                    }
                }
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure2_fits_an_a4_page_at_300_dpi_with_large_cells() {
        for n in 1..=64 {
            let l = Figure2Layout::for_a4(n);
            let (w, h) = l.size();
            assert!(w <= A4_300_DPI.0 && h <= A4_300_DPI.1, "{n}: {w}x{h}");
            assert!(l.blocks * l.rows >= n);
        }
        // The demo's 32 identities: three blocks of cells wider than the old 192 px.
        let demo = Figure2Layout::for_a4(32);
        assert_eq!(demo.blocks, 3);
        assert!(demo.cell > 192, "{}", demo.cell);
    }

    #[test]
    fn the_scale_bar_is_long_enough_to_see() {
        let bar = Figure2ScaleBar::new(9.6);
        assert_eq!((bar.degrees, bar.px), (5, 48));
        assert_eq!(Figure2ScaleBar::new(50.0).degrees, 1);
    }

    #[test]
    fn the_quality_axis_starts_below_the_lowest_bar() {
        assert_eq!(quality_axis_floor([0.97, 0.959, f64::NAN].into_iter()), 0.9);
        assert_eq!(quality_axis_floor([0.99, 0.995].into_iter()), 0.95);
        assert_eq!(quality_axis_floor([0.99, 0.4].into_iter()), 0.0);
    }
}
