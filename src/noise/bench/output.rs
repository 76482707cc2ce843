//! The benchmark's results as the paper's table (terminal and Markdown), per-configuration
//! detail, and the JSON / Markdown / plot files written into the output directory.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{ConfigResult, TaskResult};
use crate::error::EngineError;
use crate::noise::system::Family;

/// Everything one `bench sysnoise` run measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The machine it was measured on (CPU model and ISA: int8 results depend on it).
    pub machine: crate::machine::Machine,
    /// Runtime name → exact library version.
    pub runtimes: std::collections::BTreeMap<String, String>,
    pub tasks: Vec<TaskResult>,
}

fn family_cell(task: &TaskResult, family: Family) -> String {
    task.families
        .iter()
        .find(|f| f.family == family)
        .map_or_else(|| "n/a".into(), |f| format!("{:.1} ({:.1})", f.mean_delta, f.max_delta))
}

fn stacked_cell(task: &TaskResult) -> String {
    task.stacked
        .last()
        .map_or_else(|| "n/a".into(), |s| format!("{:.1}", s.delta))
}

fn families_in(report: &BenchReport) -> Vec<Family> {
    Family::ALL
        .into_iter()
        .filter(|f| report.tasks.iter().any(|t| t.families.iter().any(|s| s.family == *f)))
        .collect()
}

/// The paper-style table: one row per task, Δ per family as mean (max) over its options, and
/// the stacked noise.
pub fn paper_table(report: &BenchReport) -> comfy_table::Table {
    let families = families_in(report);
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["task".to_string(), "Δ metric".into()];
    header.extend(families.iter().map(|f| f.name().to_string()));
    header.push("stacked".into());
    table.set_header(header);
    for task in &report.tasks {
        let mut row = vec![format!("{} ({} items)", task.task, task.items), task.metric.clone()];
        row.extend(families.iter().map(|f| family_cell(task, *f)));
        row.push(stacked_cell(task));
        table.add_row(row);
    }
    table
}

fn divergence_text(c: &ConfigResult) -> (String, String, String) {
    match &c.divergence {
        Some(d) => (
            format!("{:.1e}", d.mean_layer_rel_error),
            format!("{:.1e}", d.output_rel_error),
            d.first_divergent_layer.as_ref().map_or_else(
                || "none".into(),
                |l| {
                    let shape = if l.shape_changed { ", shape changed" } else { "" };
                    format!("{} ({}{shape})", l.node, l.op_type)
                },
            ),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    }
}

/// Every configuration of one task: Δ, flips, confidence, and the divergence it causes.
pub fn detail_table(task: &TaskResult) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    // Further task metrics (mAP@0.5 ...) get one column each, named as the task names them.
    let extra_names: Vec<&str> = task
        .configs
        .iter()
        .flat_map(|c| c.extra.iter().map(|(name, _)| name.as_str()))
        .fold(Vec::new(), |mut names, name| {
            if !names.contains(&name) {
                names.push(name);
            }
            names
        });
    let mut header: Vec<String> = ["configuration", "Δ", "flips", "conf. drop", "input |Δ|"]
        .map(String::from)
        .to_vec();
    header.extend(extra_names.iter().map(|n| n.to_string()));
    header.extend(["mean layer rel err", "output rel err", "first divergent layer"].map(String::from));
    table.set_header(header);
    for c in &task.configs {
        if let Some(reason) = &c.skipped {
            table.add_row([c.label.clone(), format!("skipped: {reason}")]);
            continue;
        }
        let (mean, output, first) = divergence_text(c);
        let mut row = vec![
            c.label.clone(),
            format!("{:.2}", c.delta),
            format!("{:.1}%", c.flip_rate * 100.0),
            format!("{:+.4}", c.confidence_drop),
            format!("{:.4}", c.input_mean_abs_diff),
        ];
        row.extend(extra_names.iter().map(|name| {
            c.extra
                .iter()
                .find(|(n, _)| n == name)
                .map_or_else(|| "-".into(), |(_, v)| format!("{v:.3}"))
        }));
        row.extend([mean, output, first]);
        table.add_row(row);
    }
    table
}

fn correlation_text(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |r| format!("{r:+.2}"))
}

/// Lines under each task's detail: training accuracy, stacking, the rank correlations.
pub fn task_notes(task: &TaskResult) -> Vec<String> {
    let mut lines = Vec::new();
    if let (Some(name), Some(quality)) = (&task.quality_metric, task.training_quality) {
        lines.push(format!("training-system {name}: {:.2}%", quality * 100.0));
    }
    if !task.stacked.is_empty() {
        let steps: Vec<String> = task
            .stacked
            .iter()
            .map(|s| format!("+{} → {:.1}", s.added, s.delta))
            .collect();
        lines.push(format!(
            "stacked (worst option of each family, cumulative): {}",
            steps.join(", ")
        ));
    }
    lines.push(format!(
        "divergence → Δ over {} configurations: Spearman ρ = {} (mean per-layer relative error), {} (output relative error)",
        task.link.configurations,
        correlation_text(task.link.spearman_mean_layer_error),
        correlation_text(task.link.spearman_output_error)
    ));
    let dependent: Vec<&str> = task
        .configs
        .iter()
        .filter(|c| c.isa_note.is_some())
        .map(|c| c.label.as_str())
        .collect();
    if let Some(note) = task.configs.iter().find_map(|c| c.isa_note.as_ref()) {
        lines.push(format!("CPU-dependent rows ({}): {note}", dependent.join(", ")));
    }
    let decoded: Vec<String> = task
        .configs
        .iter()
        .filter_map(|c| {
            let d = c.decoded_pixels.as_ref()?;
            Some(format!(
                "{} max {} mean {:.2} ({:.1}% of values differ)",
                c.label,
                d.max,
                d.mean,
                d.differing * 100.0
            ))
        })
        .collect();
    if !decoded.is_empty() {
        lines.push(format!(
            "decoded pixels vs the training decoder: {}",
            decoded.join("; ")
        ));
    }
    if task.interrupted {
        lines.push("interrupted: configurations after Ctrl-C were not measured".into());
    }
    lines
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}

fn markdown_table(table: &comfy_table::Table) -> String {
    let mut out = String::new();
    let header: Vec<String> = table
        .header()
        .map(|h| h.cell_iter().map(|c| md_escape(&c.content())).collect())
        .unwrap_or_default();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for row in table.row_iter() {
        let mut cells: Vec<String> = row.cell_iter().map(|c| md_escape(&c.content())).collect();
        cells.resize(header.len(), String::new());
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// The whole report as Markdown (what `report.md` holds).
pub fn render_markdown(report: &BenchReport) -> String {
    let mut md = String::from("# SysNoise benchmark\n\n");
    md.push_str(
        "Each noise option is the training system (Pillow/libjpeg-turbo decoding, Pillow bilinear resize, \
         the model as trained in FP32 on ONNX Runtime) with one knob turned. Cells: Δ as mean (max) over \
         the family's options; *stacked*: the worst option of every family together.\n\n",
    );
    let _ = writeln!(md, "Measured on {}.\n", md_escape(&report.machine.summary()));
    md.push_str(&markdown_table(&paper_table(report)));
    md.push_str("\n![Δ per noise family](noise_bars.png)\n\n![stacked noise](stacking.png)\n\n");
    md.push_str("![divergence vs Δ](divergence_vs_delta.png)\n\n");
    for task in &report.tasks {
        let _ = writeln!(md, "## {} — {} items, Δ = {}\n", task.task, task.items, task.metric);
        md.push_str(&markdown_table(&detail_table(task)));
        md.push('\n');
        for line in task_notes(task) {
            let _ = writeln!(md, "- {}", md_escape(&line));
        }
        md.push('\n');
    }
    md.push_str("## Runtimes\n\n");
    for (name, version) in &report.runtimes {
        let _ = writeln!(md, "- `{name}`: {}", md_escape(version));
    }
    md
}

/// Writes `report.json`, `report.md` and the plots into `dir` (each file atomically).
pub fn write(report: &BenchReport, dir: &Path) -> Result<Vec<String>, EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| EngineError::Input(format!("report: {e}")))?;
    crate::atomic::write(&dir.join("report.json"), json.as_bytes())?;
    crate::atomic::write(&dir.join("report.md"), render_markdown(report).as_bytes())?;
    let mut written = vec!["report.json".to_string(), "report.md".to_string()];
    written.extend(super::plots::write_all(report, dir)?);
    Ok(written)
}
