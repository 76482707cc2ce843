//! The labelled-accuracy task on real data: the committed Fashion-MNIST CNN
//! (scripts/train_fmnist.py) on Debian's test set, on the real runtimes, and the ceil_mode flip
//! measured as an accuracy change.

use std::path::Path;

use sysnoise::noise::fmnist::{DEBIAN_DIR, accuracy, load_test_set, model_path, predict};
use sysnoise::noise::rewrite::{Rewrite, apply};
use sysnoise_boundary::Model;

#[test]
fn the_committed_cnn_classifies_fashion_mnist_and_ceil_mode_matters() {
    let set = load_test_set(Path::new(DEBIAN_DIR), 1000).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.labels.len(), 1000);
    let model = Model::load(&model_path()).unwrap();
    let ort = sysnoise::registry::build("ort").unwrap_or_else(|e| panic!("{e}"));
    let base = predict(ort.as_ref(), &model, &set.images, 100).unwrap();
    let base_accuracy = accuracy(&base, &set.labels);
    // scripts/train_fmnist.py reached 0.839 on the full test set.
    assert!(base_accuracy > 0.8, "accuracy {base_accuracy}");
    // tract agrees with ORT on (nearly) every prediction of the trained system.
    let tract = sysnoise::registry::build("tract").unwrap();
    let by_tract = predict(tract.as_ref(), &model, &set.images, 100).unwrap();
    let disagreements = base.iter().zip(&by_tract).filter(|(a, b)| a != b).count();
    assert!(
        disagreements <= 2,
        "{disagreements} of 1000 predictions differ between ORT and tract"
    );
    // Deploying with ceil_mode flipped changes the pooled feature map (7×7 → 6×6).
    let (flipped, report) = apply(&model, Rewrite::CeilModeFlip).unwrap();
    assert_eq!(report.changes, 2);
    let noisy = predict(ort.as_ref(), &flipped, &set.images, 100).unwrap();
    let flips = base.iter().zip(&noisy).filter(|(a, b)| a != b).count();
    let noisy_accuracy = accuracy(&noisy, &set.labels);
    println!(
        "fashion-mnist, 1000 test images: accuracy {base_accuracy:.3}, with ceil_mode flipped {noisy_accuracy:.3} ({flips} predictions flip)"
    );
    assert!(flips > 0, "the ceil_mode flip changed no prediction");
}

#[test]
fn a_missing_dataset_says_how_to_install_it() {
    let err = load_test_set(Path::new("/nonexistent/fashion-mnist"), 10)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("apt-get install dataset-fashion-mnist"), "{err}");
}
