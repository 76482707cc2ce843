//! `bench sysnoise` on the detection task: NanoDet-m (converted by scripts/setup.sh) on real ONNX Runtime and the photos, post-processing and resize noise against the training system's pseudo ground truth.

use crate::common;

use std::path::Path;

use sysnoise::noise::bench::{self, ConfigResult, detect, task};
use sysnoise::noise::system::{Family, PostProcess, PostProcessChange, SystemConfig};
use sysnoise::registry;

const PHOTOS: usize = 24;

fn load() -> detect::NanoDetPhotos {
    detect::NanoDetPhotos::load(&task::assets_dir(), PHOTOS).unwrap_or_else(|e| panic!("{e}"))
}

fn extra(c: &ConfigResult, metric: &str) -> f64 {
    c.extra
        .iter()
        .find(|(name, _)| name == metric)
        .map_or(f64::NAN, |(_, v)| *v)
}

fn map_50(c: &ConfigResult) -> f64 {
    extra(c, "mAP@0.5")
}

fn changed(c: &ConfigResult) -> f64 {
    extra(c, "photos with changed detections")
}

#[test]
fn the_training_system_detects_coco_objects_on_the_photos() {
    let photos = load();
    let inputs = task::Task::inputs(&photos, &SystemConfig::training().preprocess).unwrap();
    assert_eq!(inputs.tensors()[0].1.shape(), &[PHOTOS, 3, 416, 416]);
    let ort = registry::build("ort").unwrap();
    let outputs = bench::infer(ort.as_ref(), task::Task::model(&photos), &inputs, 2).unwrap();
    assert_eq!(outputs.shape(), &[PHOTOS, 3549 * (80 + 44)]);
    let detections = photos.detections_all(&outputs, &PostProcess::default());
    let confident: Vec<_> = detections
        .iter()
        .flatten()
        .filter(|d| d.score >= detect::PSEUDO_GT_SCORE)
        .collect();
    for (i, found) in detections.iter().enumerate() {
        let top: Vec<String> = found
            .iter()
            .take(3)
            .map(|d| {
                format!(
                    "class {} {:.2} [{:.0} {:.0} {:.0} {:.0}]",
                    d.class, d.score, d.x1, d.y1, d.x2, d.y2
                )
            })
            .collect();
        println!("photo {i}: {} detections; best {}", found.len(), top.join(", "));
    }
    // Seeds and grains on plates: COCO's banana (46), apple (47), orange (49) and the like. A
    // photo is 307 × 172 pixels: boxes lie inside it.
    assert!(confident.len() >= 10, "{} pseudo ground-truth boxes", confident.len());
    assert!(confident.iter().any(|d| (46..=55).contains(&d.class)), "no food class");
    for d in detections.iter().flatten() {
        assert!(
            d.x1 >= 0.0 && d.y1 >= 0.0 && d.x2 <= 308.0 && d.y2 <= 176.0 && d.x1 < d.x2,
            "{d:?}"
        );
    }
    assert!(detections.iter().all(|d| d.len() <= detect::MAX_DETECTIONS));
}

#[test]
fn post_processing_and_resize_noise_move_map() {
    let photos = load();
    let options = common::bench_options(&[Family::PostProcess, Family::Resize], 0);
    let result = bench::run_task(&photos, &options).unwrap();
    for c in &result.configs {
        match &c.skipped {
            Some(reason) => println!("{:<36} skipped: {reason}", c.label),
            None => println!(
                "{:<36} Δ {:+6.2} points  mAP {:.4}  mAP@0.5 {:.4}  flips {:5.1}%  changed {:5.1}%  conf. drop {:+.4}  {:.1} s",
                c.label,
                c.delta,
                c.quality.unwrap_or(f64::NAN),
                map_50(c),
                c.flip_rate * 100.0,
                changed(c) * 100.0,
                c.confidence_drop,
                c.seconds
            ),
        }
    }
    assert_eq!(result.task, "nanodet-m");
    assert_eq!(result.quality_metric.as_deref(), Some("mAP@[.5:.95]"));
    assert_eq!(result.metric, "mAP@[.5:.95] drop (points)");
    // The training system against its own pseudo ground truth: exactly 1.
    assert_eq!(result.training_quality, Some(1.0));
    assert_eq!(map_50(&result.configs[0]), 1.0);

    // Every post-processing option is measured (on the training system's own outputs).
    for change in PostProcessChange::ALL {
        let c = common::config(&result, &format!("post-process:{}", change.name()));
        assert!(c.skipped.is_none(), "{}: {:?}", c.label, c.skipped);
        assert!(c.quality.is_some() && c.delta >= 0.0, "{c:?}");
        assert_eq!(c.input_mean_abs_diff, 0.0, "{} changed the input", c.label);
    }
    assert!(
        result
            .configs
            .iter()
            .any(|c| c.family == Some(Family::PostProcess) && c.delta > 0.0),
        "no post-processing option lowered mAP"
    );
    // The box and IoU options change detections on every photo or most, if only below the
    // pseudo ground truth's score (which mAP against it cannot see). Two options cannot show
    // here: `>=` differs from `>` only at an IoU of exactly 0.6, which float boxes never hit,
    // and top-k before the threshold differs only beyond the 1000th candidate of a level, which
    // never survives NMS's cap of 100 detections on these photos.
    for change in [
        PostProcessChange::DecodePlusOne,
        PostProcessChange::RoundNearest,
        PostProcessChange::RoundFloor,
        PostProcessChange::IouPlusOne,
        PostProcessChange::ClassAgnostic,
    ] {
        let c = common::config(&result, &format!("post-process:{}", change.name()));
        assert!(changed(c) > 0.0, "{} changed no detection", c.label);
    }
    assert_eq!(changed(&result.configs[0]), 0.0);
    // Every resize kernel is measured; nearest neighbour lowers mAP.
    for c in result.configs.iter().filter(|c| c.family == Some(Family::Resize)) {
        assert!(c.skipped.is_none(), "{}: {:?}", c.label, c.skipped);
        assert!(c.input_mean_abs_diff > 0.0, "{} left the input unchanged", c.label);
    }
    for nearest in ["resize:pillow-nearest", "resize:opencv-nearest"] {
        let c = common::config(&result, nearest);
        assert!(c.delta > 0.0, "{nearest}: Δ {}", c.delta);
    }
    assert!(result.families.iter().any(|f| f.family == Family::PostProcess));
}

#[test]
fn missing_detection_assets_say_how_to_prepare_them() {
    let err = detect::NanoDetPhotos::load(Path::new("/nonexistent/sysnoise-bench"), 10)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("scripts/setup.sh"), "{err}");
    assert!(err.contains("nanodet.onnx"), "{err}");
}
