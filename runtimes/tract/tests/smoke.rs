//! Smoke tests of the tract adapter: a one-node graph, dtype round trips, intermediates, both modes.

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::{DType, GraphBuilder, Runtime, Tensor};
use sysnoise_tract::{TractMode, TractRuntime};

#[test]
fn one_node_graph_runs_in_both_modes() {
    let mut g = GraphBuilder::new("add", 17);
    g.input("a", DType::F32, &[2, 2]);
    g.input("b", DType::F32, &[2, 2]);
    g.node("Add", "sum", &["a", "b"], vec![]);
    g.output("sum", DType::F32);
    let model = g.build();
    let a = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1f32, 2., 3., 4.]).unwrap());
    let b = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![10f32, 20., 30., 40.]).unwrap());
    for mode in [TractMode::Optimized, TractMode::ConstantParameters] {
        let mut session = TractRuntime::new("tract", mode).prepare(&model).unwrap();
        let out = session
            .run(&[("a".into(), a.clone()), ("b".into(), b.clone())])
            .unwrap();
        assert_eq!(out[0].0, "sum");
        assert_eq!(out[0].1.to_f64_vec(), vec![11., 22., 33., 44.], "{mode:?}");
    }
}

#[test]
fn every_supported_dtype_round_trips_and_bf16_is_unsupported() {
    let values = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.0, 1.0, 5.0]).unwrap();
    for dtype in DType::ALL {
        let mut g = GraphBuilder::new("id", 17);
        g.input("x", dtype, &[3]);
        g.node("Identity", "y", &["x"], vec![]);
        g.output("y", dtype);
        let input = Tensor::from_f64(dtype, &values);
        let rt = TractRuntime::new("tract", TractMode::Optimized);
        let result = rt
            .prepare(&g.build())
            .and_then(|mut s| s.run(&[("x".into(), input.clone())]));
        match (dtype, result) {
            (DType::BF16, Err(e)) => assert!(e.is_unsupported(), "{e}"),
            (_, Ok(out)) => assert_eq!(out[0].1, input, "{dtype}"),
            (_, Err(e)) => panic!("{dtype}: {e}"),
        }
    }
}

#[test]
fn intermediates_are_returned_and_unknown_ops_are_unsupported() {
    let mut g = GraphBuilder::new("chain", 17);
    g.input("x", DType::F32, &[2]);
    g.node("Relu", "r", &["x"], vec![]);
    g.node("Neg", "n", &["r"], vec![]);
    g.output("n", DType::F32);
    let rt = TractRuntime::new("tract", TractMode::Optimized);
    let mut session = rt.prepare_with_intermediates(&g.build()).unwrap();
    let x = Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2]), vec![-1.0, 2.0]).unwrap());
    let out = session.run(&[("x".into(), x)]).unwrap();
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["n", "r"]);
    assert_eq!(out[1].1.to_f64_vec(), vec![0.0, 2.0]);

    let mut g = GraphBuilder::new("bogus", 17);
    g.input("x", DType::F32, &[2]);
    g.node("NoSuchOp", "bad", &["x"], vec![]);
    g.output("bad", DType::F32);
    let err = rt.prepare(&g.build()).err().expect("must fail");
    assert!(err.is_unsupported(), "{err}");
    assert_eq!(err.node(), Some("bad"));
}
