//! The CPU's instruction set as a SysNoise source: ONNX Runtime's int8 kernels saturate pairs of
//! u8 × s8 products on AVX2 (`pmaddubsw`) and are exact with VNNI, so one INT8 model on one ORT
//! release predicts differently on two CPUs.
//!
//! The proof runs on any machine: ORT's outputs measured on an AVX2-only CPU (tests/data/int8-avx2)
//! are reproduced bit for bit by the emulation of the saturating kernels, and not by exact
//! accumulation. On this machine, ORT equals the emulation of the kernels its CPU selects.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, s};
use sysnoise::noise::fmnist::{DEBIAN_DIR, load_test_set};
use sysnoise::noise::ort_int8::EmulatedOrtInt8;
use sysnoise_boundary::{Cpu, Model, Runtime, Tensor, U8S8Accumulation};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/int8-avx2")
        .join(name)
}

/// The measured model and t10k images 32..531, as the fixture was made.
fn fixture() -> (Model, ArrayD<f32>) {
    let model = Model::load(&data("fmnist_cnn_qdq_per_channel.onnx")).unwrap();
    let set = load_test_set(Path::new(DEBIAN_DIR), 532).unwrap_or_else(|e| panic!("{e}"));
    (model, set.images.slice(s![32..532, .., .., ..]).to_owned().into_dyn())
}

fn scalar(model: &Model, name: &str) -> f64 {
    let t = model.graph().initializer.iter().find(|t| t.name == name).unwrap();
    Tensor::from_proto(t).unwrap().to_f64_vec()[0]
}

/// The output levels (uint8 grid of the logits) of `runtime` on every image.
fn levels(runtime: &dyn Runtime, model: &Model, images: &ArrayD<f32>) -> Vec<i64> {
    let (scale, zero_point) = (scalar(model, "logits_scale") as f32, scalar(model, "logits_zero_point"));
    let mut session = runtime
        .prepare(model)
        .unwrap_or_else(|e| panic!("{}: {e}", runtime.name()));
    let mut out = Vec::new();
    for start in (0..images.shape()[0]).step_by(100) {
        let batch = images.slice(s![start..start + 100, .., .., ..]).to_owned().into_dyn();
        let logits = session.run(&[("image".to_string(), Tensor::F32(batch))]).unwrap();
        for v in logits[0].1.to_f64_vec() {
            let level = f64::from((v as f32) / scale).round() + zero_point;
            out.push(level as i64);
        }
    }
    out
}

fn recorded_levels() -> Vec<i64> {
    let file = std::fs::File::open(data("ort_avx2_logit_levels.npy")).unwrap();
    let tensor = sysnoise::npy::read_npy(file, "levels").unwrap();
    assert_eq!(tensor.shape(), &[500, 10]);
    tensor.to_f64_vec().into_iter().map(|v| v as i64).collect()
}

/// (levels that differ, rows whose top-1 differs): the tie-break is numpy's (first maximum).
fn differences(a: &[i64], b: &[i64]) -> (usize, usize) {
    let top1 = |row: &[i64]| row.iter().enumerate().rev().max_by_key(|(_, v)| **v).map(|(i, _)| i);
    let levels = a.iter().zip(b).filter(|(x, y)| x != y).count();
    let flips = a
        .chunks(10)
        .zip(b.chunks(10))
        .filter(|(x, y)| top1(x) != top1(y))
        .count();
    (levels, flips)
}

#[test]
fn saturating_pairs_reproduce_ort_on_an_avx2_cpu_and_exact_accumulation_does_not() {
    let (model, images) = fixture();
    let recorded = recorded_levels();
    let avx2 = EmulatedOrtInt8::new("emulated-ort-avx2", U8S8Accumulation::SaturatingPairs);
    let exact = EmulatedOrtInt8::new("emulated-ort-vnni", U8S8Accumulation::Exact);
    let by_avx2 = levels(&avx2, &model, &images);
    let by_exact = levels(&exact, &model, &images);
    let (avx2_levels, avx2_flips) = differences(&by_avx2, &recorded);
    let (exact_levels, exact_flips) = differences(&by_exact, &recorded);
    println!(
        "AVX2 CPU's ORT vs emulation: pmaddubsw {avx2_levels} of 5000 levels differ ({avx2_flips} top-1), \
         exact {exact_levels} ({exact_flips} top-1)"
    );
    assert_eq!(
        (avx2_levels, avx2_flips),
        (0, 0),
        "the saturating emulation is ORT's AVX2 arithmetic"
    );
    // Measured when the fixture was made: 3700 levels and 12 predictions differ.
    assert!(
        exact_levels > 1000 && exact_flips >= 5,
        "exact accumulation is not what that CPU computed"
    );
}

#[test]
fn ort_here_equals_the_emulation_of_the_kernels_this_cpu_selects() {
    let (model, images) = fixture();
    let cpu = Cpu::here();
    let emulation = EmulatedOrtInt8::for_cpu(cpu);
    // scripts/test_cpus.sh runs this test under qemu with a CPU model whose kernels it names.
    if let Ok(expected) = std::env::var("SYSNOISE_EXPECT_ORT_INT8") {
        assert_eq!(emulation.name(), expected, "{}", cpu.summary());
    }
    let ort = sysnoise::registry::build("ort").unwrap_or_else(|e| panic!("{e}"));
    let (by_ort, by_emulation) = (
        levels(ort.as_ref(), &model, &images),
        levels(&emulation, &model, &images),
    );
    let (differ, flips) = differences(&by_ort, &by_emulation);
    assert_eq!(
        (differ, flips),
        (0, 0),
        "ORT on {} vs {}: {differ} levels, {flips} predictions differ",
        cpu.summary(),
        emulation.name()
    );
    // On an AVX2 CPU this also says that ORT here is the recorded run.
    if sysnoise_ort::u8s8_accumulation(cpu) == U8S8Accumulation::SaturatingPairs {
        assert_eq!(by_ort, recorded_levels());
    }
}
