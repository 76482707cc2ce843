//! `bench sysnoise` on the language task: all-MiniLM-L6-v2 on WordNet pairs on real ONNX Runtime, and INT8 dynamic quantisation against onnxruntime.quantization's own.

use crate::common;

use std::collections::HashMap;

use sysnoise::noise::bench::{self, ConfigResult, task, text};
use sysnoise::noise::quantise_dynamic::quantise_dynamic;
use sysnoise::noise::system::{Family, SystemConfig};
use sysnoise::registry;
use sysnoise_boundary::{Model, Tensor};

const PAIRS: usize = 48;

fn load(pairs: usize) -> text::SentencePairs {
    text::SentencePairs::load(&task::assets_dir(), pairs).unwrap_or_else(|e| panic!("{e}"))
}

fn extra(c: &ConfigResult, name: &str) -> f64 {
    c.extra
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{}: no {name} in {:?}", c.label, c.extra))
        .1
}

#[test]
fn the_training_system_retrieves_each_examples_own_definition() {
    let pairs = load(PAIRS);
    let task: &dyn task::Task = &pairs;
    let inputs = task.inputs(&SystemConfig::training().preprocess).unwrap();
    assert_eq!(inputs.items(), 2 * PAIRS);
    let ort = registry::build("ort").unwrap();
    let embeddings = bench::infer(ort.as_ref(), task.model(), &inputs, 2).unwrap();
    assert_eq!(embeddings.shape(), &[2 * PAIRS, 384]);
    for (i, row) in embeddings.outer_iter().enumerate() {
        let norm = row.dot(&row).sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-5,
            "text {i}: the graph L2-normalises, norm {norm}"
        );
    }
    let scores = text::retrieval_scores(&embeddings, &embeddings, PAIRS);
    // Chance is 1 in 48; a model or tokenisation gone wrong lands near it.
    let recall = scores.quality.unwrap();
    assert!(recall > 0.5, "recall@1 {recall}");
}

/// The initialisers of `model` by name.
fn initialisers(model: &Model) -> HashMap<String, Tensor> {
    model
        .graph()
        .initializer
        .iter()
        .map(|t| (t.name.clone(), Tensor::from_proto(t).unwrap()))
        .collect()
}

#[test]
fn dynamic_quantisation_is_onnxruntimes_quantize_dynamic() {
    let pairs = load(8);
    let fp32 = task::Task::model(&pairs);
    let dir = tempfile::tempdir().unwrap();
    let golden = dir.path().join("golden.onnx");
    let source = task::assets_dir().join("minilm/minilm.onnx");
    let run = std::process::Command::new(common::venv_python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/goldens/ort_quantize_dynamic.py"))
        .arg(&source)
        .arg(&golden)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut golden = Model::load(&golden).unwrap();
    let (ours, what) = quantise_dynamic(fp32).unwrap();
    let count = |m: &Model, op: &str| m.graph().node.iter().filter(|n| n.op_type == op).count();
    assert_eq!(what.changes, count(&golden, "MatMulInteger"));
    assert_eq!(count(&ours, "MatMulInteger"), count(&golden, "MatMulInteger"));
    assert_eq!(
        count(&ours, "DynamicQuantizeLinear"),
        count(&golden, "DynamicQuantizeLinear")
    );
    // The same int8 weights and scales under the same names.
    let (ours_init, golden_init) = (initialisers(&ours), initialisers(&golden));
    let mut compared = 0;
    for (name, want) in golden_init
        .iter()
        .filter(|(n, _)| n.ends_with("_quantized") || n.ends_with("_scale"))
    {
        let got = ours_init.get(name).unwrap_or_else(|| panic!("no {name} in ours"));
        assert_eq!(got.dtype(), want.dtype(), "{name}");
        assert_eq!(got.to_f64_vec(), want.to_f64_vec(), "{name}");
        compared += 1;
    }
    assert!(compared >= 2 * what.changes, "{compared} weights and scales compared");
    // And the same outputs on ONNX Runtime, with and without its graph optimisations. ORT's
    // quantiser also stores onnx's shape inference as value_info, which lets ORT's optimiser
    // fuse Add + LayerNormalization into SkipLayerNormalization (other float arithmetic: the
    // embeddings move by up to 2e-3); without it both graphs are fused alike.
    golden.graph_mut().value_info.clear();
    let inputs = task::Task::inputs(&pairs, &SystemConfig::training().preprocess).unwrap();
    for runtime in ["ort", "ort-O0"] {
        let ort = registry::build(runtime).unwrap();
        let a = bench::infer(ort.as_ref(), &ours, &inputs, 1).unwrap();
        let b = bench::infer(ort.as_ref(), &golden, &inputs, 1).unwrap();
        let worst = (&a - &b).mapv(f64::abs).fold(0.0_f64, |m, v| m.max(*v));
        assert_eq!(worst, 0.0, "{runtime}: max |ours − ORT's|");
    }
}

#[test]
fn precision_noise_on_sentence_embeddings() {
    let pairs = load(PAIRS);
    let result = bench::run_task(&pairs, &common::bench_options(&[Family::Precision], 1)).unwrap();
    assert_eq!(result.quality_metric.as_deref(), Some("recall@1"));
    let fp16 = common::config(&result, "precision:fp16");
    let dynamic = common::config(&result, "precision:int8-dynamic");
    let per_channel = common::config(&result, "precision:int8-per-channel");
    for c in [fp16, dynamic, per_channel] {
        assert!(c.skipped.is_none(), "{}: {:?}", c.label, c.skipped);
        assert!(c.divergence.is_some(), "{}: the per-layer link is recorded", c.label);
    }
    // FP16 keeps the embeddings (cosine to FP32 > 0.999); INT8 moves them further, whichever
    // int8 kernels this CPU has.
    assert!(extra(fp16, "mean cosine") > 0.999, "{:?}", fp16.extra);
    for int8 in [dynamic, per_channel] {
        assert!(
            extra(int8, "1 − min cosine") > extra(fp16, "1 − min cosine"),
            "{}: {:?} vs fp16 {:?}",
            int8.label,
            int8.extra,
            fp16.extra
        );
        assert!(
            extra(int8, "top-10 overlap %") < 100.0,
            "{}: {:?}",
            int8.label,
            int8.extra
        );
    }
}

#[test]
fn missing_text_assets_say_how_to_prepare_them() {
    let dir = tempfile::tempdir().unwrap();
    let err = text::SentencePairs::load(dir.path(), 8).err().unwrap().to_string();
    assert!(err.contains("minilm.onnx") && err.contains("scripts/setup.sh"), "{err}");
}
