//! Figure 4: the survey's confusion matrices (true condition × answer), drawn with the
//! figures' shared text and file helpers.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::results::SurveyResults;
use crate::figures::{category, centred, font, png_and_svg, FigureError};

fn draw_confusion<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &SurveyResults,
) -> Result<(), FigureError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(
        "Figure 4: clinicians' diagnoses by true condition (% of each row)",
        ("sans-serif", 22),
    )?;
    let cols = r.choices.len();
    let panels = root.split_evenly((1, 2));
    for (panel, variant) in panels.iter().zip(["reconstructed", "manipulated"]) {
        let Some(m) = r.confusion.get(variant) else {
            continue;
        };
        let rows: Vec<(&String, &Vec<usize>)> = m.iter().collect();
        let n = rows.len();
        // Cells span [i, i + 1): their labels sit at the centres.
        let col_name = |x: &f64| -> String {
            category(x - 0.5, cols).map_or(String::new(), |i| r.choices[i].clone())
        };
        let row_name = |y: &f64| -> String {
            category(y - 0.5, n).map_or(String::new(), |i| rows[n - 1 - i].0.clone())
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{variant} images"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..cols as f64, 0f64..n as f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(cols * 2 + 1)
            .y_labels(n * 2 + 1)
            .x_label_formatter(&col_name)
            .y_label_formatter(&row_name)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .x_desc("answer")
            .y_desc("true condition")
            .draw()?;
        for (ri, (_, counts)) in rows.iter().enumerate() {
            let total: usize = counts.iter().sum();
            let y = (n - 1 - ri) as f64;
            for (c, count) in counts.iter().enumerate() {
                let share = if total > 0 {
                    *count as f64 / total as f64
                } else {
                    0.0
                };
                let [rr, gg, bb] = crate::heatmap::colour(share);
                let x = c as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x + 0.02, y + 0.02), (x + 0.98, y + 0.98)],
                    RGBColor(rr, gg, bb).filled(),
                )))?;
                let ink = if share > 0.6 { BLACK } else { WHITE };
                chart.draw_series(std::iter::once(Text::new(
                    format!("{:.0} %", share * 100.0),
                    (x + 0.5, y + 0.5),
                    centred(15, &ink),
                )))?;
            }
        }
    }
    root.present().map_err(FigureError::from)
}

/// Writes the survey's `figure4.png` and `.svg`: per image version, the confusion matrix of
/// true condition (rows) against the clinicians' answers (columns), each cell the share of its
/// row in per cent.
pub(crate) fn write_confusion_figure(
    r: &SurveyResults,
    dir: &Path,
) -> Result<Vec<PathBuf>, FigureError> {
    font()?;
    let cols = u32::try_from(r.choices.len()).unwrap_or(u32::MAX).min(40);
    let size = ((2 * (140 + 110 * cols)).max(800), 520);
    png_and_svg(
        &dir.join("figure4"),
        size,
        |root| draw_confusion(root, r),
        |root| draw_confusion(root, r),
    )
}
