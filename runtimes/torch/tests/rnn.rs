//! Recurrent families against the reference: RNN, GRU (linear_before_reset), LSTM (peepholes,
//! input_forget), in every direction, with sequence_lens, initial states, layout and clip;
//! activation lists other than the defaults are declined.

use crate::common;

use crate::common::{attr, case, i32s, seeded};
use sysnoise_boundary::DType;
use sysnoise_boundary::onnx::{AttributeProto, attribute_type};

const F32: DType = DType::F32;

fn strings(name: &str, values: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: attribute_type::STRINGS,
        strings: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

fn gates(op: &str) -> usize {
    match op {
        "RNN" => 1,
        "GRU" => 3,
        _ => 4,
    }
}

/// A recurrent node over X `[seq, batch, input]` (batch first with layout 1) with hidden size
/// `hidden`, all optional inputs given, and extra attributes.
fn recurrent(op: &str, direction: &str, layout: i64, lens: Option<&[i32]>, attrs: Vec<AttributeProto>) {
    let (seq, batch, input, hidden) = (4, 3, 2, 3);
    let dirs = if direction == "bidirectional" { 2 } else { 1 };
    let rows = gates(op) * hidden;
    let x_shape = if layout == 1 {
        [batch, seq, input]
    } else {
        [seq, batch, input]
    };
    let state_shape = if layout == 1 {
        [batch, dirs, hidden]
    } else {
        [dirs, batch, hidden]
    };
    let scaled = |shape: &[usize], seed: u64| {
        let t = seeded(shape, seed);
        let values: Vec<f32> = t.to_f64_vec().iter().map(|v| (*v / 4.0) as f32).collect();
        common::f32s(shape, &values)
    };
    let mut c = case(op, 14)
        .input("x", seeded(&x_shape, 1))
        .constant("w", scaled(&[dirs, rows, input], 2))
        .constant("r", scaled(&[dirs, rows, hidden], 3))
        .constant("b", scaled(&[dirs, 2 * rows], 4));
    c = match lens {
        Some(l) => c.input("lens", i32s(&[batch], l)),
        None => c.omitted(),
    };
    c = c.input("h0", scaled(&state_shape, 5));
    if op == "LSTM" {
        c = c
            .input("c0", scaled(&state_shape, 6))
            .constant("p", scaled(&[dirs, 3 * hidden], 7));
    }
    c = c
        .attr(attr::string("direction", direction))
        .attr(attr::int("hidden_size", hidden as i64))
        .attr(attr::int("layout", layout));
    for a in attrs {
        c = c.attr(a);
    }
    c = c.output("y", F32).output("y_h", F32);
    if op == "LSTM" {
        c = c.output("y_c", F32);
    }
    c.agrees(1e-5, 1e-5);
}

#[test]
fn recurrent_directions_layouts_and_sequence_lengths() {
    for op in ["RNN", "GRU", "LSTM"] {
        for direction in ["forward", "reverse", "bidirectional"] {
            for layout in [0, 1] {
                recurrent(op, direction, layout, None, vec![]);
                recurrent(op, direction, layout, Some(&[4, 2, 0]), vec![]);
            }
        }
    }
}

#[test]
fn recurrent_options() {
    for lbr in [0, 1] {
        recurrent(
            "GRU",
            "bidirectional",
            0,
            Some(&[1, 4, 3]),
            vec![attr::int("linear_before_reset", lbr)],
        );
    }
    recurrent("LSTM", "forward", 0, None, vec![attr::int("input_forget", 1)]);
    for op in ["RNN", "GRU", "LSTM"] {
        recurrent(op, "reverse", 1, None, vec![attr::float("clip", 0.5)]);
    }
    // The default activations spelled out (any case), once or per direction.
    recurrent(
        "LSTM",
        "bidirectional",
        0,
        None,
        vec![strings("activations", &["Sigmoid", "Tanh", "TANH"])],
    );
    recurrent(
        "GRU",
        "bidirectional",
        0,
        None,
        vec![strings("activations", &["Sigmoid", "Tanh", "Sigmoid", "Tanh"])],
    );
}

#[test]
fn recurrent_minimal_inputs() {
    // Only X, W, R: no bias, zero initial state.
    for op in ["RNN", "GRU", "LSTM"] {
        let rows = gates(op) * 2;
        case(op, 14)
            .input("x", seeded(&[3, 2, 4], 1))
            .constant("w", seeded(&[1, rows, 4], 2))
            .constant("r", seeded(&[1, rows, 2], 3))
            .attr(attr::int("hidden_size", 2))
            .output("y", F32)
            .output("y_h", F32)
            .agrees(1e-5, 1e-5);
    }
}

#[test]
fn recurrent_other_activations_are_declined() {
    case("RNN", 14)
        .input("x", seeded(&[3, 2, 4], 1))
        .constant("w", seeded(&[1, 2, 4], 2))
        .constant("r", seeded(&[1, 2, 2], 3))
        .attr(attr::int("hidden_size", 2))
        .attr(strings("activations", &["Relu"]))
        .output("y", F32)
        .unsupported_at_prepare();
    case("LSTM", 14)
        .input("x", seeded(&[3, 2, 4], 1))
        .constant("w", seeded(&[1, 8, 4], 2))
        .constant("r", seeded(&[1, 8, 2], 3))
        .attr(attr::int("hidden_size", 2))
        .attr(strings("activations", &["HardSigmoid", "Tanh", "Tanh"]))
        .output("y", F32)
        .unsupported_at_prepare();
}
