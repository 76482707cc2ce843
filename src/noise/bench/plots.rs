//! The benchmark's plots, drawn once with plotters and written as PNG and SVG: Δ per noise
//! family (mean and max), the cumulative stacking of the worst options (the paper's Fig. 3),
//! and divergence vs Δ (the divergence → accuracy link).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::output::BenchReport;
use crate::error::EngineError;

const SIZE: (u32, u32) = (900, 420);

const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Δ per family: per task, a pale bar for the max and a solid one for the mean.
fn family_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &BenchReport) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let panels = root.split_evenly((report.tasks.len().max(1), 1));
    for (task, (panel, colour)) in report.tasks.iter().zip(panels.iter().zip(PALETTE.iter().cycle())) {
        let top = task.families.iter().map(|f| f.max_delta).fold(1e-9, f64::max) * 1.15;
        let n = task.families.len().max(1);
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{}: Δ per noise family ({})", task.task, task.metric),
                ("sans-serif", 16),
            )
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
        let names: Vec<&str> = task.families.iter().map(|f| f.family.name()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 1e-6 && i < names.len() {
                    names[i].to_string()
                } else {
                    String::new()
                }
            })
            .draw()?;
        chart.draw_series(task.families.iter().enumerate().map(|(i, f)| {
            Rectangle::new(
                [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, f.max_delta)],
                colour.mix(0.3).filled(),
            )
        }))?;
        chart.draw_series(
            task.families
                .iter()
                .enumerate()
                .map(|(i, f)| Rectangle::new([(i as f64 + 0.3, 0.0), (i as f64 + 0.7, f.mean_delta)], colour.filled())),
        )?;
    }
    root.present()
}

/// The cumulative stacking: Δ after adding each family's worst option.
fn stacking<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &BenchReport) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let steps = report.tasks.iter().map(|t| t.stacked.len()).max().unwrap_or(0).max(1);
    let top = report
        .tasks
        .iter()
        .flat_map(|t| t.stacked.iter().map(|s| s.delta))
        .fold(1e-9, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Stacked noise: worst option of each family added in turn",
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..steps as f64 + 0.2, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("families stacked")
        .y_desc("Δ")
        .x_labels(steps + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    for (task, colour) in report.tasks.iter().zip(PALETTE.iter().cycle()) {
        let points: Vec<(f64, f64)> = std::iter::once((0.0, 0.0))
            .chain(task.stacked.iter().enumerate().map(|(i, s)| ((i + 1) as f64, s.delta)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(task.task.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))?;
        chart.draw_series(task.stacked.iter().enumerate().map(|(i, s)| {
            Text::new(
                format!("+{}", s.added),
                ((i + 1) as f64, s.delta),
                ("sans-serif", 11).into_font().color(&BLACK),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()
}

/// Divergence (mean per-layer relative error, log scale) against Δ, one point per configuration.
fn divergence_scatter<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &BenchReport) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let points: Vec<(usize, f64, f64)> = report
        .tasks
        .iter()
        .enumerate()
        .flat_map(|(t, task)| {
            task.configs
                .iter()
                .filter(|c| c.skipped.is_none() && c.label != "training")
                .filter_map(move |c| {
                    let d = c.divergence.as_ref()?;
                    (d.mean_layer_rel_error > 0.0 && d.mean_layer_rel_error.is_finite()).then_some((
                        t,
                        d.mean_layer_rel_error,
                        c.delta,
                    ))
                })
        })
        .collect();
    let (lo, hi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let (lo, hi) = if lo.is_finite() {
        (lo / 2.0, hi * 2.0)
    } else {
        (1e-6, 1.0)
    };
    let top = points.iter().map(|p| p.2).fold(1e-9, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Operator-level divergence vs task Δ (one point per configuration)",
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("mean per-layer relative error vs training system")
        .y_desc("Δ")
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .draw()?;
    for (t, task) in report.tasks.iter().enumerate() {
        let colour = PALETTE[t % PALETTE.len()];
        let rho = task
            .link
            .spearman_mean_layer_error
            .map_or_else(|| "n/a".into(), |r| format!("{r:+.2}"));
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.0 == t)
                    .map(|p| Circle::new((p.1, p.2), 4, colour.filled())),
            )?
            .label(format!("{} (Spearman ρ {rho})", task.task))
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()
}

fn write_plot(
    dir: &Path,
    stem: &str,
    report: &BenchReport,
    png: impl Fn(&DrawingArea<BitMapBackend, Shift>, &BenchReport) -> Result<(), String>,
    svg: impl Fn(&DrawingArea<SVGBackend, Shift>, &BenchReport) -> Result<(), String>,
    height: u32,
) -> Result<Vec<String>, EngineError> {
    let plot_error = |what: &str, e: String| EngineError::Input(format!("{stem}.{what}: {e}"));
    let mut buffer = vec![0u8; (SIZE.0 * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (SIZE.0, height)).into_drawing_area();
        png(&root, report).map_err(|e| plot_error("png", e))?;
    }
    let mut encoded = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut encoded, SIZE.0, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| plot_error("png", e.to_string()))?;
        writer
            .write_image_data(&buffer)
            .map_err(|e| plot_error("png", e.to_string()))?;
    }
    crate::atomic::write(&dir.join(format!("{stem}.png")), &encoded)?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (SIZE.0, height)).into_drawing_area();
        svg(&root, report).map_err(|e| plot_error("svg", e))?;
    }
    crate::atomic::write(&dir.join(format!("{stem}.svg")), text.as_bytes())?;
    Ok(vec![format!("{stem}.png"), format!("{stem}.svg")])
}

/// Writes the three plots as PNG and SVG into `dir`; returns the file names. Without a font,
/// writes nothing and says how to get one.
pub fn write_all(report: &BenchReport, dir: &Path) -> Result<Vec<String>, EngineError> {
    crate::fonts::ensure_font().map_err(EngineError::Input)?;
    let panel_height = SIZE.1.max(260 * report.tasks.len() as u32);
    let mut written = Vec::new();
    written.extend(write_plot(
        dir,
        "noise_bars",
        report,
        |r, b| family_bars(r, b).map_err(|e| e.to_string()),
        |r, b| family_bars(r, b).map_err(|e| e.to_string()),
        panel_height,
    )?);
    written.extend(write_plot(
        dir,
        "stacking",
        report,
        |r, b| stacking(r, b).map_err(|e| e.to_string()),
        |r, b| stacking(r, b).map_err(|e| e.to_string()),
        SIZE.1,
    )?);
    written.extend(write_plot(
        dir,
        "divergence_vs_delta",
        report,
        |r, b| divergence_scatter(r, b).map_err(|e| e.to_string()),
        |r, b| divergence_scatter(r, b).map_err(|e| e.to_string()),
        SIZE.1,
    )?);
    Ok(written)
}
