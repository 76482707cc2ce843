//! `sysnoise report`'s back end on a real campaign: the Markdown, JSON and HTML renderings, with
//! and without a reduced bundle, their determinism, and errors that name the offending file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ndarray::{ArrayD, IxDyn};
use sysnoise::campaign_report::{self, CampaignReport};
use sysnoise::fuzz::{Campaign, RunOptions, run};
use sysnoise::npy::to_npy_bytes;
use sysnoise_boundary::Tensor;

const SIGNATURE: &str = "Abs [-] f32 on chaos-panic: error-vs-success";

/// Runs a real campaign in which `chaos-panic` panics on every Abs case: one finding.
fn campaign_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let campaign = Campaign {
        name: "report".into(),
        runtimes: vec!["reference".into(), "chaos-panic".into()],
        ops: vec!["Abs".into(), "Relu".into()],
        dtypes: vec!["f32".into()],
        cases: 20,
        seed: 1,
        timeout_ms: 2_000,
        ..Campaign::default()
    };
    let options = RunOptions {
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_sysnoise")),
        jobs: 1,
        batch: sysnoise::fuzz::DEFAULT_BATCH,
        time_limit: None,
        out: Some(dir.path().into()),
        progress: false,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let summary = run(&campaign, &options).unwrap();
    assert_eq!(summary.findings.len(), 1, "{}", summary.render());
    assert_eq!(summary.findings[0].signature.to_string(), SIGNATURE);
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn f32_tensor(values: &[f32]) -> Tensor {
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap())
}

fn put(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Writes a reduced bundle as the minimiser lays it out: the reference's output, chaos-panic's
/// (with an exact match, small and large errors and a NaN) and one of another shape.
fn plant_bundle(finding: &Path) {
    let reduced = finding.join("reduced");
    let expected = f32_tensor(&[0.0, 1.0, -2.0, 3.5e-3, 100.0, 7.0]);
    let actual = f32_tensor(&[0.0, 1.0001, -2.5, 3.4e-3, 100.0, f32::NAN]);
    put(&reduced.join("expected/out.npy"), &to_npy_bytes(&expected).unwrap());
    put(
        &reduced.join("actual/chaos-panic/out.npy"),
        &to_npy_bytes(&actual).unwrap(),
    );
    put(
        &reduced.join("actual/tract/out.npy"),
        &to_npy_bytes(&f32_tensor(&[1.0, 2.0])).unwrap(),
    );
    let report = serde_json::json!({
        "signature": SIGNATURE,
        "nodes_after": 1,
        "input_elements": 6,
        "runtimes": ["chaos-panic"],
    });
    put(&reduced.join("report.json"), report.to_string().as_bytes());
}

fn only_finding_dir(dir: &Path, report: &CampaignReport) -> PathBuf {
    assert_eq!(report.rows.len(), 1, "{report:?}");
    dir.join(&report.rows[0].dir)
}

#[test]
fn a_campaign_without_reduced_bundles_renders_rows_and_says_so() {
    let dir = campaign_dir();
    let out = tempfile::tempdir().unwrap();
    let report = campaign_report::write(dir.path(), out.path()).unwrap();

    let row = &report.rows[0];
    assert_eq!(row.signature, SIGNATURE);
    assert_eq!(row.runtimes, ["chaos-panic"]);
    assert!(row.count >= 1 && row.reduced.is_none(), "{row:?}");
    assert!(row.dir.starts_with("findings/abs-"), "{}", row.dir);
    assert_eq!(report.totals.cases_run, 20);
    assert_eq!(report.totals.finding_cases, row.count);

    let md = read(&out.path().join("report.md"));
    assert!(md.contains("cases run: 20"), "{md}");
    let table_row = md
        .lines()
        .find(|l| l.contains(SIGNATURE))
        .expect("a row with the signature");
    let cells: Vec<&str> = table_row.split(" | ").collect();
    assert_eq!(cells[2], row.count.to_string(), "{table_row}");
    assert_eq!(cells[3], row.first_case.to_string(), "{table_row}");
    assert_eq!(cells[4], "not reduced", "{table_row}");
    assert!(
        table_row.contains(&format!("[{}]({}/)", row.dir, row.dir)),
        "{table_row}"
    );

    let json: serde_json::Value = serde_json::from_str(&read(&out.path().join("report.json"))).unwrap();
    assert_eq!(json["rows"][0]["signature"], SIGNATURE);
    assert_eq!(json["rows"][0]["count"], row.count);
    assert!(json["rows"][0]["reduced"].is_null());
    assert_eq!(json["totals"]["distinct_findings"], 1);

    let html = read(&out.path().join("index.html"));
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains(SIGNATURE));
    assert!(html.contains("no reduced bundle"));
    assert!(!html.contains("<svg"), "no plots without a bundle");
    assert!(!html.contains("<script"), "a static page");
    assert_eq!(html.matches("<section").count(), html.matches("</section>").count());
}

#[test]
fn a_reduced_bundle_gives_the_size_and_inline_error_plots() {
    let dir = campaign_dir();
    let before = campaign_report::build(dir.path()).unwrap();
    plant_bundle(&only_finding_dir(dir.path(), &before));
    let out = tempfile::tempdir().unwrap();
    let report = campaign_report::write(dir.path(), out.path()).unwrap();

    let reduced = report.rows[0].reduced.as_ref().expect("the bundle is read");
    assert_eq!((reduced.nodes, reduced.input_elements), (1, 6));
    assert_eq!(reduced.runtimes, ["chaos-panic"]);
    let output = &reduced.outputs[0];
    assert_eq!((output.output.as_str(), output.dtype.as_str()), ("out", "f32"));
    let [chaos, tract] = &output.runtimes[..] else {
        panic!("{output:?}")
    };
    assert_eq!(
        (chaos.runtime.as_str(), chaos.finite, chaos.non_finite),
        ("chaos-panic", 5, 1)
    );
    approx::assert_relative_eq!(chaos.max_abs_error.unwrap(), 0.5);
    assert!(chaos.note.is_none());
    assert!(tract.note.as_deref().unwrap().contains("shape [2]"), "{tract:?}");

    let md = read(&out.path().join("report.md"));
    assert!(md.contains("| 1 node, 6 input elements |"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&read(&out.path().join("report.json"))).unwrap();
    assert_eq!(json["rows"][0]["reduced"]["nodes"], 1);
    assert_eq!(json["rows"][0]["reduced"]["input_elements"], 6);

    let html = read(&out.path().join("index.html"));
    assert!(html.contains("1 node, 6 input elements"));
    let section = &html[html.find("<section id=\"finding-1\"").expect("the finding's section")..];
    assert_eq!(section.matches("<svg").count(), 2, "a scatter and a histogram");
    assert_eq!(section.matches("</svg>").count(), 2);
    assert!(
        section.contains("1 non-finite skipped"),
        "the NaN is counted in the caption"
    );
    assert!(section.contains("tract: not compared (shape [2]"), "{section}");
    assert!(!html.contains("no reduced bundle"));
    for external in ["<script", "<link", "<img", "src=\""] {
        assert!(!html.contains(external), "no scripts or external resources: {external}");
    }
}

#[test]
fn rendering_is_deterministic_and_links_resolve_from_inside_the_campaign() {
    let dir = campaign_dir();
    let report = campaign_report::build(dir.path()).unwrap();
    plant_bundle(&only_finding_dir(dir.path(), &report));
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    campaign_report::write(dir.path(), a.path()).unwrap();
    campaign_report::write(dir.path(), b.path()).unwrap();
    for file in ["report.md", "report.json", "index.html"] {
        let (first, second) = (read(&a.path().join(file)), read(&b.path().join(file)));
        assert!(first == second, "{file} differs between runs");
        let tmp = std::env::temp_dir();
        assert!(!first.contains(tmp.to_str().unwrap()), "{file} holds an absolute path");
    }

    let inside = dir.path().join("report");
    campaign_report::write(dir.path(), &inside).unwrap();
    let dir_name = &report.rows[0].dir;
    let html = read(&inside.join("index.html"));
    assert!(
        html.contains(&format!("href=\"../{dir_name}/\"")),
        "links climb out of report/"
    );
    assert!(inside.join("../").join(dir_name).join("finding.json").is_file());
}

#[test]
fn errors_name_the_offending_file() {
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let e = campaign_report::write(empty.path(), out.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("state.json") && e.contains("campaign directory"), "{e}");

    let dir = campaign_dir();
    let report = campaign_report::build(dir.path()).unwrap();
    let bundle_report = only_finding_dir(dir.path(), &report).join("reduced/report.json");
    put(&bundle_report, b"{\"nodes_after\": \"many\"}");
    let e = campaign_report::write(dir.path(), out.path()).unwrap_err().to_string();
    assert!(e.contains(&bundle_report.display().to_string()), "{e}");

    put(&bundle_report, b"{\"nodes_after\": 1, \"input_elements\": 2}");
    let npy = bundle_report.with_file_name("expected").join("out.npy");
    put(&npy, b"not numpy");
    let e = campaign_report::write(dir.path(), out.path()).unwrap_err().to_string();
    assert!(e.contains(&npy.display().to_string()), "{e}");
}
