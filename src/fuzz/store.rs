//! The campaign's output directory: one folder per distinct finding, an index and a resume
//! state, all written atomically (a temporary name, then a rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sysnoise_boundary::{Model, NamedTensors};

use super::signature::Signature;
use crate::atomic;
use crate::error::EngineError;

/// What the index records of one distinct finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    pub signature: Signature,
    /// How many cases showed this signature.
    pub count: u64,
    /// The first case that showed it (replay with the campaign seed).
    pub first_case: u64,
    /// `describe()` of that case.
    pub example: String,
    /// Directory (relative to the campaign dir) with the reproducer.
    pub dir: String,
    /// Per-runtime messages and metrics of the first case, for humans.
    pub details: BTreeMap<String, String>,
    /// For a multi-op case: the node the divergence was attributed to (its reproducer is that
    /// node alone, fed the reference's values; the whole graph is kept in `graph/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culprit_node: Option<String>,
}

/// Where the campaign stands, for `--resume` (or a plain re-run with the same out dir).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Fingerprint of the campaign settings that make cases (seed, ops, dtypes, regime...).
    pub fingerprint: String,
    /// The runtimes compared (what `sysnoise reduce` re-runs a finding on).
    #[serde(default)]
    pub runtimes: Vec<String>,
    /// Every case below this index has been run.
    pub next_case: u64,
    pub cases_run: u64,
    pub cases_skipped: u64,
    #[serde(default)]
    pub cases_undefined: u64,
    /// Multi-op cases whose numeric divergence no single node shows (accumulated rounding).
    #[serde(default)]
    pub cases_unattributed: u64,
    pub findings: Vec<FindingRecord>,
}

/// The state of the campaign in `dir`, whatever campaign it is; `None` when there is none.
pub fn read_state(dir: &Path) -> Result<Option<State>, EngineError> {
    let path = dir.join("state.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| EngineError::Input(format!("{}: unreadable campaign state ({e})", path.display())))
}

/// The campaign directory.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, EngineError> {
        std::fs::create_dir_all(dir.join("findings")).map_err(|e| EngineError::io(dir, e))?;
        Ok(Store { dir: dir.to_path_buf() })
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The saved state, when it belongs to a campaign with this fingerprint.
    pub fn load_state(&self, fingerprint: &str) -> Result<Option<State>, EngineError> {
        let Some(state) = read_state(&self.dir)? else {
            return Ok(None);
        };
        if state.fingerprint != fingerprint {
            return Err(EngineError::Usage(format!(
                "{} holds a different campaign (other seed, ops or runtimes): use another --out directory",
                self.dir.display()
            )));
        }
        Ok(Some(state))
    }

    pub fn save_state(&self, state: &State) -> Result<(), EngineError> {
        let json = serde_json::to_vec_pretty(state).expect("state serialises");
        atomic::write(&self.state_path(), &json)
    }

    /// Writes a finding's reproducer: `model.onnx`, `inputs/input_<i>.pb`, `finding.json`,
    /// and for a multi-op case the whole graph in `graph/` (same layout). The folder appears
    /// whole or not at all.
    pub fn write_finding(
        &self,
        record: &FindingRecord,
        model: &Model,
        inputs: &NamedTensors,
        graph: Option<(&Model, &NamedTensors)>,
    ) -> Result<(), EngineError> {
        let final_dir = self.dir.join(&record.dir);
        if final_dir.exists() {
            return Ok(());
        }
        let parent = final_dir.parent().expect("findings/<id>");
        let tmp = crate::atomic::temporary_dir_in(parent, ".tmp-")?;
        let io = |p: &Path, e| EngineError::io(p, e);
        std::fs::write(tmp.path().join("model.onnx"), model.to_bytes()).map_err(|e| io(tmp.path(), e))?;
        let input_dir = tmp.path().join("inputs");
        std::fs::create_dir(&input_dir).map_err(|e| io(&input_dir, e))?;
        crate::inputs::write_pb_dir(&input_dir, inputs)?;
        if let Some((graph_model, graph_inputs)) = graph {
            let graph_dir = tmp.path().join("graph");
            let graph_input_dir = graph_dir.join("inputs");
            std::fs::create_dir_all(&graph_input_dir).map_err(|e| io(&graph_input_dir, e))?;
            std::fs::write(graph_dir.join("model.onnx"), graph_model.to_bytes()).map_err(|e| io(&graph_dir, e))?;
            crate::inputs::write_pb_dir(&graph_input_dir, graph_inputs)?;
        }
        let json = serde_json::to_vec_pretty(record).expect("record serialises");
        std::fs::write(tmp.path().join("finding.json"), json).map_err(|e| io(tmp.path(), e))?;
        let tmp_path = tmp.keep();
        std::fs::rename(&tmp_path, &final_dir).map_err(|e| io(&final_dir, e))
    }
}
