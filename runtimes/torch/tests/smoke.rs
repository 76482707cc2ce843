//! Smoke tests of the LibTorch adapter: the contract every adapter proves (testkit), the
//! reduced precisions, intermediates, and CUDA's availability report.

use crate::common;

use crate::common::{attr, case, f32s, torch};
use sysnoise_boundary::{DType, GraphBuilder, Runtime, testkit};
use sysnoise_torch::{Precision, TorchDevice, TorchOptions, TorchRuntime};

#[test]
fn one_node_graph_runs_and_reports_its_version() {
    let rt = torch(Precision::Native);
    testkit::check_one_node_graph(&rt);
    assert!(rt.version().starts_with("LibTorch 2.11.0"), "{}", rt.version());
}

#[test]
fn every_dtype_round_trips_but_u64_which_tch_cannot_hold() {
    let unsupported = [DType::U64];
    testkit::check_dtype_round_trips(&torch(Precision::Native), &unsupported);
    testkit::check_dtype_round_trips(&torch(Precision::F16), &unsupported);
}

#[test]
fn intermediates_are_returned() {
    testkit::check_intermediates(&torch(Precision::Native));
    testkit::check_intermediates(&torch(Precision::BF16));
}

#[test]
fn unknown_ops_are_unsupported_at_prepare() {
    testkit::check_unknown_op_is_unsupported(&torch(Precision::Native));
}

/// Every node output, with its own dtype, comes back from `prepare_with_intermediates`.
#[test]
fn intermediates_of_every_dtype() {
    let mut g = GraphBuilder::new("chain", 17);
    g.input("x", DType::F32, &[2, 3]);
    g.node("Relu", "r", &["x"], vec![]);
    g.node("Shape", "s", &["r"], vec![]);
    g.node("Greater", "g", &["r", "x"], vec![]);
    g.node("Cast", "c", &["g"], vec![attr::int("to", 1)]);
    g.node("Add", "y", &["c", "r"], vec![]);
    g.output("y", DType::F32);
    let model = g.build();
    let x = f32s(&[2, 3], &[-1.0, 2.0, -3.0, 4.0, 0.0, 6.0]);
    for precision in [Precision::Native, Precision::F16] {
        let out = torch(precision)
            .prepare_with_intermediates(&model)
            .and_then(|mut s| s.run(&[("x".into(), x.clone())]))
            .unwrap();
        let names: Vec<(&str, DType)> = out.iter().map(|(n, t)| (n.as_str(), t.dtype())).collect();
        assert_eq!(
            names,
            [
                ("y", DType::F32),
                ("r", DType::F32),
                ("s", DType::I64),
                ("g", DType::Bool),
                ("c", DType::F32)
            ]
        );
        assert_eq!(out[2].1.to_f64_vec(), vec![2.0, 3.0]);
        assert_eq!(out[0].1.to_f64_vec(), vec![1.0, 2.0, 1.0, 4.0, 0.0, 6.0]);
    }
}

/// Under f16 / bf16 the graph computes in that precision but keeps its f32 inputs and outputs.
#[test]
fn reduced_precisions_compute_in_that_precision_with_f32_edges() {
    let c = case("Add", 17)
        .input("a", f32s(&[3], &[1.0, 256.0, 3.0]))
        .input("b", f32s(&[3], &[1e-4, 1.0, 0.25]))
        .output("y", DType::F32);
    let f32_out = c.run(&torch(Precision::Native)).unwrap();
    let f16_out = c.run(&torch(Precision::F16)).unwrap();
    let bf16_out = c.run(&torch(Precision::BF16)).unwrap();
    assert_eq!(f32_out[0].1.to_f64_vec(), vec![f64::from(1.0001_f32), 257.0, 3.25]);
    // f16 has 11 significant bits: 1 + 1e-4 rounds to 1; 257 is exact.
    assert_eq!(f16_out[0].1.dtype(), DType::F32);
    assert_eq!(f16_out[0].1.to_f64_vec(), vec![1.0, 257.0, 3.25]);
    // bf16 has 8: 257 rounds to 256.
    assert_eq!(bf16_out[0].1.to_f64_vec(), vec![1.0, 256.0, 3.25]);
}

/// A small CNN in f16 and bf16 stays close to the f64 reference.
#[test]
fn a_convolution_in_reduced_precision_is_close() {
    let c = case("Conv", 17)
        .input("x", common::seeded(&[1, 2, 6, 6], 1))
        .constant("w", common::seeded(&[3, 2, 3, 3], 2))
        .constant("b", common::seeded(&[3], 3))
        .attr(attr::ints("pads", &[1, 1, 1, 1]))
        .output("y", DType::F32);
    c.agrees_in(Precision::F16, 0.1, 1e-2);
    c.agrees_in(Precision::BF16, 0.8, 5e-2);
}

/// `torch-cuda` either runs (a CUDA machine with LibTorch's CUDA libraries) or is
/// `Unavailable` with the loader's or LibTorch's reason.
#[test]
fn cuda_is_available_or_says_why_not() {
    let options = TorchOptions {
        device: TorchDevice::Cuda,
        precision: Precision::Native,
    };
    match TorchRuntime::new("torch-cuda", options) {
        Ok(rt) => testkit::check_one_node_graph(&rt),
        Err(e) => {
            let text = e.to_string();
            assert!(
                matches!(e, sysnoise_boundary::RuntimeError::Unavailable { .. }),
                "{text}"
            );
            assert!(
                text.contains("libtorch_cuda.so") || text.contains("no CUDA device"),
                "{text}"
            );
        }
    }
}

/// Every code of the four float8 formats LibTorch has goes through Identity unchanged (held in
/// f32 inside the session, rounded back by LibTorch's float8 conversion at the edge).
#[test]
fn every_float8_code_round_trips() {
    use sysnoise_boundary::Tensor;
    for dtype in [DType::F8E4M3FN, DType::F8E4M3FNUZ, DType::F8E5M2, DType::F8E5M2FNUZ] {
        let codes: Vec<u8> = (0..=255).collect();
        let input = Tensor::from_le_bytes(dtype, &[256], &codes).unwrap();
        let mut g = GraphBuilder::new("id", 19);
        g.input("x", dtype, &[256]);
        g.node("Identity", "y", &["x"], vec![]);
        g.output("y", dtype);
        let out = torch(Precision::Native)
            .prepare(&g.build())
            .and_then(|mut s| s.run(&[("x".into(), input.clone())]))
            .unwrap_or_else(|e| panic!("{dtype}: {e}"));
        let (expected, actual) = (input.to_f64_vec(), out[0].1.to_f64_vec());
        for (code, (e, a)) in expected.iter().zip(&actual).enumerate() {
            assert!(
                e == a || (e.is_nan() && a.is_nan()),
                "{dtype} code {code:#04x}: {e} became {a}"
            );
        }
    }
}

/// Float8 to float8 casts follow `saturate` too: E5M2's range and infinities do not fit E4M3FN.
#[test]
fn float8_to_float8_casts_saturate_or_not() {
    use sysnoise_boundary::Tensor;
    // E5M2 codes of 57344, +inf, -inf, NaN, 1, 512.
    let input = Tensor::from_le_bytes(DType::F8E5M2, &[6], &[0x7B, 0x7C, 0xFC, 0x7E, 0x3C, 0x60]).unwrap();
    assert_eq!(input.to_f64_vec()[5], 512.0);
    let nan = f64::NAN;
    for (saturate, expected) in [
        (1, [448.0, 448.0, -448.0, nan, 1.0, 448.0]),
        (0, [nan, nan, nan, nan, 1.0, nan]),
    ] {
        let mut g = GraphBuilder::new("cast", 21);
        g.input("x", DType::F8E5M2, &[6]);
        g.node(
            "Cast",
            "y",
            &["x"],
            vec![attr::int("to", 17), attr::int("saturate", saturate)],
        );
        g.output("y", DType::F8E4M3FN);
        let out = torch(Precision::Native)
            .prepare(&g.build())
            .and_then(|mut s| s.run(&[("x".into(), input.clone())]))
            .unwrap_or_else(|e| panic!("{e}"));
        let got = out[0].1.to_f64_vec();
        for (g, e) in got.iter().zip(expected) {
            assert!(*g == e || (g.is_nan() && e.is_nan()), "saturate={saturate}: {got:?}");
        }
    }
}
