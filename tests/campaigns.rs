//! Every campaign in cases/campaigns/ runs against the runtimes it names; its summary (cases
//! run, findings by signature) is snapshotted, so a runtime upgrade that fixes or introduces a
//! divergence shows up as a snapshot diff.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use sysnoise::fuzz::{Campaign, RunOptions, run};

#[test]
fn every_campaign_in_cases_runs_and_matches_its_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/campaigns");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no campaigns in {}", dir.display());
    for file in files {
        let campaign = Campaign::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let options = RunOptions {
            worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_sysnoise")),
            jobs: 2,
            batch: sysnoise::fuzz::DEFAULT_BATCH,
            time_limit: None,
            out: None,
            progress: false,
            stop: Arc::new(AtomicBool::new(false)),
        };
        let summary = run(&campaign, &options).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(summary.cases_run, campaign.cases, "{}", file.display());
        snapshot!(format!("campaign_{}", campaign.name), summary.render());
    }
}
