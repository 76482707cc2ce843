//! `conformance`: the ONNX backend node tests on each runtime, checked against strict
//! per-runtime expected-failure (xfail) lists.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;
use sysnoise_boundary::{DType, Model, Runtime, Tensor, tensor_from_pb};

use crate::error::EngineError;
use crate::guard::guarded;

/// The `onnx` package version whose node tests are the suite (pinned in scripts/requirements.txt).
pub const ONNX_VERSION: &str = "1.23.2";

/// ONNX's own comparison tolerance when a case does not set one.
const DEFAULT_RTOL: f64 = 1e-3;
const DEFAULT_ATOL: f64 = 1e-7;

pub struct ConformanceOptions {
    pub cases: PathBuf,
    pub xfail_dir: PathBuf,
    pub filter: Option<String>,
    pub progress: bool,
}

/// sysnoise's cache: `$SYSNOISE_CACHE_DIR`, else `<user cache dir>/sysnoise`.
pub fn cache_root() -> PathBuf {
    std::env::var_os("SYSNOISE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|c| c.join("sysnoise")))
        .unwrap_or_else(|| PathBuf::from(".cache/sysnoise"))
}

/// `$SYSNOISE_NODE_TESTS`, else `<cache>/onnx-node-tests/onnx-<version>`.
pub fn default_cases_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SYSNOISE_NODE_TESTS") {
        return dir.into();
    }
    cache_root()
        .join("onnx-node-tests")
        .join(format!("onnx-{ONNX_VERSION}"))
}

/// The project's `cases/xfail`.
pub fn default_xfail_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/xfail")
}

/// One expected failure: a regex over case names and why the runtime fails it.
#[derive(Clone, Debug)]
pub struct XfailEntry {
    pub pattern: Regex,
    pub reason: String,
    pub line: usize,
}

/// Whether an xfail entry's `[when CONDITION]` holds on this machine: `no-locale NAME` (the C
/// library cannot load the locale, as C++'s `std::locale(NAME)` would fail), `cpu-has FEATURE`
/// or `cpu-lacks FEATURE` (a `/proc/cpuinfo` feature name, see `sysnoise runtimes`).
fn condition_holds(condition: &str) -> Result<bool, String> {
    let (kind, argument) = condition
        .split_once(' ')
        .map_or((condition, ""), |(k, a)| (k, a.trim()));
    match kind {
        "no-locale" => Ok(!locale_available(argument)),
        "cpu-has" => Ok(sysnoise_boundary::Cpu::here().has(argument)),
        "cpu-lacks" => Ok(!sysnoise_boundary::Cpu::here().has(argument)),
        other => Err(format!(
            "unknown condition '{other}' (known: no-locale NAME, cpu-has FEATURE, cpu-lacks FEATURE)"
        )),
    }
}

/// Whether the C library can load locale `name`.
fn locale_available(name: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(name) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated name and no base locale; the result is freed at once.
    unsafe {
        let locale = libc::newlocale(libc::LC_ALL_MASK, name.as_ptr(), std::ptr::null_mut());
        if locale.is_null() {
            false
        } else {
            libc::freelocale(locale);
            true
        }
    }
}

/// Parses `REGEX  # reason` lines (blank lines and `#` comments skipped). The regex must
/// match the whole case name. Every entry needs a reason. An entry that holds only on some
/// machines says when: `REGEX  [when CONDITION]  # reason` (see [`condition_holds`]); where
/// the condition does not hold the entry is left out, so the case must pass there.
pub fn parse_xfail(text: &str, file: &Path) -> Result<Vec<XfailEntry>, EngineError> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |m: String| EngineError::Input(format!("{}:{}: {m}", file.display(), i + 1));
        let (pattern, reason) = line.split_once(" #").ok_or_else(|| bad("missing '# reason'".into()))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(bad("empty reason".into()));
        }
        let mut pattern = pattern.trim();
        if let Some(start) = pattern.rfind("[when ").filter(|_| pattern.ends_with(']')) {
            let condition = &pattern[start + "[when ".len()..pattern.len() - 1];
            if !condition_holds(condition.trim()).map_err(bad)? {
                continue;
            }
            pattern = pattern[..start].trim();
        }
        let pattern = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| bad(format!("bad regex: {e}")))?;
        entries.push(XfailEntry {
            pattern,
            reason: reason.to_string(),
            line: i + 1,
        });
    }
    Ok(entries)
}

/// What one runtime did on one case.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", content = "message", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    /// Ran, but an output differs from the expected one.
    Fail(String),
    /// The runtime failed on a model it claims to support.
    Error(String),
    /// The runtime declined an op, dtype or attribute: not counted either way.
    Unsupported(String),
}

/// A node test on disk.
struct Case {
    name: String,
    dir: PathBuf,
    rtol: f64,
    atol: f64,
}

/// A case is runnable when all its graph inputs and outputs are tensors of a dtype sysnoise
/// carries (sequences, maps, optionals and the 2/4-bit types are set aside).
fn runnable(model: &Model) -> bool {
    model
        .inputs()
        .iter()
        .chain(model.outputs().iter())
        .all(|io| !io.non_tensor && io.dtype.is_some())
}

type DataSet = (Vec<(String, Tensor)>, Vec<Tensor>);

fn load_data_sets(case: &Case, model: &Model) -> Result<Vec<DataSet>, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&case.dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let read = |dir: &Path, file: String| -> Result<Tensor, String> {
        let bytes = std::fs::read(dir.join(&file)).map_err(|e| format!("{file}: {e}"))?;
        tensor_from_pb(&bytes)
            .map(|(_, t)| t)
            .map_err(|e| format!("{file}: {e}"))
    };
    let names: Vec<String> = model.inputs().into_iter().map(|i| i.name).collect();
    let outputs = model.outputs().len();
    dirs.iter()
        .map(|dir| {
            let inputs = names
                .iter()
                .enumerate()
                .map(|(i, n)| Ok((n.clone(), read(dir, format!("input_{i}.pb"))?)))
                .collect::<Result<_, String>>()?;
            let expected = (0..outputs)
                .map(|i| read(dir, format!("output_{i}.pb")))
                .collect::<Result<_, _>>()?;
            Ok((inputs, expected))
        })
        .collect()
}

/// ONNX's check: same dtype and shape, `|a - e| <= atol + rtol·|e|` (NaN equals NaN),
/// integers and bools exact.
fn check_output(name: &str, actual: &Tensor, expected: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if actual.dtype() != expected.dtype() || actual.shape() != expected.shape() {
        return Err(format!(
            "output '{name}': got {} {:?}, expected {} {:?}",
            actual.dtype(),
            actual.shape(),
            expected.dtype(),
            expected.shape()
        ));
    }
    let rtol = if expected.dtype() == DType::BF16 {
        rtol.max(1.0 / 64.0)
    } else {
        rtol
    };
    let (a, e) = (actual.to_f64_vec(), expected.to_f64_vec());
    let float = expected.dtype().is_float();
    let mut bad = 0usize;
    let mut first = None;
    for (i, (&x, &y)) in a.iter().zip(&e).enumerate() {
        let ok = (x.is_nan() && y.is_nan()) || x == y || (float && (x - y).abs() <= atol + rtol * y.abs());
        if !ok {
            bad += 1;
            first.get_or_insert((i, x, y));
        }
    }
    match first {
        None => Ok(()),
        Some((i, x, y)) => Err(format!(
            "output '{name}': {bad} of {} elements differ; first at {i}: got {x}, expected {y}",
            a.len()
        )),
    }
}

fn run_case(runtime: &dyn Runtime, case: &Case, model: &Model, data: &[DataSet]) -> Outcome {
    let mut session = match guarded(runtime.name(), || runtime.prepare(model)) {
        Ok(s) => s,
        Err(e) if e.is_unsupported() => return Outcome::Unsupported(e.to_string()),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    for (inputs, expected) in data {
        let outputs = match guarded(runtime.name(), || session.run(inputs)) {
            Ok(o) => o,
            Err(e) if e.is_unsupported() => return Outcome::Unsupported(e.to_string()),
            Err(e) => return Outcome::Error(e.to_string()),
        };
        if outputs.len() != expected.len() {
            return Outcome::Fail(format!("{} outputs, expected {}", outputs.len(), expected.len()));
        }
        for ((name, got), want) in outputs.iter().zip(expected) {
            if let Err(m) = check_output(name, got, want, case.rtol, case.atol) {
                return Outcome::Fail(m);
            }
        }
    }
    Outcome::Pass
}

/// One runtime's results.
#[derive(Clone, Debug, Serialize)]
pub struct RuntimeResult {
    pub name: String,
    pub version: String,
    pub runnable: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub unsupported: usize,
    /// Failures and errors listed in the xfail file.
    pub expected_failures: usize,
    /// Failures and errors not listed: each fails the run.
    pub unexpected_failures: BTreeMap<String, Outcome>,
    /// Listed cases that now pass: each fails the run until the list is updated.
    pub unexpected_passes: Vec<String>,
    /// Every failing case (listed or not).
    pub failures: BTreeMap<String, Outcome>,
    /// Xfail entries that matched no case of this run.
    pub unused_xfail_lines: Vec<usize>,
    /// Cases the runtime declined, with its reason.
    pub unsupported_cases: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConformanceResult {
    pub onnx_version: String,
    pub cases: usize,
    pub runnable: usize,
    pub runtimes: Vec<RuntimeResult>,
}

impl ConformanceResult {
    /// True when every failure is expected and every expected failure still fails.
    pub fn ok(&self) -> bool {
        self.runtimes
            .iter()
            .all(|r| r.unexpected_failures.is_empty() && r.unexpected_passes.is_empty())
    }
}

fn read_tolerances(dir: &Path) -> BTreeMap<String, (f64, f64)> {
    let text = std::fs::read_to_string(dir.join("tolerances.json")).unwrap_or_default();
    let raw: BTreeMap<String, (f64, f64)> = serde_json::from_str(&text).unwrap_or_default();
    raw
}

fn list_cases(options: &ConformanceOptions) -> Result<Vec<Case>, EngineError> {
    let dir = &options.cases;
    let entries = std::fs::read_dir(dir).map_err(|_| {
        EngineError::Input(format!(
            "ONNX node tests not found in {}: run scripts/setup.sh (it materialises them from the onnx=={ONNX_VERSION} wheel)",
            dir.display()
        ))
    })?;
    let filter = match &options.filter {
        Some(f) => Some(Regex::new(f).map_err(|e| EngineError::Usage(format!("--filter: {e}")))?),
        None => None,
    };
    let tolerances = read_tolerances(dir);
    let mut cases: Vec<Case> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            if filter.as_ref().is_some_and(|f| !f.is_match(&name)) {
                return None;
            }
            let (rtol, atol) = tolerances.get(&name).copied().unwrap_or((DEFAULT_RTOL, DEFAULT_ATOL));
            Some(Case {
                name,
                dir: p,
                rtol,
                atol,
            })
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

fn load_xfail(options: &ConformanceOptions, runtime: &str) -> Result<Vec<XfailEntry>, EngineError> {
    let path = options.xfail_dir.join(format!("{runtime}.txt"));
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_xfail(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(EngineError::io(&path, e)),
    }
}

/// Runs every runnable case on every runtime and checks the xfail lists.
pub fn run(runtimes: &[Box<dyn Runtime>], options: &ConformanceOptions) -> Result<ConformanceResult, EngineError> {
    let cases = list_cases(options)?;
    let total = cases.len();
    let loaded: Vec<(Case, Model, Vec<DataSet>)> = cases
        .into_par_iter()
        .filter_map(|case| {
            let model = Model::load(&case.dir.join("model.onnx")).ok()?;
            if !runnable(&model) {
                return None;
            }
            let data = load_data_sets(&case, &model).ok()?;
            Some((case, model, data))
        })
        .collect();
    let bar = if options.progress {
        let bar = ProgressBar::new((loaded.len() * runtimes.len()) as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} conformance {bar:30} {pos}/{len} cases·runtimes {per_sec} eta {eta}",
            )
            .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut results = Vec::new();
    for runtime in runtimes {
        let xfail = load_xfail(options, runtime.name())?;
        let outcomes: Vec<(String, Outcome)> = loaded
            .par_iter()
            .map(|(case, model, data)| {
                let outcome = run_case(runtime.as_ref(), case, model, data);
                bar.inc(1);
                (case.name.clone(), outcome)
            })
            .collect();
        results.push(tally(runtime.as_ref(), &xfail, outcomes));
    }
    bar.finish_and_clear();
    Ok(ConformanceResult {
        onnx_version: ONNX_VERSION.to_string(),
        cases: total,
        runnable: loaded.len(),
        runtimes: results,
    })
}

fn tally(runtime: &dyn Runtime, xfail: &[XfailEntry], outcomes: Vec<(String, Outcome)>) -> RuntimeResult {
    let mut result = RuntimeResult {
        name: runtime.name().to_string(),
        version: runtime.version(),
        runnable: outcomes.len(),
        passed: 0,
        failed: 0,
        errors: 0,
        unsupported: 0,
        expected_failures: 0,
        unexpected_failures: BTreeMap::new(),
        unexpected_passes: Vec::new(),
        failures: BTreeMap::new(),
        unused_xfail_lines: Vec::new(),
        unsupported_cases: BTreeMap::new(),
    };
    let mut used = vec![false; xfail.len()];
    for (name, outcome) in outcomes {
        let listed = xfail.iter().position(|x| x.pattern.is_match(&name));
        if let Some(i) = listed {
            used[i] = true;
        }
        match &outcome {
            Outcome::Pass => {
                result.passed += 1;
                if listed.is_some() {
                    result.unexpected_passes.push(name);
                }
            }
            Outcome::Unsupported(reason) => {
                result.unsupported += 1;
                result.unsupported_cases.insert(name, reason.clone());
            }
            Outcome::Fail(_) | Outcome::Error(_) => {
                if matches!(outcome, Outcome::Fail(_)) {
                    result.failed += 1;
                } else {
                    result.errors += 1;
                }
                if listed.is_some() {
                    result.expected_failures += 1;
                } else {
                    result.unexpected_failures.insert(name.clone(), outcome.clone());
                }
                result.failures.insert(name, outcome);
            }
        }
    }
    result.unused_xfail_lines = xfail
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(x, _)| x.line)
        .collect();
    result
}

/// The human summary: a table of counts, then what is unexpected.
pub fn render(result: &ConformanceResult, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ONNX {} backend node tests: {} cases, {} runnable (others have sequence/map/optional or 2/4-bit I/O)",
        result.onnx_version, result.cases, result.runnable
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "runtime",
        "version",
        "pass",
        "fail",
        "error",
        "unsupported",
        "xfail",
        "unexpected",
    ]);
    for r in &result.runtimes {
        table.add_row([
            r.name.clone(),
            r.version.clone(),
            format!("{}/{}", r.passed, r.runnable),
            r.failed.to_string(),
            r.errors.to_string(),
            r.unsupported.to_string(),
            r.expected_failures.to_string(),
            (r.unexpected_failures.len() + r.unexpected_passes.len()).to_string(),
        ]);
    }
    let _ = writeln!(out, "{table}");
    for r in &result.runtimes {
        for (case, outcome) in &r.unexpected_failures {
            let _ = writeln!(out, "UNEXPECTED {} {case}: {}", r.name, describe(outcome));
        }
        for case in &r.unexpected_passes {
            let _ = writeln!(
                out,
                "UNEXPECTED PASS {} {case}: remove it from cases/xfail/{}.txt",
                r.name, r.name
            );
        }
        if verbose {
            for (case, outcome) in r
                .failures
                .iter()
                .filter(|(c, _)| !r.unexpected_failures.contains_key(*c))
            {
                let _ = writeln!(out, "xfail {} {case}: {}", r.name, describe(outcome));
            }
        }
        if !r.unused_xfail_lines.is_empty() {
            let _ = writeln!(
                out,
                "note: cases/xfail/{}.txt lines {:?} matched no case in this run",
                r.name, r.unused_xfail_lines
            );
        }
    }
    let _ = writeln!(
        out,
        "{}",
        if result.ok() {
            "conformance: ok"
        } else {
            "conformance: FAILED (see UNEXPECTED lines)"
        }
    );
    out
}

/// Rewrites `<xfail_dir>/<runtime>.txt` for every runtime in `result`: existing entries that
/// still match a failing case keep their reason; entries that no longer fail are dropped;
/// new failures are appended by exact name with the runtime's message as the reason.
pub fn update_xfail(result: &ConformanceResult, options: &ConformanceOptions) -> Result<Vec<PathBuf>, EngineError> {
    let mut written = Vec::new();
    for r in &result.runtimes {
        let path = options.xfail_dir.join(format!("{}.txt", r.name));
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let entries = parse_xfail(&old, &path)?;
        let mut out = format!(
            "# Expected failures of '{}' on the ONNX {} node tests: `REGEX  # reason`, one per line.\n\
             # Checked strictly by `sysnoise conformance`: a listed case that passes fails the run.\n\
             # `REGEX  [when CONDITION]  # reason` holds only where CONDITION does (no-locale NAME, cpu-has F, cpu-lacks F).\n",
            r.name, result.onnx_version
        );
        let mut covered = std::collections::BTreeSet::new();
        for (line_no, raw) in old.lines().enumerate() {
            let Some(entry) = entries.iter().find(|e| e.line == line_no + 1) else {
                // An entry for other machines (its condition does not hold here) stays as it is.
                if !raw.trim_start().starts_with('#') && raw.contains("[when ") {
                    out.push_str(raw.trim());
                    out.push('\n');
                }
                continue;
            };
            let failing: Vec<&String> = r.failures.keys().filter(|c| entry.pattern.is_match(c)).collect();
            if !failing.is_empty() {
                covered.extend(failing);
                out.push_str(raw.trim());
                out.push('\n');
            }
        }
        for (case, outcome) in &r.failures {
            if !covered.contains(case) {
                let _ = writeln!(
                    out,
                    "{}  # {}",
                    regex::escape(case),
                    describe(outcome).replace('#', "No.")
                );
            }
        }
        std::fs::create_dir_all(&options.xfail_dir).map_err(|e| EngineError::io(&options.xfail_dir, e))?;
        crate::atomic::write(&path, out.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

fn describe(outcome: &Outcome) -> String {
    let text = match outcome {
        Outcome::Pass => "pass".to_string(),
        Outcome::Fail(m) => format!("fail: {m}"),
        Outcome::Error(m) => format!("error: {m}"),
        Outcome::Unsupported(m) => format!("unsupported: {m}"),
    };
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect::<String>()
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfail_lines_need_a_reason_and_match_whole_names() {
        let entries = parse_xfail("# comment\n\ntest_foo_.*  # foo is broken\n", Path::new("x.txt")).unwrap();
        assert!(entries[0].pattern.is_match("test_foo_bar"));
        assert!(!entries[0].pattern.is_match("xtest_foo_bar"));
        assert_eq!(entries[0].reason, "foo is broken");
        let err = parse_xfail("test_bar\n", Path::new("x.txt")).unwrap_err().to_string();
        assert!(err.contains("x.txt:1: missing '# reason'"), "{err}");
    }

    /// Conditions decide per machine, from the machine: the expectation follows what it has.
    #[test]
    fn xfail_conditions_follow_this_machine() {
        let cpu = sysnoise_boundary::Cpu::here();
        let text = "a  [when cpu-has avx2]  # needs avx2\nb  [when cpu-lacks avx2]  # lacks it\n\
                    c  [when no-locale sysnoise_NO.SUCH-LOCALE]  # never loads\nd  [when no-locale C]  # C always loads\n";
        let names: Vec<String> = parse_xfail(text, Path::new("x.txt"))
            .unwrap()
            .iter()
            .map(|e| e.pattern.as_str().to_string())
            .collect();
        let expected_cpu = if cpu.has("avx2") { "^(?:a)$" } else { "^(?:b)$" };
        assert_eq!(names, [expected_cpu, "^(?:c)$"]);
        let err = parse_xfail("x  [when moon-phase full]  # no\n", Path::new("x.txt")).unwrap_err();
        assert!(err.to_string().contains("unknown condition 'moon-phase'"), "{err}");
    }

    #[test]
    fn onnx_tolerance_rule() {
        let e = Tensor::from_f64(DType::F32, &ndarray::arr1(&[1.0, f64::NAN]).into_dyn());
        let a = Tensor::from_f64(DType::F32, &ndarray::arr1(&[1.0009, f64::NAN]).into_dyn());
        assert!(check_output("y", &a, &e, 1e-3, 1e-7).is_ok());
        let b = Tensor::from_f64(DType::F32, &ndarray::arr1(&[1.002, f64::NAN]).into_dyn());
        assert!(
            check_output("y", &b, &e, 1e-3, 1e-7)
                .unwrap_err()
                .contains("1 of 2 elements differ")
        );
    }
}
