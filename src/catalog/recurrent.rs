//! Catalog: recurrent layers — RNN, GRU, LSTM with directions, sequence_lens, initial states, clip, activations.

use ndarray::{ArrayD, IxDyn};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::onnx::{AttributeProto, attribute_type};
use sysnoise_boundary::{DType, Tensor};

use super::{FLOATS_AND_HALVES, InputDesc, OpCase, OpSpec, Role, attr};

/// GRU and LSTM: ONNX Runtime registers f64 kernels that then fail ("does not support double
/// yet"), an error it does not mark as unsupported.
const GRU_LSTM_TYPES: &[DType] = &[DType::F32, DType::F16];

/// Whether cases may use `layout = 1` (batch-major X, Y and states). ONNX Runtime's CPU kernels
/// refuse it ("Batchwise recurrent operations (layout == 1) are not supported"), which the ORT
/// adapter reports as Unsupported, so such cases compare tract with the reference.
const BATCH_MAJOR: bool = true;

/// Activation functions a case may list (with their default alpha / beta).
const ACTIVATIONS: &[&str] = &["Tanh", "Sigmoid", "Relu", "HardSigmoid", "LeakyRelu", "Softsign"];

/// What tells the three ops apart.
#[derive(Clone, Copy, Debug)]
struct Kind {
    op: &'static str,
    gates: usize,
    /// Activation functions per direction.
    activations: usize,
    /// LSTM's cell state: the initial_c input, the peepholes P and the Y_c output.
    cell: bool,
    /// The op's own 0/1 attribute: GRU's linear_before_reset, LSTM's input_forget.
    flag: Option<&'static str>,
}

const RNN: Kind = Kind {
    op: "RNN",
    gates: 1,
    activations: 1,
    cell: false,
    flag: None,
};

const GRU: Kind = Kind {
    op: "GRU",
    gates: 3,
    activations: 2,
    cell: false,
    flag: Some("linear_before_reset"),
};

const LSTM: Kind = Kind {
    op: "LSTM",
    gates: 4,
    activations: 3,
    cell: true,
    flag: Some("input_forget"),
};

/// The sizes of a recurrent case.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
}

fn sizes() -> BoxedStrategy<Sizes> {
    (1usize..=5, 1usize..=3, 1usize..=5, 1usize..=6)
        .prop_map(|(seq, batch, input, hidden)| Sizes {
            seq,
            batch,
            input,
            hidden,
        })
        .boxed()
}

/// Which optional inputs and attributes a case uses.
#[derive(Clone, Debug)]
struct Options {
    /// `None`: the default forward.
    direction: Option<&'static str>,
    batch_major: bool,
    bias: bool,
    /// Per batch entry, taken modulo the sequence length (plus one).
    sequence_lens: Option<Vec<usize>>,
    initial_h: bool,
    initial_c: bool,
    peepholes: bool,
    flag: bool,
    clip: Option<f32>,
    /// The `activations` list (`None`: the op's defaults), cut to the case's length.
    activations: Option<Vec<&'static str>>,
    /// Y, Y_h (and Y_c) or fewer.
    outputs: usize,
}

fn options(batch: usize) -> BoxedStrategy<Options> {
    (
        select(vec![None, Some("reverse"), Some("bidirectional"), Some("forward")]),
        any::<bool>().prop_map(|b| b && BATCH_MAJOR),
        any::<bool>(),
        prop_oneof![Just(None), vec(0usize..5, batch).prop_map(Some)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(0.5f32)), Just(Some(3.0))],
        prop_oneof![Just(None), vec(select(ACTIVATIONS), 6).prop_map(Some)],
        1usize..=3,
    )
        .prop_map(
            |(
                direction,
                batch_major,
                bias,
                sequence_lens,
                initial_h,
                initial_c,
                peepholes,
                flag,
                clip,
                activations,
                outputs,
            )| {
                Options {
                    direction,
                    batch_major,
                    bias,
                    sequence_lens,
                    initial_h,
                    initial_c,
                    peepholes,
                    flag,
                    clip,
                    activations,
                    outputs,
                }
            },
        )
        .boxed()
}

impl Options {
    fn directions(&self) -> usize {
        if self.direction == Some("bidirectional") { 2 } else { 1 }
    }

    /// An initial state, `[directions, batch, hidden]` (batch first under layout 1).
    fn state(&self, dtype: DType, s: Sizes, present: bool) -> InputDesc {
        let dirs = self.directions();
        match (present, self.batch_major) {
            (false, _) => InputDesc::omitted(),
            (true, false) => InputDesc::weight(dtype, vec![dirs, s.batch, s.hidden]),
            (true, true) => InputDesc::weight(dtype, vec![s.batch, dirs, s.hidden]),
        }
    }

    /// sequence_lens as int32 values in `1..=seq` (ONNX Runtime refuses 0).
    fn sequence_lens(&self, s: Sizes) -> InputDesc {
        match &self.sequence_lens {
            Some(raw) => {
                let lens: Vec<i32> = raw.iter().map(|&l| (l % s.seq + 1) as i32).collect();
                InputDesc::fixed(Tensor::I32(
                    ArrayD::from_shape_vec(IxDyn(&[lens.len()]), lens).expect("1-D"),
                ))
            }
            None => InputDesc::omitted(),
        }
    }

    /// X, W, R, B, sequence_lens, initial_h, and for LSTM initial_c and P; trailing omitted
    /// ones left out.
    fn inputs(&self, kind: Kind, dtype: DType, s: Sizes) -> Vec<InputDesc> {
        let (dirs, rows) = (self.directions(), kind.gates * s.hidden);
        let x = if self.batch_major {
            vec![s.batch, s.seq, s.input]
        } else {
            vec![s.seq, s.batch, s.input]
        };
        let optional = |present: bool, shape: Vec<usize>| {
            if present {
                InputDesc::weight(dtype, shape)
            } else {
                InputDesc::omitted()
            }
        };
        let mut inputs = vec![
            InputDesc::data(dtype, x),
            InputDesc::weight(dtype, vec![dirs, rows, s.input]),
            InputDesc::weight(dtype, vec![dirs, rows, s.hidden]),
            optional(self.bias, vec![dirs, 2 * rows]),
            self.sequence_lens(s),
            self.state(dtype, s, self.initial_h),
        ];
        if kind.cell {
            inputs.push(self.state(dtype, s, self.initial_c));
            inputs.push(optional(self.peepholes, vec![dirs, 3 * s.hidden]));
        }
        while inputs.last().is_some_and(|d| d.role == Role::Omitted) {
            inputs.pop();
        }
        inputs
    }

    fn attributes(&self, kind: Kind, s: Sizes) -> Vec<AttributeProto> {
        let mut attrs = vec![attr::int("hidden_size", s.hidden as i64)];
        attrs.extend(self.direction.map(|d| attr::string("direction", d)));
        if self.batch_major {
            attrs.push(attr::int("layout", 1));
        }
        if let Some(flag) = kind.flag.filter(|_| self.flag) {
            attrs.push(attr::int(flag, 1));
        }
        attrs.extend(self.clip.map(|c| attr::float("clip", c)));
        if let Some(names) = &self.activations {
            attrs.push(strings("activations", &names[..kind.activations * self.directions()]));
        }
        attrs
    }
}

/// A list-of-strings attribute.
fn strings(name: &str, values: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: attribute_type::STRINGS,
        strings: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

fn recurrent(kind: Kind, dtype: DType) -> BoxedStrategy<OpCase> {
    sizes()
        .prop_flat_map(|s| (Just(s), options(s.batch)))
        .prop_map(move |(s, o)| {
            let mut case = OpCase::new(kind.op, dtype, o.inputs(kind, dtype, s), o.attributes(kind, s));
            let outputs = if kind.cell { 3 } else { 2 };
            case.num_outputs = o.outputs.min(outputs);
            case
        })
        .boxed()
}

macro_rules! spec {
    ($kind:expr, $dtypes:expr) => {
        OpSpec {
            op_type: $kind.op,
            family: "recurrent",
            dtypes: $dtypes,
            strategy: |d| recurrent($kind, d),
        }
    };
}

pub fn specs() -> Vec<OpSpec> {
    vec![
        spec!(RNN, FLOATS_AND_HALVES),
        spec!(GRU, GRU_LSTM_TYPES),
        spec!(LSTM, GRU_LSTM_TYPES),
    ]
}
