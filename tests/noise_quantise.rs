//! INT8 static quantisation (QDQ) as inference noise, checked on the real runtimes.
//!
//! Hand-computed scales on a tiny graph; the committed Fashion-MNIST CNN quantised per tensor
//! and per channel: its accuracy on ORT and its agreement with the reference.

use std::path::Path;

use ndarray::{ArrayD, IxDyn, s};
use sysnoise::noise::fmnist::{DEBIAN_DIR, accuracy, load_test_set, model_path, predict};
use sysnoise::noise::ort_int8::EmulatedOrtInt8;
use sysnoise::noise::quantise::{Granularity, expand_qdq, quantise_static};
use sysnoise_boundary::onnx::data_type;
use sysnoise_boundary::{Cpu, DType, GraphBuilder, Model, NamedTensors, Runtime, Tensor, U8S8Accumulation, attr};

fn runtime(name: &str) -> Box<dyn Runtime> {
    sysnoise::registry::build(name).unwrap_or_else(|e| panic!("{e}"))
}

fn initialiser(model: &Model, name: &str) -> Tensor {
    let proto = model
        .graph()
        .initializer
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no initialiser '{name}'"));
    Tensor::from_proto(proto).unwrap()
}

fn scalar_f32(model: &Model, name: &str) -> f32 {
    match initialiser(model, name) {
        Tensor::F32(a) if a.ndim() == 0 => a[IxDyn(&[])],
        other => panic!("{name}: {other:?}"),
    }
}

fn scalar_u8(model: &Model, name: &str) -> u8 {
    match initialiser(model, name) {
        Tensor::U8(a) if a.ndim() == 0 => a[IxDyn(&[])],
        other => panic!("{name}: {other:?}"),
    }
}

fn count(model: &Model, op_type: &str) -> usize {
    model.graph().node.iter().filter(|n| n.op_type == op_type).count()
}

fn close(got: f32, want: f64) -> bool {
    (f64::from(got) - want).abs() <= 1e-6 * want.abs()
}

fn row(values: &[f32]) -> NamedTensors {
    let x = ArrayD::from_shape_vec(IxDyn(&[1, values.len()]), values.to_vec()).unwrap();
    vec![("x".to_string(), Tensor::F32(x))]
}

fn run(runtime: &dyn Runtime, model: &Model, inputs: &NamedTensors) -> Vec<f64> {
    let outputs = runtime
        .prepare(model)
        .and_then(|mut s| s.run(inputs))
        .unwrap_or_else(|e| panic!("{}: {e}", runtime.name()));
    outputs[0].1.to_f64_vec()
}

/// x[1,3] → Gemm(B[2,3], c[2], transB) → h → Relu → r → MatMul(W2[2,2]) → y.
fn tiny(opset: i64) -> Model {
    let mut g = GraphBuilder::new("tiny", opset);
    g.input("x", DType::F32, &[1, 3]);
    let b = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.5f32, -1.2, 0.25, 2.0, 0.1, -0.3]).unwrap();
    g.constant("B", &Tensor::F32(b));
    g.constant(
        "c",
        &Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.1f32, -0.2]).unwrap()),
    );
    let w2 = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.1f32, -0.5, 0.25, -2.0]).unwrap();
    g.constant("W2", &Tensor::F32(w2));
    g.node("Gemm", "h", &["x", "B", "c"], vec![attr::int("transB", 1)]);
    g.node("Relu", "r", &["h"], vec![]);
    g.node("MatMul", "y", &["r", "W2"], vec![]);
    g.output("y", DType::F32);
    g.build()
}

#[test]
fn scales_and_zero_points_of_a_tiny_graph_match_the_hand_computation() {
    let model = tiny(13);
    // x over both inputs: [-1, 3]. h = x·Bᵀ + c is [-0.5, -2.75] then [-3.5, 0.75], so
    // r = Relu(h) spans [0, 0.75], and y = r·W2 spans [-1.5, 0.1875].
    let calibration = [row(&[-1.0, 0.5, 2.0]), row(&[0.25, 3.0, -0.5])];
    let ort = runtime("ort");
    let reference = runtime("reference");
    for granularity in [Granularity::PerTensor, Granularity::PerChannel] {
        let (q, report) = quantise_static(&model, &calibration, ort.as_ref(), granularity).unwrap();
        // x, r, y; B, W2; c.
        assert_eq!(report.changes, 6, "{granularity:?}");
        assert_eq!(count(&q, "QuantizeLinear"), 3);
        assert_eq!(count(&q, "DequantizeLinear"), 6);
        assert_eq!(count(&q, "Relu"), 1, "the Relu stays; its output is quantised");
        // Activations: scale (max − min) / 255 over a range holding 0, zero point round(−min / scale).
        assert!(close(scalar_f32(&q, "x_scale"), 4.0 / 255.0));
        assert_eq!(scalar_u8(&q, "x_zero_point"), 64, "round(1 / (4/255)) = round(63.75)");
        assert!(close(scalar_f32(&q, "r_scale"), 0.75 / 255.0));
        assert_eq!(scalar_u8(&q, "r_zero_point"), 0);
        assert!(close(scalar_f32(&q, "y_scale"), 1.6875 / 255.0));
        assert_eq!(
            scalar_u8(&q, "y_zero_point"),
            227,
            "round(1.5 / (1.6875/255)) = round(226.67)"
        );
        // h feeds only the Relu, so it is not quantised itself (ORT folds the Relu).
        assert!(q.graph().initializer.iter().all(|t| t.name != "h_scale"));
        // The graph output keeps its name, now on the DequantizeLinear.
        let last = q.producer("y").unwrap();
        assert_eq!(last.op_type, "DequantizeLinear");
        assert_eq!(q.producer("y_QuantizeLinear_Input").unwrap().op_type, "MatMul");
        // No float weight is left.
        for name in ["B", "c", "W2"] {
            assert!(
                q.graph().initializer.iter().all(|t| t.name != name),
                "{name} still float"
            );
        }
        let ints = |name: &str| initialiser(&q, name).to_f64_vec();
        let axis = |dq_input: &str| {
            let node = q
                .graph()
                .node
                .iter()
                .find(|n| n.op_type == "DequantizeLinear" && n.input[0] == dq_input)
                .unwrap();
            node.attribute.iter().find(|a| a.name == "axis").map(|a| a.i)
        };
        assert_eq!(initialiser(&q, "B_quantized").dtype(), DType::I8);
        assert_eq!(initialiser(&q, "c_quantized").dtype(), DType::I32);
        let (input_scale, b_scales) = ((4.0f64 / 255.0) as f32, initialiser(&q, "B_scale").to_f64_vec());
        match granularity {
            Granularity::PerTensor => {
                // max|B| = 2: scale 2/127; 0.5·63.5 = 31.75 → 32, −1.2·63.5 = −76.2 → −76, ...
                assert_eq!(b_scales, vec![f64::from((2.0f64 / 127.0) as f32)]);
                assert_eq!(ints("B_quantized"), vec![32.0, -76.0, 16.0, 127.0, 6.0, -19.0]);
                // W2: max 2 → 1.1·63.5 = 69.85 → 70, −0.5·63.5 = −31.75 → −32, 0.25 → 16, −2 → −127.
                assert_eq!(ints("W2_quantized"), vec![70.0, -32.0, 16.0, -127.0]);
                // Bias scale = x scale · B scale: 0.1 · 255·127/8 = 404.81 → 405, −0.2 → −809.6 → −810.
                assert_eq!(ints("c_quantized"), vec![405.0, -810.0]);
                assert_eq!(axis("B_quantized"), None);
            }
            Granularity::PerChannel => {
                // Rows of B (transB: axis 0): max 1.2 and 2.
                let expected: Vec<f64> = [1.2f64, 2.0].iter().map(|m| f64::from((m / 127.0) as f32)).collect();
                assert_eq!(b_scales, expected);
                assert_eq!(ints("B_quantized"), vec![53.0, -127.0, 26.0, 127.0, 6.0, -19.0]);
                // Columns of W2 (MatMul: axis 1): max 1.1 and 2.
                assert_eq!(ints("W2_quantized"), vec![127.0, -32.0, 29.0, -127.0]);
                // Bias channel 0: 0.1 · 255·127/4.8 = 674.69 → 675.
                assert_eq!(ints("c_quantized"), vec![675.0, -810.0]);
                assert_eq!(axis("B_quantized"), Some(0));
                assert_eq!(axis("W2_quantized"), Some(1));
                assert_eq!(axis("c_quantized"), Some(0));
            }
        }
        let bias_scale = initialiser(&q, "c_quantized_scale").to_f64_vec();
        for (got, w) in bias_scale.iter().zip(&b_scales) {
            assert_eq!(*got, f64::from(input_scale * *w as f32));
        }
        // ORT runs the QDQ model, the reference its float expansion; both land on y's grid.
        let y_scale = f64::from(scalar_f32(&q, "y_scale"));
        let expanded = expand_qdq(&q).unwrap();
        assert_eq!(
            count(&expanded, "QuantizeLinear") + count(&expanded, "DequantizeLinear"),
            0
        );
        for inputs in &calibration {
            let by_ort = run(ort.as_ref(), &q, inputs);
            let by_reference = run(reference.as_ref(), &expanded, inputs);
            let float = run(reference.as_ref(), &model, inputs);
            for ((o, r), f) in by_ort.iter().zip(&by_reference).zip(&float) {
                let level = o / y_scale + 227.0;
                assert!((level - level.round()).abs() < 1e-3, "{o} is not on y's grid");
                assert!((o - r).abs() < 1e-6, "{granularity:?}: ORT {o} vs reference {r}");
                // Rounding x, B, r and W2 moves y by a few of its quanta (1.5 − 1.469 here).
                assert!((o - f).abs() <= 0.05, "{granularity:?}: quantised {o} vs float {f}");
            }
        }
    }
}

#[test]
fn a_lower_opset_is_raised_to_13_unless_an_op_changed_meaning() {
    let calibration = [row(&[-1.0, 0.5, 2.0])];
    let ort = runtime("ort");
    let (q, _) = quantise_static(&tiny(11), &calibration, ort.as_ref(), Granularity::PerChannel).unwrap();
    assert_eq!(q.opset(""), Some(13));
    assert_eq!(run(ort.as_ref(), &q, &calibration[0]).len(), 2);
    // Softmax's axis means something else from opset 13 on: refused, naming the node.
    let mut with_softmax = tiny(11);
    with_softmax.graph_mut().node.push(sysnoise_boundary::onnx::NodeProto {
        op_type: "Softmax".into(),
        name: "probabilities".into(),
        input: vec!["y".into()],
        output: vec!["p".into()],
        ..Default::default()
    });
    let err = quantise_static(&with_softmax, &calibration, ort.as_ref(), Granularity::PerTensor)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("'probabilities'") && err.contains("opset 11"), "{err}");
    // No calibration data is a usage error.
    let err = quantise_static(&tiny(13), &[], ort.as_ref(), Granularity::PerTensor)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("calibration"), "{err}");
}

/// Logits of `images` on `runtime`.
fn logits(runtime: &dyn Runtime, model: &Model, images: &ArrayD<f32>) -> Vec<f64> {
    let inputs = vec![("image".to_string(), Tensor::F32(images.clone()))];
    run(runtime, model, &inputs)
}

#[test]
fn int8_fashion_mnist_stays_accurate_but_is_not_the_float_model() {
    const EVALUATED: usize = 500;
    const CALIBRATION: usize = 64;
    let set = load_test_set(Path::new(DEBIAN_DIR), EVALUATED + CALIBRATION).unwrap_or_else(|e| panic!("{e}"));
    let images = set.images.slice(s![..EVALUATED, .., .., ..]).to_owned().into_dyn();
    let labels = &set.labels[..EVALUATED];
    // Calibrate on 64 other test images, in batches of 16.
    let calibration: Vec<NamedTensors> = (0..CALIBRATION / 16)
        .map(|b| {
            let start = EVALUATED + 16 * b;
            let batch = set
                .images
                .slice(s![start..start + 16, .., .., ..])
                .to_owned()
                .into_dyn();
            vec![("image".to_string(), Tensor::F32(batch))]
        })
        .collect();
    let model = Model::load(&model_path()).unwrap();
    let ort = runtime("ort");
    let reference = runtime("reference");
    let float = predict(ort.as_ref(), &model, &images, 100).unwrap();
    let float_accuracy = accuracy(&float, labels);
    let first = images.slice(s![..20, .., .., ..]).to_owned().into_dyn();
    let float_logits = logits(ort.as_ref(), &model, &first);
    let mut line = format!("fashion-mnist, {EVALUATED} test images on ORT: fp32 {float_accuracy:.3}");
    for granularity in [Granularity::PerTensor, Granularity::PerChannel] {
        let (q, report) = quantise_static(&model, &calibration, ort.as_ref(), granularity).unwrap();
        // image, 3 Relu outputs, 2 MaxPool outputs, the Flatten output, logits; 4 weights;
        // 4 biases.
        assert_eq!(report.changes, 16, "{granularity:?}");
        assert_eq!(count(&q, "QuantizeLinear"), 8);
        assert_eq!(count(&q, "DequantizeLinear"), 16);
        let graph = q.graph();
        let int8: Vec<_> = graph
            .initializer
            .iter()
            .filter(|t| t.data_type == data_type::INT8 && t.name.ends_with("_quantized"))
            .collect();
        assert_eq!(int8.len(), 4, "Conv × 3 and Gemm weights in int8");
        assert!(
            graph
                .initializer
                .iter()
                .filter(|t| t.data_type == data_type::FLOAT)
                .all(|t| t.dims.len() <= 1),
            "a float weight is left"
        );
        let channels: Vec<Vec<i64>> = ["8.weight_scale", "12.weight_scale"]
            .iter()
            .map(|n| graph.initializer.iter().find(|t| t.name == *n).unwrap().dims.clone())
            .collect();
        match granularity {
            Granularity::PerTensor => assert_eq!(channels, vec![Vec::<i64>::new(), vec![]]),
            Granularity::PerChannel => assert_eq!(channels, vec![vec![64], vec![10]]),
        }
        // The noise is real: logits move, some predictions flip.
        let quantised_logits = logits(ort.as_ref(), &q, &first);
        let moved = float_logits
            .iter()
            .zip(&quantised_logits)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(moved > 1e-2, "{granularity:?}: logits moved by {moved} only");
        // The logits themselves are quantised (uint8 levels 0.15 apart), so top-1 ties occur:
        // 16 of 500 per tensor, which `predict` breaks towards the last class (numpy's argmax
        // towards the first: 0.852 instead of 0.860).
        let (scale, zero_point) = (scalar_f32(&q, "logits_scale"), scalar_u8(&q, "logits_zero_point"));
        for v in &quantised_logits {
            let level = v / f64::from(scale) + f64::from(zero_point);
            assert!((level - level.round()).abs() < 1e-3, "logit {v} is not on its grid");
        }
        let by_ort = predict(ort.as_ref(), &q, &images, 100).unwrap();
        let quantised_accuracy = accuracy(&by_ort, labels);
        let flips = float.iter().zip(&by_ort).filter(|(a, b)| a != b).count();
        // What ORT computes depends on the CPU: its u8 × s8 kernels saturate pairs of products
        // without VNNI. The expectation is the emulation of the kernels this CPU selects, which
        // agrees with ORT on every prediction (tests/int8_isa.rs checks every logit).
        let emulation = EmulatedOrtInt8::for_cpu(Cpu::here());
        let by_emulation = predict(&emulation, &q, &images, 100).unwrap();
        let disagreements = by_ort.iter().zip(&by_emulation).filter(|(a, b)| a != b).count();
        // The f64 reference runs the QDQ model as float ops: exact quantised arithmetic, which
        // only rounding ties separate from an exact integer kernel.
        let expanded = expand_qdq(&q).unwrap();
        let by_reference = predict(reference.as_ref(), &expanded, &images, 100).unwrap();
        let off_reference = by_ort.iter().zip(&by_reference).filter(|(a, b)| a != b).count();
        line += &format!(
            ", {} {quantised_accuracy:.3} ({flips} flips vs fp32, max logit change {moved:.3}; \
             {} disagrees with ORT on {disagreements}, the float reference on {off_reference})",
            granularity.name(),
            emulation.name()
        );
        assert!(flips > 0, "{granularity:?}: no prediction changed");
        assert!(
            (quantised_accuracy - float_accuracy).abs() <= 0.03,
            "{granularity:?}: accuracy {quantised_accuracy} vs fp32 {float_accuracy}"
        );
        assert_eq!(
            disagreements,
            0,
            "{granularity:?}: ORT and {} disagree on {disagreements} of {EVALUATED} on {}",
            emulation.name(),
            Cpu::here().summary()
        );
        if sysnoise_ort::u8s8_accumulation(Cpu::here()) == U8S8Accumulation::Exact {
            assert!(
                off_reference <= EVALUATED / 100,
                "{granularity:?}: exact int8 kernels and the float reference disagree on {off_reference}"
            );
        }
    }
    println!("{line}");
}
