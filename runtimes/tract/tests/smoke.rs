//! Smoke tests of the tract adapter: the shared adapter checks, in both modes.

use sysnoise_boundary::{DType, testkit};
use sysnoise_tract::{TractMode, TractRuntime};

fn both_modes() -> [TractRuntime; 2] {
    [
        TractRuntime::new("tract", TractMode::Optimized),
        TractRuntime::new("tract-const", TractMode::ConstantParameters),
    ]
}

#[test]
fn one_node_graph_runs_in_both_modes() {
    for rt in both_modes() {
        testkit::check_one_node_graph(&rt);
    }
}

#[test]
fn every_supported_dtype_round_trips_and_bf16_is_unsupported() {
    for rt in both_modes() {
        testkit::check_dtype_round_trips(&rt, &[DType::BF16]);
    }
}

#[test]
fn intermediates_are_returned_and_unknown_ops_are_unsupported() {
    let rt = TractRuntime::new("tract", TractMode::Optimized);
    testkit::check_intermediates(&rt);
    testkit::check_unknown_op_is_unsupported(&rt);
}

/// `x [batch, 3] → Relu → y` with value_info `y: [batch, 3]`, as exporters write it.
fn symbolic_value_info_model() -> sysnoise_boundary::Model {
    use sysnoise_boundary::onnx::tensor_shape_proto::{Dimension, dimension};
    use sysnoise_boundary::{GraphBuilder, tensor_value_info};
    let symbolic = |name: &str| {
        let mut info = tensor_value_info(name, DType::F32, &[1, 3]);
        if let Some(sysnoise_boundary::onnx::type_proto::Value::TensorType(t)) =
            info.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            t.shape.as_mut().unwrap().dim[0] = Dimension {
                value: Some(dimension::Value::DimParam("batch".into())),
                ..Default::default()
            };
        }
        info
    };
    let mut g = GraphBuilder::new("symbolic", 13);
    g.input("x", DType::F32, &[1, 3]);
    g.node("Relu", "r", &["x"], vec![]);
    g.node("Neg", "y", &["r"], vec![]);
    g.output("y", DType::F32);
    let mut model = g.build();
    let graph = model.graph_mut();
    graph.input[0] = symbolic("x");
    graph.value_info.push(symbolic("r"));
    model
}

#[test]
fn symbolic_dims_in_value_info_run_as_tract_ignores_them() {
    use sysnoise_boundary::{Runtime, Tensor};
    let model = symbolic_value_info_model();
    let x = Tensor::F32(ndarray::ArrayD::from_shape_vec(vec![2, 3], vec![-1.0, 2.0, -3.0, 4.0, -5.0, 6.0]).unwrap());
    for rt in both_modes() {
        let outputs = rt
            .prepare(&model)
            .and_then(|mut s| s.run(&[("x".into(), x.clone())]))
            .unwrap_or_else(|e| panic!("{}: {e}", rt.name()));
        assert_eq!(
            outputs[0].1.to_f64_vec(),
            vec![0.0, -2.0, 0.0, -4.0, 0.0, -6.0],
            "{}",
            rt.name()
        );
    }
}
