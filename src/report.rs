//! Human-readable rendering of a `compare` report: one table per output, a column per runtime.

use std::fmt::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::compare::{CompareReport, Verdict};
use crate::metrics::Metrics;

/// How numbers are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Two significant digits (`3.1e-07`).
    Normal,
    /// Thousand-fold buckets (`≤1e-6`, `≤1e-3`, `≤1e0`, ...): the order of magnitude of an error,
    /// stable across CPUs whose kernels differ by a few ulps (single decades were not: ORT's
    /// 1.5e-8 on builtin:cnn sits within 2× of a decade's edge); used by snapshot tests.
    Decades,
}

/// Formats a non-negative error value.
pub fn number(value: f64, precision: Precision) -> String {
    if value == 0.0 {
        return "0".into();
    }
    if !value.is_finite() {
        return if value.is_nan() { "NaN".into() } else { "inf".into() };
    }
    match precision {
        Precision::Normal => format!("{value:.1e}"),
        Precision::Decades => {
            let exponent = value.log10().ceil() as i32;
            format!("≤1e{}", exponent + (3 - exponent.rem_euclid(3)) % 3)
        }
    }
}

fn fraction(value: f64) -> String {
    if value == 0.0 {
        "0".into()
    } else {
        format!("{:.2}%", value * 100.0)
    }
}

fn cosine(value: f64, precision: Precision) -> String {
    match precision {
        Precision::Normal => format!("{value:.6}"),
        Precision::Decades => {
            if value >= 1.0 - 1e-6 {
                "≈1".into()
            } else {
                format!("{value:.2}")
            }
        }
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Agree => "agree",
        Verdict::Diverge => "DIVERGE",
        Verdict::Error => "ERROR",
        Verdict::Skipped => "skipped",
    }
}

fn metric_rows(m: Option<&Metrics>, precision: Precision) -> Vec<String> {
    let Some(m) = m else { return vec!["—".into(); 7] };
    if !m.same_shape {
        return vec![
            "shape/dtype differ".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "no".into(),
        ];
    }
    vec![
        number(m.max_abs, precision),
        number(m.max_rel, precision),
        match precision {
            Precision::Normal => m.max_ulp.to_string(),
            Precision::Decades => number(m.max_ulp as f64, precision),
        },
        format!("{} ({})", m.mismatches, fraction(m.mismatch_fraction)),
        cosine(m.cosine, precision),
        if m.nan_inf_agree { "yes".into() } else { "NO".into() },
        m.top1_agreement.map_or("—".into(), fraction_plain),
    ]
}

fn fraction_plain(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// Renders the report as text tables.
pub fn render(report: &CompareReport, precision: Precision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "model   {}", report.model);
    let _ = writeln!(out, "inputs  {}", report.inputs);
    let _ = writeln!(out, "machine {}", report.machine.summary());
    let width = report.runtimes.iter().map(|r| r.name.len()).max().unwrap_or(0).max(12);
    for rt in &report.runtimes {
        let _ = write!(out, "runtime {:<width$} {}", rt.name, rt.version);
        if let Some(message) = &rt.message {
            let first = message.lines().next().unwrap_or("");
            let _ = write!(out, "  [{}: {}]", verdict_word(rt.verdict), truncate(first, 160));
        }
        out.push('\n');
    }
    let columns: Vec<&str> = report.runtimes.iter().map(|r| r.name.as_str()).collect();
    for output in &report.outputs {
        let _ = writeln!(
            out,
            "\noutput '{}' {}{:?}{} — tolerance {}, against {}",
            output.name,
            output.dtype,
            output.shape,
            output
                .op_type
                .as_ref()
                .map(|o| format!(" from {o}"))
                .unwrap_or_default(),
            output.tolerance,
            report.baseline
        );
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        let mut header = vec!["".to_string()];
        header.extend(columns.iter().map(|c| c.to_string()));
        table.set_header(header);
        let per_runtime: Vec<Vec<String>> = columns
            .iter()
            .map(|c| metric_rows(output.metrics.get(*c), precision))
            .collect();
        let labels = [
            "max abs",
            "max rel",
            "max ulp",
            "mismatches",
            "cosine",
            "NaN/Inf agree",
            "top-1 agree",
        ];
        for (row, label) in labels.iter().enumerate() {
            let mut cells = vec![label.to_string()];
            cells.extend(per_runtime.iter().map(|col| col[row].clone()));
            table.add_row(cells);
        }
        let mut verdicts = vec!["verdict".to_string()];
        verdicts.extend(report.runtimes.iter().map(|r| {
            if r.name == report.baseline && r.verdict == Verdict::Agree {
                "baseline".into()
            } else {
                verdict_word(r.verdict).into()
            }
        }));
        table.add_row(verdicts);
        let _ = writeln!(out, "{table}");
    }
    if let Some(c) = &report.culprit {
        let attrs: Vec<String> = c.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "\nfirst diverging node: '{}' ({}, node #{}) on {}{}",
            c.node,
            c.op_type,
            c.index,
            c.runtimes.join(", "),
            if attrs.is_empty() {
                String::new()
            } else {
                format!("\n  attributes: {}", attrs.join(" "))
            }
        );
        for o in &c.outputs {
            for (rt, m) in &o.metrics {
                let _ = writeln!(
                    out,
                    "  {} on {rt}: max abs {}, max rel {}, mismatches {}",
                    o.name,
                    number(m.max_abs, precision),
                    number(m.max_rel, precision),
                    m.mismatches
                );
            }
            for (rt, e) in &o.errors {
                let _ = writeln!(
                    out,
                    "  {} on {rt}: error: {}",
                    o.name,
                    truncate(e.lines().next().unwrap_or(""), 160)
                );
            }
        }
    }
    if let Some(note) = &report.per_node_note {
        let _ = writeln!(out, "\nper-node: {note}");
    }
    if let Some(note) = &report.rounding_note {
        let _ = writeln!(out, "\n{note}");
    }
    if let Some(note) = &report.vote_note {
        let _ = writeln!(out, "\nvote: {note}");
    }
    for note in &report.isa_notes {
        let _ = writeln!(out, "\nCPU-dependent: {note}");
    }
    let summary = if report.diverges() {
        format!(
            "DIVERGE: {} diverging from {}",
            report.diverging_runtimes.join(", "),
            report.baseline
        )
    } else if report.is_inconclusive() {
        format!(
            "INCONCLUSIVE: only {} produced outputs, nothing was compared",
            report.baseline
        )
    } else {
        let ran = report.runtimes.iter().filter(|r| r.verdict == Verdict::Agree).count();
        format!("agree: {ran} runtimes match {} within tolerance", report.baseline)
    };
    let _ = writeln!(out, "\nverdict: {summary}");
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_for_humans_and_for_snapshots() {
        assert_eq!(number(3.14159e-7, Precision::Normal), "3.1e-7");
        assert_eq!(number(3.14159e-7, Precision::Decades), "≤1e-6");
        assert_eq!(number(1.49e-8, Precision::Decades), "≤1e-6");
        assert_eq!(number(9.0e-9, Precision::Decades), "≤1e-6");
        assert_eq!(number(2.0e-6, Precision::Decades), "≤1e-3");
        assert_eq!(number(4.0, Precision::Decades), "≤1e3");
        assert_eq!(number(1.0, Precision::Decades), "≤1e0");
        assert_eq!(number(0.0, Precision::Decades), "0");
        assert_eq!(number(f64::INFINITY, Precision::Normal), "inf");
    }
}
