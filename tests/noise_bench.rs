//! A small end-to-end `bench sysnoise` run on the real tasks (EfficientNet-Lite0 on photos
//! prepared by scripts/setup.sh, the Fashion-MNIST CNN on Debian's data) and real runtimes:
//! the summary of the bit-exact pre-processing knobs is a snapshot; precision and runtime knobs
//! are checked by property (their flips depend on the CPU's kernels).

use crate::common;

use std::path::Path;

use sysnoise::noise::bench::{self, TaskResult, output, task};
use sysnoise::noise::system::Family;

fn summary(result: &TaskResult) -> String {
    let mut lines = vec![format!(
        "{} items={} metric={}",
        result.task, result.items, result.metric
    )];
    for c in &result.configs {
        let first = c
            .divergence
            .as_ref()
            .and_then(|d| d.first_divergent_layer.as_ref())
            .map_or("-".to_string(), |l| l.op_type.clone());
        match &c.skipped {
            Some(reason) => lines.push(format!("{}: skipped ({reason})", c.label)),
            None => {
                let extra: Vec<String> = c.extra.iter().map(|(name, v)| format!(" {name}={v:.1}")).collect();
                lines.push(format!(
                    "{}: delta={:.1} flips={:.1}% first_divergent={first}{}",
                    c.label,
                    c.delta,
                    c.flip_rate * 100.0,
                    extra.concat()
                ))
            }
        }
    }
    for f in &result.families {
        lines.push(format!(
            "family {}: {} options, mean {:.1}, max {:.1} ({})",
            f.family.name(),
            f.options,
            f.mean_delta,
            f.max_delta,
            f.worst_option
        ));
    }
    lines.join("\n")
}

#[test]
fn efficientnet_preprocessing_noise_on_photos_is_measured_and_linked_to_layer_divergence() {
    // The default photo set is downscaled by the pre-processing; its labelled photos come first.
    let photos = task::ImageNetPhotos::load(&task::assets_dir(), 24).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(photos.labelled(), 24);
    let result = bench::run_task(
        &photos,
        &common::bench_options(&[Family::Decoder, Family::Resize, Family::Colour], 2),
    )
    .unwrap();
    let training = &result.configs[0];
    assert_eq!(training.label, "training");
    assert_eq!(training.delta, 0.0);
    for c in &result.configs[1..] {
        assert!(c.skipped.is_none(), "{}: {:?}", c.label, c.skipped);
        let d = c
            .divergence
            .as_ref()
            .expect("every configuration has a divergence measure");
        assert!(d.layers > 50, "{}: {} layers compared", c.label, d.layers);
        if c.family.is_some() {
            // Pre-processing noise changes the input itself.
            assert!(c.input_mean_abs_diff > 0.0, "{} left the input unchanged", c.label);
        }
    }
    // Nearest-neighbour resize is the paper's worst resize; it must flip something on 24 photos.
    let nearest = result
        .configs
        .iter()
        .find(|c| c.label == "resize:pillow-nearest")
        .unwrap();
    assert!(nearest.flip_rate > 0.0);
    // Downscaling separates what upscaling made identical: Pillow's box filter is not nearest.
    let input_of = |label: &str| {
        result
            .configs
            .iter()
            .find(|c| c.label == label)
            .unwrap()
            .input_mean_abs_diff
    };
    assert!((input_of("resize:pillow-box") - input_of("resize:pillow-nearest")).abs() > 1e-3);
    // Top-1 on the labelled photos is reported beside the flips.
    let top1 = |c: &sysnoise::noise::bench::ConfigResult| {
        c.extra.iter().find(|(n, _)| n.starts_with("top-1 %")).map(|(_, v)| *v)
    };
    assert!(
        top1(&result.configs[0]).is_some_and(|v| v > 50.0),
        "{:?}",
        result.configs[0].extra
    );
    assert!(result.link.spearman_mean_layer_error.is_some());
    snapshot!("bench_sysnoise_efficientnet_preprocessing", summary(&result));
}

#[test]
fn fashion_mnist_inference_noise_ceil_mode_precision_runtime() {
    let mnist =
        task::FashionMnist::load(Path::new(sysnoise::noise::fmnist::DEBIAN_DIR), 300).unwrap_or_else(|e| panic!("{e}"));
    let families = [
        Family::Decoder,
        Family::CeilMode,
        Family::Upsample,
        Family::Precision,
        Family::Isa,
        Family::Runtime,
    ];
    let result = bench::run_task(&mnist, &common::bench_options(&families, 2)).unwrap();
    let get = |label: &str| {
        result.configs.iter().find(|c| c.label == label).unwrap_or_else(|| {
            panic!(
                "no {label} in {:?}",
                result.configs.iter().map(|c| &c.label).collect::<Vec<_>>()
            )
        })
    };
    // No pre-processing pipeline: decoder knobs are not tried; no Resize: upsample is skipped.
    assert!(result.configs.iter().all(|c| c.family != Some(Family::Decoder)));
    assert!(
        get("upsample:nearest<->linear")
            .skipped
            .as_deref()
            .unwrap()
            .contains("no Resize")
    );
    assert_eq!(result.quality_metric.as_deref(), Some("accuracy"));
    let accuracy = result.training_quality.unwrap();
    assert!(accuracy > 0.8, "training accuracy {accuracy}");
    // The ceil_mode flip changes the pooled map (7×7 → 6×6): predictions move.
    let ceil = get("ceil-mode:flip");
    assert!(ceil.flip_rate > 0.01, "ceil flip: {}", ceil.flip_rate);
    assert!(ceil.divergence.as_ref().unwrap().first_divergent_layer.is_some());
    // FP16 barely moves a small CNN; INT8 moves it more than FP16 but keeps it usable.
    let fp16 = get("precision:fp16-keep-io");
    assert!(fp16.skipped.is_none() && fp16.flip_rate <= 0.02, "{fp16:?}");
    for label in ["precision:int8-per-tensor", "precision:int8-per-channel"] {
        let int8 = get(label);
        assert!(int8.skipped.is_none(), "{label}: {:?}", int8.skipped);
        assert!(int8.delta.abs() < 10.0, "{label}: Δ {}", int8.delta);
        let d = int8.divergence.as_ref().unwrap();
        assert!(
            d.output_rel_error > fp16.divergence.as_ref().unwrap().output_rel_error,
            "{label} should diverge more than FP16"
        );
    }
    // The instruction set: ORT's INT8 here equals the emulation of the kernels this CPU selects
    // (same outputs, so the same flips); the two emulations differ from each other (per-channel
    // weights reach ±127, where pairs of u8 × s8 products pass int16's range).
    let here = sysnoise::noise::ort_int8::EmulatedOrtInt8::for_cpu(sysnoise_boundary::Cpu::here());
    let on_ort = get("precision:int8-per-channel");
    let emulated = get(&format!(
        "isa:int8-per-channel@{}",
        sysnoise_boundary::Runtime::name(&here)
    ));
    assert!(emulated.skipped.is_none(), "{emulated:?}");
    assert_eq!((on_ort.flip_rate, on_ort.delta), (emulated.flip_rate, emulated.delta));
    assert!(
        on_ort.isa_note.as_deref().is_some_and(|n| n.contains("CPU")),
        "{on_ort:?}"
    );
    assert!(
        emulated.isa_note.is_none(),
        "an emulation does not depend on the host CPU"
    );
    let (avx2, vnni) = (
        get("isa:int8-per-channel@emulated-ort-avx2"),
        get("isa:int8-per-channel@emulated-ort-vnni"),
    );
    // (Per-layer values expose every node output, which stops ORT and the emulation from fusing
    // Q/DQ into integer kernels: the divergence link cannot see this; the outputs do.)
    assert!(
        avx2.confidence_drop > vnni.confidence_drop && avx2.flip_rate >= vnni.flip_rate,
        "{avx2:?} vs {vnni:?}"
    );
    let tract = get("runtime:tract");
    assert!(tract.skipped.is_none() && tract.flip_rate <= 0.01, "{tract:?}");
    // The stacked configuration includes the ceil flip, so it flips at least as much.
    assert!(result.stacked.len() >= 2);
    assert!(result.stacked.last().unwrap().flip_rate >= ceil.flip_rate * 0.5);

    // The report files: JSON, Markdown with the paper table, PNG + SVG plots.
    let dir = tempfile::tempdir().unwrap();
    let report = output::BenchReport {
        machine: sysnoise::machine::Machine::here(),
        runtimes: Default::default(),
        tasks: vec![result],
    };
    let written = output::write(&report, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    for name in [
        "report.json",
        "report.md",
        "noise_bars.png",
        "stacking.png",
        "divergence_vs_delta.svg",
    ] {
        assert!(written.iter().any(|w| w == name), "{name} not in {written:?}");
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert!(bytes.len() > 200, "{name} is {} bytes", bytes.len());
    }
    let png = std::fs::read(dir.path().join("stacking.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("| fashion-mnist (300 items) | accuracy drop (points) |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["tasks"][0]["task"], "fashion-mnist");
    assert_eq!(json["machine"]["cpu"], sysnoise_boundary::Cpu::here().model.as_str());
    assert!(md.contains("Measured on "), "{md}");
}

#[test]
fn missing_assets_say_how_to_prepare_them() {
    let err = task::ImageNetPhotos::load(Path::new("/nonexistent/sysnoise-bench"), 10)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("scripts/setup.sh"), "{err}");
}
