//! The benchmark's labelled text-recognition task: PP-OCRv4 recognition (CTC) on rendered text lines, Δ = drop of 1 − CER.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, Array4, ArrayView2, s};
use sysnoise_boundary::Model;

use super::Batch;
use super::task::{Scores, Task};
use crate::error::EngineError;
use crate::noise::system::{PostProcess, Preprocess};

/// The recogniser's input height (PaddleOCR's `rec_image_shape` 3 × 48 × 320).
pub const INPUT_HEIGHT: usize = 48;
/// The padded input width: every line is resized to height 48 and at most this width.
pub const INPUT_WIDTH: usize = 320;
/// Lines kept aside (the last ones) to calibrate INT8 quantisation.
pub const CALIBRATION_LINES: usize = 32;
/// The CTC blank: class 0.
pub const BLANK: usize = 0;

const SETUP_HINT: &str = "run scripts/setup.sh, which extracts PP-OCRv4 recognition from the PyPI \
     wheel rapidocr-onnxruntime and renders the text lines into the cache";

/// One rendered text line: its file name, JPEG bytes and exact text.
struct Line {
    name: String,
    jpeg: Vec<u8>,
    label: String,
}

/// PP-OCRv4's text recogniser (`ch_PP-OCRv4_rec_infer.onnx`, from the PyPI wheel
/// rapidocr-onnxruntime 1.4.4) on single text lines rendered by `scripts/render_ocr_lines.py`
/// (exact labels, JPEG 4:2:0). PaddleOCR/RapidOCR pre-processing: height 48 keeping the aspect
/// ratio (width at most 320), `(x / 255 − 0.5) / 0.5`, zero padding on the right to 320.
pub struct OcrLines {
    model: Model,
    /// The CTC classes: blank, the model's dictionary, space.
    classes: Vec<String>,
    evaluation: Vec<Line>,
    calibration: Vec<Line>,
}

impl OcrLines {
    /// Loads the recogniser and the first `limit` lines of `labels.txt` from `dir/ocr` (`dir`:
    /// the benchmark's assets, `<cache>/sysnoise-bench`); the last [`CALIBRATION_LINES`] lines
    /// are kept for calibration.
    pub fn load(dir: &Path, limit: usize) -> Result<OcrLines, EngineError> {
        let ocr = dir.join("ocr");
        let model_path = ocr.join("rec.onnx");
        let model = super::task::load_asset_model(&model_path, SETUP_HINT)?;
        let classes = ctc_classes(&model).ok_or_else(|| {
            EngineError::Input(format!(
                "{}: no `character` dictionary in the model's metadata — {SETUP_HINT}",
                model_path.display()
            ))
        })?;
        let labels_path = ocr.join("labels.txt");
        let labels = std::fs::read_to_string(&labels_path)
            .map_err(|e| EngineError::Input(format!("{}: {e} — {SETUP_HINT}", labels_path.display())))?;
        let entries: Vec<(&str, &str)> = labels
            .lines()
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                l.split_once('\t').ok_or_else(|| {
                    EngineError::Input(format!(
                        "{}:{}: expected `filename<TAB>text`",
                        labels_path.display(),
                        i + 1
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        if entries.len() <= CALIBRATION_LINES {
            return Err(EngineError::Input(format!(
                "{}: {} lines, need more than {CALIBRATION_LINES} — {SETUP_HINT}",
                labels_path.display(),
                entries.len()
            )));
        }
        let read = |(name, label): &(&str, &str)| -> Result<Line, EngineError> {
            let path: PathBuf = ocr.join(name);
            let jpeg = std::fs::read(&path)
                .map_err(|e| EngineError::Input(format!("{}: {e} — {SETUP_HINT}", path.display())))?;
            Ok(Line {
                name: (*name).to_string(),
                jpeg,
                label: (*label).to_string(),
            })
        };
        let split = entries.len() - CALIBRATION_LINES;
        let evaluation = entries[..split.min(limit)].iter().map(read).collect::<Result<_, _>>()?;
        let calibration = entries[split..].iter().map(read).collect::<Result<_, _>>()?;
        Ok(OcrLines {
            model,
            classes,
            evaluation,
            calibration,
        })
    }

    /// The CTC classes (blank, the dictionary, space).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The exact text of each evaluation line.
    pub fn labels(&self) -> Vec<&str> {
        self.evaluation.iter().map(|l| l.label.as_str()).collect()
    }

    /// The text the model reads on each item of `outputs` (`[items, T · classes]`).
    pub fn decode_all(&self, outputs: &Array2<f64>) -> Vec<String> {
        outputs
            .outer_iter()
            .map(|row| {
                let steps = per_step(row, self.classes.len());
                ctc_text(&ctc_greedy(steps.view()), &self.classes)
            })
            .collect()
    }

    fn batch(lines: &[Line], preprocess: &Preprocess) -> Result<Array4<f32>, EngineError> {
        super::task::stack_inputs(lines, "text lines", |line| {
            let rgb = preprocess.decode(&line.jpeg, &line.name)?;
            line_input(preprocess, rgb.view())
        })
    }
}

/// PaddleOCR's recognition pre-processing of one decoded line (`[H, W, 3]` RGB): resized to
/// height 48 keeping the aspect ratio (width `min(ceil(48 · w / h), 320)`), normalised to
/// `(x / 255 − 0.5) / 0.5`, zero-padded on the right to `[3, 48, 320]`.
pub fn line_input(preprocess: &Preprocess, rgb: ndarray::ArrayView3<u8>) -> Result<Array3<f32>, EngineError> {
    let (height, width, _) = rgb.dim();
    let ratio = width as f64 / height.max(1) as f64;
    let resized_w = ((INPUT_HEIGHT as f64 * ratio).ceil() as usize).clamp(1, INPUT_WIDTH);
    let resized = preprocess.resize.resize(rgb, resized_w, INPUT_HEIGHT)?;
    let mut chw = Array3::<f32>::zeros((3, INPUT_HEIGHT, INPUT_WIDTH));
    chw.slice_mut(s![.., .., ..resized_w]).assign(
        &resized
            .permuted_axes([2, 0, 1])
            .mapv(|v| (f32::from(v) / 255.0 - 0.5) / 0.5),
    );
    Ok(chw)
}

/// The CTC classes of a PaddleOCR recogniser: blank, the newline-separated dictionary in the
/// model's metadata key `character`, and space (`use_space_char`).
pub fn ctc_classes(model: &Model) -> Option<Vec<String>> {
    let dictionary = model.proto.metadata_props.iter().find(|p| p.key == "character")?;
    let mut classes = vec!["blank".to_string()];
    classes.extend(dictionary.value.split('\n').map(str::to_string));
    classes.push(" ".into());
    Some(classes)
}

/// One item's flattened `[T · classes]` output as `[T, classes]` (a trailing partial step, which a
/// well-formed output never has, is ignored).
fn per_step(row: ndarray::ArrayView1<f64>, classes: usize) -> Array2<f64> {
    let classes = classes.max(1);
    let steps = row.len() / classes;
    Array2::from_shape_vec((steps, classes), row.iter().take(steps * classes).copied().collect())
        .expect("steps × classes values")
}

fn argmax(values: ndarray::ArrayView1<f64>) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(BLANK, |(i, _)| i)
}

/// CTC greedy (best path) decoding of `[T, classes]` probabilities: the most probable class at
/// each step, repeats collapsed, blanks ([`BLANK`]) dropped.
pub fn ctc_greedy(steps: ArrayView2<f64>) -> Vec<usize> {
    let mut decoded = Vec::new();
    let mut previous = None;
    for step in steps.outer_iter() {
        let class = argmax(step);
        if previous != Some(class) && class != BLANK {
            decoded.push(class);
        }
        previous = Some(class);
    }
    decoded
}

/// The text of decoded class indices (indices outside the classes are skipped).
pub fn ctc_text(indices: &[usize], classes: &[String]) -> String {
    indices
        .iter()
        .filter_map(|&i| classes.get(i))
        .map(String::as_str)
        .collect()
}

/// Levenshtein distance between two strings, counted in characters (insertions, deletions and
/// substitutions cost 1). Written out rather than taken from `strsim` (already in the tree
/// through clap) because the crate is not one of sysnoise's direct dependencies and the
/// two-row dynamic programme is a dozen lines.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// `1 − CER` of one line: `1 − min(1, edit_distance / label length)` (an empty label counts as
/// one character).
pub fn line_quality(predicted: &str, label: &str) -> f64 {
    let length = label.chars().count().max(1);
    1.0 - (edit_distance(predicted, label) as f64 / length as f64).min(1.0)
}

impl Task for OcrLines {
    fn name(&self) -> &str {
        "pp-ocr-rec"
    }
    fn model(&self) -> &Model {
        &self.model
    }
    fn item_count(&self) -> usize {
        self.evaluation.len()
    }
    fn inputs(&self, preprocess: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, Self::batch(&self.evaluation, preprocess)?)
    }
    fn calibration(&self, preprocess: &Preprocess) -> Result<Batch, EngineError> {
        Batch::images(&self.model, Self::batch(&self.calibration, preprocess)?)
    }
    fn has_pipeline(&self) -> bool {
        true
    }
    fn quality_metric(&self) -> Option<&'static str> {
        Some("1 - CER")
    }
    /// Flips: lines whose decoded text differs from the training system's; confidence drop: the
    /// mean over steps of the probability of the training system's class at each step, training
    /// minus this configuration; quality: mean `1 − CER` against the labels.
    fn score(&self, training: &Array2<f64>, outputs: &Array2<f64>, _: &PostProcess) -> Scores {
        let classes = self.classes.len();
        let n = training.shape()[0].max(1) as f64;
        let mut flips = 0usize;
        let mut drop = 0.0;
        let mut quality = 0.0;
        for ((t, c), line) in training.outer_iter().zip(outputs.outer_iter()).zip(&self.evaluation) {
            let (t, c) = (per_step(t, classes), per_step(c, classes));
            let reference = ctc_text(&ctc_greedy(t.view()), &self.classes);
            let predicted = ctc_text(&ctc_greedy(c.view()), &self.classes);
            flips += usize::from(reference != predicted);
            let steps = t.shape()[0].max(1) as f64;
            let (mut own, mut now) = (0.0, 0.0);
            for (ts, cs) in t.outer_iter().zip(c.outer_iter()) {
                let top = argmax(ts);
                own += ts[top];
                now += cs.get(top).copied().unwrap_or(0.0);
            }
            drop += (own - now) / steps;
            quality += line_quality(&predicted, &line.label);
        }
        Scores {
            flip_rate: flips as f64 / n,
            confidence_drop: drop / n,
            quality: Some(quality / n),
            extra: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn classes() -> Vec<String> {
        ["blank", "a", "b", "c", " "].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn greedy_decoding_collapses_repeats_and_drops_blanks() {
        // argmax per step: a a blank a b b blank blank c → a, a (a blank separates), b, c.
        let steps = array![
            [0.1, 0.8, 0.05, 0.05, 0.0],
            [0.2, 0.7, 0.05, 0.05, 0.0],
            [0.9, 0.05, 0.05, 0.0, 0.0],
            [0.1, 0.6, 0.2, 0.1, 0.0],
            [0.1, 0.1, 0.7, 0.1, 0.0],
            [0.3, 0.0, 0.4, 0.3, 0.0],
            [0.5, 0.2, 0.2, 0.1, 0.0],
            [0.5, 0.2, 0.2, 0.1, 0.0],
            [0.0, 0.0, 0.1, 0.9, 0.0],
        ];
        let decoded = ctc_greedy(steps.view());
        assert_eq!(decoded, vec![1, 1, 2, 3]);
        assert_eq!(ctc_text(&decoded, &classes()), "aabc");
        // All blank: nothing; a space class decodes to a space.
        assert!(ctc_greedy(array![[1.0, 0.0], [0.9, 0.1]].view()).is_empty());
        assert_eq!(ctc_text(&[1, 4, 2], &classes()), "a b");
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("flaw", "lawn"), 2);
        assert_eq!(edit_distance("offline", "offine"), 1);
        assert_eq!(edit_distance("ab", "ba"), 2);
        // Characters, not bytes: one substitution of a two-byte character.
        assert_eq!(edit_distance("héllo", "hello"), 1);
        assert_eq!(edit_distance("绚丽", "绚"), 1);
    }

    #[test]
    fn line_quality_is_one_minus_capped_cer() {
        assert_eq!(line_quality("tensor 42", "tensor 42"), 1.0);
        assert!((line_quality("tensr 42", "tensor 42") - (1.0 - 1.0 / 9.0)).abs() < 1e-12);
        // More edits than label characters cap at zero.
        assert_eq!(line_quality("a completely different line", "ab"), 0.0);
        assert_eq!(line_quality("", ""), 1.0);
    }

    #[test]
    fn scores_compare_decoded_text_and_step_confidence() {
        let lines = |labels: &[&str]| {
            labels
                .iter()
                .map(|l| Line {
                    name: String::new(),
                    jpeg: Vec::new(),
                    label: l.to_string(),
                })
                .collect()
        };
        let task = OcrLines {
            model: Model::from_proto(Default::default()),
            classes: classes(),
            evaluation: lines(&["ab", "c"]),
            calibration: Vec::new(),
        };
        // Two items × 2 steps × 5 classes. Training reads "ab" and "c"; the configuration reads
        // "ab" (less sure) and "b".
        let training = array![
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.8, 0.2, 1.0, 0.0, 0.0, 0.0, 0.0],
        ];
        let config = array![
            [0.1, 0.5, 0.0, 0.0, 0.4, 0.1, 0.0, 0.5, 0.0, 0.4],
            [0.0, 0.0, 0.6, 0.4, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        ];
        assert_eq!(task.decode_all(&training), vec!["ab", "c"]);
        let scores = task.score(&training, &config, &PostProcess::default());
        assert_eq!(scores.flip_rate, 0.5);
        // Item 1: training mean (1 + 1)/2 = 1, config (0.5 + 0.5)/2 = 0.5 → 0.5.
        // Item 2: training (0.8 + 1)/2 = 0.9, config (0.4 + 1)/2 = 0.7 → 0.2. Mean 0.35.
        assert!((scores.confidence_drop - 0.35).abs() < 1e-12);
        // "ab" exact (1), "b" for "c" (1 − 1/1 = 0).
        assert_eq!(scores.quality, Some(0.5));
        assert_eq!(
            task.score(&training, &training, &PostProcess::default()).quality,
            Some(1.0)
        );
    }
}
