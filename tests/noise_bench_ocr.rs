//! `bench sysnoise` on the labelled OCR task: PP-OCRv4 recognition on real ONNX Runtime with the rendered text lines scripts/setup.sh prepares.

use crate::common;

use std::path::Path;

use sysnoise::noise::bench::{self, ocr::OcrLines, task};
use sysnoise::noise::system::{Family, SystemConfig};
use sysnoise::registry;

const LINES: usize = 40;

fn load() -> OcrLines {
    OcrLines::load(&task::assets_dir(), LINES).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn training_system_reads_the_rendered_lines() {
    let lines = load();
    assert_eq!(
        lines.classes().len(),
        6625,
        "blank + 6623 dictionary characters + space"
    );
    let inputs = task::Task::inputs(&lines, &SystemConfig::training().preprocess).unwrap();
    assert_eq!(inputs.tensors()[0].1.shape(), &[LINES, 3, 48, 320]);
    let ort = registry::build("ort").unwrap();
    let outputs = bench::infer(ort.as_ref(), task::Task::model(&lines), &inputs, 2).unwrap();
    let read = lines.decode_all(&outputs);
    let labels = lines.labels();
    let exact = read.iter().zip(&labels).filter(|(r, l)| r == l).count();
    for (r, l) in read.iter().zip(&labels).filter(|(r, l)| r != l) {
        println!("label {l:?} read {r:?}");
    }
    println!("exact lines: {exact}/{LINES}");
    assert!(exact >= LINES * 9 / 10, "{exact}/{LINES} lines read exactly");
}

#[test]
fn resize_and_precision_noise_on_text_lines() {
    let lines = load();
    let options = common::bench_options(&[Family::Resize, Family::Precision], 0);
    let result = bench::run_task(&lines, &options).unwrap();
    for c in &result.configs {
        match &c.skipped {
            Some(reason) => println!("{:<32} skipped: {reason}", c.label),
            None => println!(
                "{:<32} Δ {:+.2} points  1-CER {:.2}%  flips {:.1}%  conf. drop {:+.4}  {:.1} s",
                c.label,
                c.delta,
                c.quality.unwrap_or(f64::NAN) * 100.0,
                c.flip_rate * 100.0,
                c.confidence_drop,
                c.seconds
            ),
        }
    }
    assert_eq!(result.task, "pp-ocr-rec");
    assert_eq!(result.quality_metric.as_deref(), Some("1 - CER"));
    assert_eq!(result.metric, "1 - CER drop (points)");
    let quality = result.training_quality.unwrap();
    assert!(quality > 0.97, "training-system 1 - CER {quality}");
    assert_eq!(result.configs[0].quality, Some(quality));

    // Every resize kernel is measured; nearest neighbour moves the recogniser more than
    // OpenCV's linear kernel, the closest to the bilinear training resize.
    let linear = common::config(&result, "resize:opencv-linear");
    for c in result.configs.iter().filter(|c| c.family == Some(Family::Resize)) {
        assert!(c.skipped.is_none(), "{}: {:?}", c.label, c.skipped);
        assert!(c.input_mean_abs_diff > 0.0, "{} left the input unchanged", c.label);
    }
    for nearest in ["resize:pillow-nearest", "resize:opencv-nearest"] {
        let nearest = common::config(&result, nearest);
        assert!(
            nearest.confidence_drop > linear.confidence_drop,
            "{}: confidence drop {} vs opencv-linear {}",
            nearest.label,
            nearest.confidence_drop,
            linear.confidence_drop
        );
        assert!(nearest.input_mean_abs_diff > linear.input_mean_abs_diff);
    }
    let opencv_nearest = common::config(&result, "resize:opencv-nearest");
    assert!(
        opencv_nearest.delta > linear.delta,
        "Δ opencv-nearest {} vs opencv-linear {}",
        opencv_nearest.delta,
        linear.delta
    );

    // FP16 keeps the recogniser reading the same text.
    let fp16 = common::config(&result, "precision:fp16-keep-io");
    assert!(fp16.skipped.is_none(), "{:?}", fp16.skipped);
    assert!(fp16.delta.abs() < 2.0 && fp16.flip_rate <= 0.05, "{fp16:?}");
}

#[test]
fn missing_ocr_assets_say_how_to_prepare_them() {
    let err = OcrLines::load(Path::new("/nonexistent/sysnoise-bench"), 10)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("scripts/setup.sh"), "{err}");
    assert!(err.contains("rec.onnx"), "{err}");
}
