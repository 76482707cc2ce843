//! `sysnoise report`: a campaign directory rendered as Markdown, JSON and a static HTML page with per-finding error plots.
//!
//! The campaign directory is what [`crate::fuzz::store`] writes: `state.json` lists the distinct
//! findings, each with its folder. A folder may hold a reduced bundle (`reduced/`: a
//! `report.json` with the size reached, `expected/<output>.npy` and
//! `actual/<runtime>/<output>.npy`); when it does, the HTML page plots each runtime's error
//! against the reference, element by element. Outputs carry no timestamps and no absolute
//! paths, so rendering the same campaign twice gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path};

use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use sysnoise_boundary::Tensor;

use crate::atomic;
use crate::error::EngineError;
use crate::fuzz::store::{FindingRecord, State};

/// Magnitudes below this (exact zeros included) are drawn at it on the logarithmic axes.
pub const ZERO_FLOOR: f64 = 1e-12;
/// At most this many points per runtime in a scatter plot (every k-th element beyond it).
const MAX_SCATTER_POINTS: usize = 4000;
/// Histogram bin width, in decades.
const BIN_WIDTH: f64 = 0.25;
const PLOT_SIZE: (u32, u32) = (640, 400);

/// A rendered campaign: totals and one row per distinct finding (the `report.json` schema).
#[derive(Clone, Debug, Serialize)]
pub struct CampaignReport {
    pub totals: Totals,
    pub rows: Vec<Row>,
}

/// Campaign-wide counts, from `state.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    pub cases_run: u64,
    pub cases_skipped: u64,
    pub cases_undefined: u64,
    pub cases_unattributed: u64,
    pub distinct_findings: usize,
    /// Cases that showed any finding (the sum of the rows' counts).
    pub finding_cases: u64,
}

/// One distinct finding.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The signature's display form, e.g. `Resize [mode=linear] f32 on ort: numeric`.
    pub signature: String,
    pub count: u64,
    pub first_case: u64,
    /// A description of the first case.
    pub example: String,
    /// The diverging runtimes.
    pub runtimes: Vec<String>,
    pub culprit_node: Option<String>,
    /// The finding's folder, relative to the campaign directory.
    pub dir: String,
    /// Per-runtime messages of the first case.
    pub details: BTreeMap<String, String>,
    /// The reduced bundle, when the finding was minimised.
    pub reduced: Option<Reduced>,
}

/// What a finding's reduced bundle (`<dir>/reduced/`) holds.
#[derive(Clone, Debug, Serialize)]
pub struct Reduced {
    /// Nodes left in the reduced model.
    pub nodes: u64,
    /// Input elements left in the reduced case.
    pub input_elements: u64,
    /// The runtimes the bundle names.
    pub runtimes: Vec<String>,
    /// Error statistics per output, one per `expected/<output>.npy`.
    pub outputs: Vec<OutputErrors>,
}

/// One output of a reduced bundle against each runtime's result.
#[derive(Clone, Debug, Serialize)]
pub struct OutputErrors {
    pub output: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub runtimes: Vec<RuntimeErrors>,
}

/// How far one runtime's output is from the expected one.
#[derive(Clone, Debug, Serialize)]
pub struct RuntimeErrors {
    pub runtime: String,
    /// Elements where the expected value, the actual value and their difference are finite.
    pub finite: usize,
    /// Elements skipped because one of those is NaN or infinite.
    pub non_finite: usize,
    /// The largest finite |actual - expected|.
    pub max_abs_error: Option<f64>,
    /// Why the output could not be compared (no file, another shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `(|expected|, |actual - expected|)` of the finite elements, for the plots.
    #[serde(skip)]
    points: Vec<(f64, f64)>,
}

/// The part of a bundle's `report.json` the report uses (other fields are ignored).
#[derive(Deserialize)]
struct BundleReport {
    nodes_after: u64,
    input_elements: u64,
    #[serde(default)]
    runtimes: Vec<String>,
}

/// Renders `campaign_dir` into `out_dir/report.md`, `out_dir/report.json` and
/// `out_dir/index.html` (created if needed), and returns what was rendered.
pub fn write(campaign_dir: &Path, out_dir: &Path) -> Result<CampaignReport, EngineError> {
    let report = build(campaign_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|e| EngineError::io(out_dir, e))?;
    let links = link_prefix(campaign_dir, out_dir);
    let html = render_html(&report, &links)?;
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    atomic::write(&out_dir.join("report.md"), render_markdown(&report, &links).as_bytes())?;
    atomic::write(&out_dir.join("report.json"), &json)?;
    atomic::write(&out_dir.join("index.html"), html.as_bytes())?;
    Ok(report)
}

/// Reads a campaign directory (its `state.json` and the findings' reduced bundles).
pub fn build(campaign_dir: &Path) -> Result<CampaignReport, EngineError> {
    let state = read_state(campaign_dir)?;
    let rows = state
        .findings
        .iter()
        .map(|record| row(campaign_dir, record))
        .collect::<Result<Vec<_>, _>>()?;
    let totals = Totals {
        cases_run: state.cases_run,
        cases_skipped: state.cases_skipped,
        cases_undefined: state.cases_undefined,
        cases_unattributed: state.cases_unattributed,
        distinct_findings: rows.len(),
        finding_cases: rows.iter().map(|r| r.count).sum(),
    };
    Ok(CampaignReport { totals, rows })
}

fn read_state(campaign_dir: &Path) -> Result<State, EngineError> {
    let path = campaign_dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::Input(format!(
            "{}: not found; is {} a campaign directory (`sysnoise fuzz --out`)?",
            path.display(),
            campaign_dir.display()
        )),
        _ => EngineError::io(&path, e),
    })?;
    serde_json::from_str(&text)
        .map_err(|e| EngineError::Input(format!("{}: unreadable campaign state ({e})", path.display())))
}

fn row(campaign_dir: &Path, record: &FindingRecord) -> Result<Row, EngineError> {
    check_relative(campaign_dir, &record.dir)?;
    let reduced = read_bundle(&campaign_dir.join(&record.dir).join("reduced"))?;
    Ok(Row {
        signature: record.signature.to_string(),
        count: record.count,
        first_case: record.first_case,
        example: record.example.clone(),
        runtimes: record.signature.runtimes.clone(),
        culprit_node: record.culprit_node.clone(),
        dir: record.dir.clone(),
        details: record.details.clone(),
        reduced,
    })
}

/// A finding folder must stay inside the campaign directory.
fn check_relative(campaign_dir: &Path, dir: &str) -> Result<(), EngineError> {
    let path = Path::new(dir);
    let inside = !dir.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if inside {
        return Ok(());
    }
    Err(EngineError::Input(format!(
        "{}: finding folder {dir:?} is not a path inside the campaign directory",
        campaign_dir.join("state.json").display()
    )))
}

/// The reduced bundle in `bundle_dir`, or `None` when it has no `report.json`.
fn read_bundle(bundle_dir: &Path) -> Result<Option<Reduced>, EngineError> {
    let report_path = bundle_dir.join("report.json");
    let text = match std::fs::read_to_string(&report_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EngineError::io(&report_path, e)),
    };
    let bundle: BundleReport = serde_json::from_str(&text).map_err(|e| {
        EngineError::Input(format!(
            "{}: unreadable reduced bundle report ({e})",
            report_path.display()
        ))
    })?;
    let runtimes = subdirs(&bundle_dir.join("actual"))?;
    let outputs = npy_stems(&bundle_dir.join("expected"))?
        .iter()
        .map(|name| output_errors(bundle_dir, name, &runtimes))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Reduced {
        nodes: bundle.nodes_after,
        input_elements: bundle.input_elements,
        runtimes: bundle.runtimes,
        outputs,
    }))
}

fn output_errors(bundle_dir: &Path, output: &str, runtimes: &[String]) -> Result<OutputErrors, EngineError> {
    let file = format!("{output}.npy");
    let expected = read_tensor(&bundle_dir.join("expected").join(&file))?;
    let runtimes = runtimes
        .iter()
        .map(|runtime| {
            let path = bundle_dir.join("actual").join(runtime).join(&file);
            if !path.is_file() {
                return Ok(RuntimeErrors::not_compared(
                    runtime,
                    format!("no actual/{runtime}/{file}"),
                ));
            }
            Ok(RuntimeErrors::measure(runtime, &expected, &read_tensor(&path)?))
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    Ok(OutputErrors {
        output: output.to_string(),
        dtype: expected.dtype().to_string(),
        shape: expected.shape().to_vec(),
        runtimes,
    })
}

impl RuntimeErrors {
    fn empty(runtime: &str) -> RuntimeErrors {
        RuntimeErrors {
            runtime: runtime.to_string(),
            finite: 0,
            non_finite: 0,
            max_abs_error: None,
            note: None,
            points: Vec::new(),
        }
    }

    fn not_compared(runtime: &str, note: String) -> RuntimeErrors {
        RuntimeErrors {
            note: Some(note),
            ..RuntimeErrors::empty(runtime)
        }
    }

    /// Element-wise |actual - expected|, non-finite elements counted and left out.
    fn measure(runtime: &str, expected: &Tensor, actual: &Tensor) -> RuntimeErrors {
        if actual.shape() != expected.shape() {
            let note = format!("shape {:?} where {:?} was expected", actual.shape(), expected.shape());
            return RuntimeErrors::not_compared(runtime, note);
        }
        let mut errors = RuntimeErrors::empty(runtime);
        for (e, a) in expected.to_f64_vec().into_iter().zip(actual.to_f64_vec()) {
            let error = (a - e).abs();
            if e.is_finite() && a.is_finite() && error.is_finite() {
                errors.points.push((e.abs(), error));
            } else {
                errors.non_finite += 1;
            }
        }
        errors.finite = errors.points.len();
        errors.max_abs_error = errors.points.iter().map(|p| p.1).reduce(f64::max);
        errors
    }
}

fn read_tensor(path: &Path) -> Result<Tensor, EngineError> {
    let file = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    crate::npy::read_npy(std::io::BufReader::new(file), &path.display().to_string())
}

/// Sorted names of the sub-folders of `dir` (none when it does not exist).
fn subdirs(dir: &Path) -> Result<Vec<String>, EngineError> {
    let mut names: Vec<String> = list(dir)?
        .into_iter()
        .filter(|(_, path)| path.is_dir())
        .map(|(name, _)| name)
        .collect();
    names.sort();
    Ok(names)
}

/// Sorted stems of the `.npy` files in `dir` (none when it does not exist).
fn npy_stems(dir: &Path) -> Result<Vec<String>, EngineError> {
    let mut names: Vec<String> = list(dir)?
        .into_iter()
        .filter(|(_, path)| path.is_file())
        .filter_map(|(name, _)| name.strip_suffix(".npy").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

fn list(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, EngineError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(dir, e)),
    };
    entries
        .map(|entry| {
            let entry = entry.map_err(|e| EngineError::io(dir, e))?;
            Ok((entry.file_name().to_string_lossy().into_owned(), entry.path()))
        })
        .collect()
}

/// What to put before a finding folder (relative to the campaign directory) so that a link
/// from `out_dir` reaches it: `../` per level when `out_dir` is inside the campaign directory,
/// nothing otherwise (the reports then say the folders are relative to the campaign directory).
fn link_prefix(campaign_dir: &Path, out_dir: &Path) -> String {
    let (Ok(campaign), Ok(out)) = (campaign_dir.canonicalize(), out_dir.canonicalize()) else {
        return String::new();
    };
    match out.strip_prefix(&campaign) {
        Ok(rest) => "../".repeat(rest.components().count()),
        Err(_) => String::new(),
    }
}

fn size_text(reduced: Option<&Reduced>) -> String {
    match reduced {
        None => "not reduced".to_string(),
        Some(r) => format!(
            "{} node{}, {} input element{}",
            r.nodes,
            plural(r.nodes),
            r.input_elements,
            plural(r.input_elements)
        ),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn culprit_text(row: &Row) -> &str {
    row.culprit_node.as_deref().unwrap_or("-")
}

fn totals_lines(totals: &Totals) -> Vec<String> {
    vec![
        format!("cases run: {}", totals.cases_run),
        format!("cases skipped: {}", totals.cases_skipped),
        format!("cases on undefined behaviour: {}", totals.cases_undefined),
        format!("cases unattributed: {}", totals.cases_unattributed),
        format!(
            "distinct findings: {} ({} cases)",
            totals.distinct_findings, totals.finding_cases
        ),
    ]
}

const FOLDERS_NOTE: &str = "Finding folders are named relative to the campaign directory.";

// ---------------------------------------------------------------- Markdown

fn render_markdown(report: &CampaignReport, links: &str) -> String {
    let mut md = String::from("# Campaign report\n\n");
    for line in totals_lines(&report.totals) {
        let _ = writeln!(md, "- {line}");
    }
    let _ = writeln!(md, "\n{FOLDERS_NOTE}\n");
    if report.rows.is_empty() {
        md.push_str("No findings.\n");
        return md;
    }
    md.push_str("| # | signature | count | first case | smallest size | runtimes | culprit node | folder |\n");
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    for (i, row) in report.rows.iter().enumerate() {
        let _ = writeln!(md, "{}", markdown_row(i + 1, row, links));
    }
    md
}

fn markdown_row(number: usize, row: &Row, links: &str) -> String {
    let cells = [
        number.to_string(),
        md_cell(&row.signature),
        row.count.to_string(),
        row.first_case.to_string(),
        size_text(row.reduced.as_ref()),
        md_cell(&row.runtimes.join(", ")),
        md_cell(culprit_text(row)),
        format!("[{}]({links}{}/)", md_cell(&row.dir), row.dir),
    ];
    format!("| {} |", cells.join(" | "))
}

/// Text made safe for a Markdown table cell: one line, no column breaks, no inline HTML.
fn md_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '|' | '<' | '>' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------- HTML

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:90em}\
table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#eee}figure{display:inline-block;margin:.5em;vertical-align:top}\
figcaption{font-size:.85em;max-width:640px}pre{white-space:pre-wrap;margin:0}";

fn render_html(report: &CampaignReport, links: &str) -> Result<String, EngineError> {
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        html,
        "<title>sysnoise campaign report</title>\n<style>{STYLE}</style>\n</head>\n<body>"
    );
    html.push_str("<h1>Campaign report</h1>\n<ul>\n");
    for line in totals_lines(&report.totals) {
        let _ = writeln!(html, "<li>{}</li>", escape(&line));
    }
    let _ = writeln!(html, "</ul>\n<p>{}</p>", escape(FOLDERS_NOTE));
    if report.rows.is_empty() {
        html.push_str("<p>No findings.</p>\n");
    } else {
        html.push_str(&html_table(report, links));
        for (i, row) in report.rows.iter().enumerate() {
            html.push_str(&html_section(i + 1, row, links)?);
        }
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

fn html_table(report: &CampaignReport, links: &str) -> String {
    let mut html = String::from("<table>\n<tr><th>#</th><th>signature</th><th>count</th><th>first case</th>");
    html.push_str("<th>smallest size</th><th>runtimes</th><th>culprit node</th><th>folder</th></tr>\n");
    for (i, row) in report.rows.iter().enumerate() {
        let number = i + 1;
        let _ = writeln!(
            html,
            "<tr><td>{number}</td><td><a href=\"#finding-{number}\">{}</a></td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&row.signature),
            row.count,
            row.first_case,
            escape(&size_text(row.reduced.as_ref())),
            escape(&row.runtimes.join(", ")),
            escape(culprit_text(row)),
            folder_link(row, links),
        );
    }
    html.push_str("</table>\n");
    html
}

fn folder_link(row: &Row, links: &str) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        escape(&format!("{links}{}/", row.dir)),
        escape(&row.dir)
    )
}

fn html_section(number: usize, row: &Row, links: &str) -> Result<String, EngineError> {
    let mut html = format!(
        "<section id=\"finding-{number}\">\n<h2>{number}. {}</h2>\n",
        escape(&row.signature)
    );
    let _ = writeln!(
        html,
        "<p>{} case{}; first: case {} ({}). Folder: {}. Culprit node: {}.</p>",
        row.count,
        plural(row.count),
        row.first_case,
        escape(&row.example),
        folder_link(row, links),
        escape(culprit_text(row)),
    );
    html.push_str(&html_details(&row.details));
    match &row.reduced {
        None => html.push_str("<p>Not reduced: no reduced bundle (<code>reduced/</code>), so no plots.</p>\n"),
        Some(reduced) => html.push_str(&html_reduced(&row.dir, reduced)?),
    }
    html.push_str("</section>\n");
    Ok(html)
}

fn html_details(details: &BTreeMap<String, String>) -> String {
    if details.is_empty() {
        return String::new();
    }
    let mut html = String::from("<dl>\n");
    for (runtime, message) in details {
        let _ = writeln!(
            html,
            "<dt>{}</dt><dd><pre>{}</pre></dd>",
            escape(runtime),
            escape(message)
        );
    }
    html.push_str("</dl>\n");
    html
}

fn html_reduced(dir: &str, reduced: &Reduced) -> Result<String, EngineError> {
    let mut html = format!(
        "<p>Reduced to {} (runtimes named by the bundle: {}).</p>\n",
        escape(&size_text(Some(reduced))),
        escape(&reduced.runtimes.join(", "))
    );
    if reduced.outputs.is_empty() {
        html.push_str(
            "<p>The reduced bundle holds no expected outputs (<code>reduced/expected/</code>): no plots.</p>\n",
        );
    }
    for output in &reduced.outputs {
        let what = format!("{dir}/reduced/expected/{}.npy", output.output);
        let _ = writeln!(
            html,
            "<h3>Output {} ({}, shape {:?})</h3>",
            escape(&output.output),
            escape(&output.dtype),
            output.shape
        );
        html.push_str(&html_plots(output, &what)?);
    }
    Ok(html)
}

fn html_plots(output: &OutputErrors, what: &str) -> Result<String, EngineError> {
    let caption = escape(&plot_caption(output));
    if output.runtimes.iter().all(|r| r.points.is_empty()) {
        return Ok(format!("<p>No finite elements to plot. {caption}</p>\n"));
    }
    let plot_error = |e: Box<dyn std::error::Error>| EngineError::Input(format!("{what}: cannot plot ({e})"));
    crate::fonts::ensure_font().map_err(|e| EngineError::Input(format!("{what}: cannot plot ({e})")))?;
    let scatter = scatter_svg(output).map_err(plot_error)?;
    let histogram = histogram_svg(output).map_err(plot_error)?;
    Ok(format!(
        "<figure>\n{scatter}\n<figcaption>|actual &minus; expected| against |expected| per element, \
         log-log. {caption}</figcaption>\n</figure>\n<figure>\n{histogram}\n<figcaption>Histogram of \
         log10 |actual &minus; expected| ({BIN_WIDTH} decade bins; errors below {ZERO_FLOOR:e}, exact \
         zeros included, are counted in the lowest bin; non-finite elements are left out, as counted \
         beside).</figcaption>\n</figure>\n"
    ))
}

/// Per runtime: elements plotted, non-finite elements skipped, clamped magnitudes, sampling.
fn plot_caption(output: &OutputErrors) -> String {
    let parts: Vec<String> = output.runtimes.iter().map(runtime_caption).collect();
    parts.join(" ")
}

fn runtime_caption(r: &RuntimeErrors) -> String {
    if let Some(note) = &r.note {
        return format!("{}: not compared ({note}).", r.runtime);
    }
    let small_expected = r.points.iter().filter(|p| p.0 < ZERO_FLOOR).count();
    let small_error = r.points.iter().filter(|p| p.1 < ZERO_FLOOR).count();
    let max = r.max_abs_error.map_or("-".to_string(), |m| format!("{m:.3e}"));
    let mut text = format!(
        "{}: {} finite elements, {} non-finite skipped, max |error| {max}; values below {ZERO_FLOOR:e} \
         (zeros included) drawn at {ZERO_FLOOR:e}: {small_expected} |expected|, {small_error} |error|",
        r.runtime, r.finite, r.non_finite
    );
    let stride = stride(r.points.len());
    if stride > 1 {
        let _ = write!(text, "; every {stride}th element drawn");
    }
    text.push('.');
    text
}

/// Every `stride`-th point keeps a scatter plot under [`MAX_SCATTER_POINTS`] points.
fn stride(points: usize) -> usize {
    points.div_ceil(MAX_SCATTER_POINTS).max(1)
}

/// `&`, `<`, `>` and `"` as HTML entities.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------- plots

type PlotResult<T> = Result<T, Box<dyn std::error::Error>>;

fn color(index: usize) -> RGBAColor {
    Palette99::pick(index).to_rgba()
}

/// The whole decades `(lo, hi)`, `hi > lo`, whose powers of ten cover `values` (floored at
/// [`ZERO_FLOOR`]).
fn decade_exponents(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        let v = v.max(ZERO_FLOOR);
        (lo.min(v), hi.max(v))
    });
    let lo = if lo.is_finite() { lo } else { ZERO_FLOOR };
    let lo_decade = lo.log10().floor() as i32;
    let hi_decade = (hi.max(lo).log10().ceil() as i32).max(lo_decade + 1);
    (lo_decade, hi_decade)
}

/// `10^exponent`, exactly as the decimal literal reads (the same on every platform's libm).
fn power_of_ten(exponent: i32) -> f64 {
    format!("1e{exponent}").parse().expect("a float literal")
}

/// The decades covering `values` and one more on each side, so that no point sits on an axis.
fn padded_decade_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = decade_exponents(values);
    power_of_ten(lo - 1)..power_of_ten(hi + 1)
}

fn exponent_label(v: &f64) -> String {
    format!("{v:.0e}")
}

fn all_points(output: &OutputErrors) -> impl Iterator<Item = &(f64, f64)> {
    output.runtimes.iter().flat_map(|r| r.points.iter())
}

fn scatter_svg(output: &OutputErrors) -> PlotResult<String> {
    let x_range = padded_decade_range(all_points(output).map(|p| p.0));
    let y_range = padded_decade_range(all_points(output).map(|p| p.1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("|error| vs |expected|: {}", output.output), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.log_scale(), y_range.log_scale())?;
        chart
            .configure_mesh()
            .x_desc("|expected|")
            .y_desc("|actual - expected|")
            .x_label_formatter(&exponent_label)
            .y_label_formatter(&exponent_label)
            .draw()?;
        for (i, r) in output.runtimes.iter().enumerate().filter(|(_, r)| !r.points.is_empty()) {
            let style = color(i).filled();
            let points = r.points.iter().step_by(stride(r.points.len()));
            chart
                .draw_series(points.map(|&(x, y)| Circle::new((x.max(ZERO_FLOOR), y.max(ZERO_FLOOR)), 2, style)))?
                .label(r.runtime.as_str())
                .legend(move |(x, y)| Circle::new((x, y), 4, style));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Counts of log10 |error| per bin of [`BIN_WIDTH`] decades from `lo`.
fn bin_counts(points: &[(f64, f64)], lo: f64, bins: usize) -> Vec<u32> {
    let mut counts = vec![0u32; bins];
    for &(_, error) in points {
        let position = ((error.max(ZERO_FLOOR).log10() - lo) / BIN_WIDTH).floor();
        let bin = (position.max(0.0) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    counts
}

fn histogram_svg(output: &OutputErrors) -> PlotResult<String> {
    let (lo, hi) = decade_exponents(all_points(output).map(|p| p.1));
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    let bins = ((hi - lo) / BIN_WIDTH).round() as usize;
    let counts: Vec<Vec<u32>> = output
        .runtimes
        .iter()
        .map(|r| bin_counts(&r.points, lo, bins))
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("log10 |error|: {}", output.output), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0u32..top + top / 10 + 1)?;
        chart
            .configure_mesh()
            .x_desc("log10 |actual - expected|")
            .y_desc("elements")
            .draw()?;
        for (i, (r, counts)) in output.runtimes.iter().zip(&counts).enumerate() {
            if r.points.is_empty() {
                continue;
            }
            let fill = color(i).mix(0.5).filled();
            let bars = counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(b, &c)| {
                let left = lo + b as f64 * BIN_WIDTH;
                Rectangle::new([(left, 0), (left + BIN_WIDTH, c)], fill)
            });
            chart
                .draw_series(bars)?
                .label(r.runtime.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], fill));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_the_html_specials() {
        assert_eq!(escape(r#"a<b & "c">"#), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(md_cell("a|b\nc<d>"), r"a\|b c\<d\>");
    }

    #[test]
    fn decade_ranges_are_whole_positive_and_at_least_a_decade_wide() {
        assert_eq!(decade_exponents([0.0, 0.0].into_iter()), (-12, -11));
        assert_eq!(decade_exponents(std::iter::empty()), (-12, -11));
        assert_eq!(decade_exponents([0.003, 20.0].into_iter()), (-3, 2));
        assert_eq!(decade_exponents([1.0, 1.0].into_iter()), (0, 1));
        assert_eq!(padded_decade_range([0.003, 20.0].into_iter()), 1e-4..1e3);
    }

    #[test]
    fn finding_folders_must_stay_inside_the_campaign() {
        let dir = Path::new("campaign");
        assert!(check_relative(dir, "findings/abs-0123").is_ok());
        for bad in ["", "/etc", "../x", "findings/../../x"] {
            let e = check_relative(dir, bad).unwrap_err().to_string();
            assert!(e.contains("state.json"), "{e}");
        }
    }
}
