//! The checks every runtime adapter's smoke test runs, so each adapter proves the same contract.

use ndarray::{ArrayD, IxDyn};

use crate::builder::GraphBuilder;
use crate::runtime::Runtime;
use crate::tensor::{DType, Tensor};

fn f32s(shape: &[usize], values: &[f32]) -> Tensor {
    Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).expect("shape matches"))
}

/// A one-node `Add` graph computes `a + b`.
pub fn check_one_node_graph(runtime: &dyn Runtime) {
    let mut g = GraphBuilder::new("add", 17);
    g.input("a", DType::F32, &[2, 2]);
    g.input("b", DType::F32, &[2, 2]);
    g.node("Add", "sum", &["a", "b"], vec![]);
    g.output("sum", DType::F32);
    let a = f32s(&[2, 2], &[1., 2., 3., 4.]);
    let b = f32s(&[2, 2], &[10., 20., 30., 40.]);
    let name = runtime.name();
    let out = runtime
        .prepare(&g.build())
        .and_then(|mut s| s.run(&[("a".into(), a), ("b".into(), b)]))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(out[0].0, "sum", "{name}");
    assert_eq!(out[0].1.to_f64_vec(), vec![11., 22., 33., 44.], "{name}");
}

/// Every dtype goes through `Identity` unchanged, except the `unsupported` ones, which must
/// be refused as `Unsupported` (never a failure or a wrong value).
pub fn check_dtype_round_trips(runtime: &dyn Runtime, unsupported: &[DType]) {
    let values = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.0, 1.0, 5.0]).expect("1-D");
    for dtype in DType::ALL {
        let mut g = GraphBuilder::new("id", 17);
        g.input("x", dtype, &[3]);
        g.node("Identity", "y", &["x"], vec![]);
        g.output("y", dtype);
        let input = Tensor::from_f64(dtype, &values);
        let result = runtime
            .prepare(&g.build())
            .and_then(|mut s| s.run(&[("x".into(), input.clone())]));
        match result {
            Err(e) if unsupported.contains(&dtype) => assert!(e.is_unsupported(), "{dtype}: {e}"),
            Ok(out) => {
                assert!(
                    !unsupported.contains(&dtype),
                    "{}: {dtype} is listed unsupported but runs",
                    runtime.name()
                );
                assert_eq!(out[0].1, input, "{}: {dtype}", runtime.name());
            }
            Err(e) => panic!("{}: {dtype}: {e}", runtime.name()),
        }
    }
}

/// `prepare_with_intermediates` returns the graph output first, then every node output.
pub fn check_intermediates(runtime: &dyn Runtime) {
    let mut g = GraphBuilder::new("chain", 17);
    g.input("x", DType::F32, &[2]);
    g.node("Relu", "r", &["x"], vec![]);
    g.node("Neg", "n", &["r"], vec![]);
    g.output("n", DType::F32);
    let out = runtime
        .prepare_with_intermediates(&g.build())
        .and_then(|mut s| s.run(&[("x".into(), f32s(&[2], &[-1.0, 2.0]))]))
        .unwrap_or_else(|e| panic!("{}: {e}", runtime.name()));
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["n", "r"], "{}", runtime.name());
    assert_eq!(out[1].1.to_f64_vec(), vec![0.0, 2.0], "{}", runtime.name());
}

/// An op nobody implements is `Unsupported` and names the node.
pub fn check_unknown_op_is_unsupported(runtime: &dyn Runtime) {
    let mut g = GraphBuilder::new("bogus", 17);
    g.input("x", DType::F32, &[2]);
    g.node("NoSuchOp", "bad", &["x"], vec![]);
    g.output("bad", DType::F32);
    let err = runtime
        .prepare(&g.build())
        .err()
        .expect("an unknown op must not prepare");
    assert!(err.is_unsupported(), "{}: {err}", runtime.name());
    assert_eq!(err.node(), Some("bad"), "{}: {err}", runtime.name());
}
