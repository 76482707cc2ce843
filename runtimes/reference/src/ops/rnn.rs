//! Reference kernels: recurrent layers (RNN, GRU, LSTM) with directions, sequence_lens, layout and activations.

use ndarray::{Array1, Array2, Array3, Array4, ArrayD, ArrayView1, Ix2, Ix3, s};

use super::Registry;
use super::activation::sigmoid;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("RNN", rnn);
    r.add("GRU", gru);
    r.add("LSTM", lstm);
}

const RNN: Kind = Kind {
    gates: 1,
    default_activations: &["Tanh"],
    has_cell: false,
};

const GRU: Kind = Kind {
    gates: 3,
    default_activations: &["Sigmoid", "Tanh"],
    has_cell: false,
};

const LSTM: Kind = Kind {
    gates: 4,
    default_activations: &["Sigmoid", "Tanh", "Tanh"],
    has_cell: true,
};

fn rnn(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    recur(ctx, inputs, &RNN, rnn_cell)
}

fn gru(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let linear_before_reset = ctx.int("linear_before_reset", 0) != 0;
    recur(ctx, inputs, &GRU, |d, x, s| gru_cell(d, x, s, linear_before_reset))
}

fn lstm(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let input_forget = ctx.int("input_forget", 0) != 0;
    recur(ctx, inputs, &LSTM, |d, x, s| lstm_cell(d, x, s, input_forget))
}

/// `Ht = f(Xt Wi^T + Ht-1 Ri^T + Wbi + Rbi)`.
fn rnn_cell(d: &Direction, x: ArrayView1<f64>, s: &State) -> State {
    let h = d.act(0, d.input_part(0, x) + d.recurrent_part(0, &s.h));
    State { h, c: s.c.clone() }
}

/// Gates z, r, h (in that order in W, R, B); activations f (gates z, r) and g (candidate).
fn gru_cell(d: &Direction, x: ArrayView1<f64>, s: &State, linear_before_reset: bool) -> State {
    let z = d.act(0, d.input_part(0, x) + d.recurrent_part(0, &s.h));
    let r = d.act(0, d.input_part(1, x) + d.recurrent_part(1, &s.h));
    let candidate = if linear_before_reset {
        d.input_part(2, x) + &r * &d.recurrent_part(2, &s.h)
    } else {
        d.input_part(2, x) + d.recurrent_part(2, &(&r * &s.h))
    };
    let candidate = d.act(1, candidate);
    let h = (1.0 - &z) * &candidate + &z * &s.h;
    State { h, c: s.c.clone() }
}

/// Gates i, o, f, c (in that order in W, R, B), peepholes i, o, f (in P); activations f (gates),
/// g (cell candidate) and h (output of the cell state).
fn lstm_cell(d: &Direction, x: ArrayView1<f64>, s: &State, input_forget: bool) -> State {
    let pre = |g: usize| d.input_part(g, x) + d.recurrent_part(g, &s.h);
    let i = d.act(0, pre(0) + &d.peephole(0) * &s.c);
    let f = if input_forget {
        1.0 - &i
    } else {
        d.act(0, pre(2) + &d.peephole(2) * &s.c)
    };
    let candidate = d.act(1, pre(3));
    let c = &f * &s.c + &i * &candidate;
    let o = d.act(0, pre(1) + &d.peephole(1) * &c);
    let h = o * d.act(2, c.clone());
    State { h, c }
}

/// What distinguishes the three ops to the shared driver.
struct Kind {
    /// Gate blocks stacked in W and R (1 for RNN, 3 for GRU, 4 for LSTM).
    gates: usize,
    /// The activations of one direction when the node gives none.
    default_activations: &'static [&'static str],
    /// Whether there is a cell state: inputs `initial_c` and `P`, output `Y_c` (LSTM).
    has_cell: bool,
}

/// The recurrent state of one batch entry in one direction (`c` is empty without a cell).
#[derive(Clone, Debug)]
struct State {
    h: Array1<f64>,
    c: Array1<f64>,
}

/// One direction's parameters, as a cell function sees them.
struct Direction {
    hidden: usize,
    /// `[gates * hidden, input]`.
    w: Array2<f64>,
    /// `[gates * hidden, hidden]`.
    r: Array2<f64>,
    /// `[gates * hidden]` each.
    wb: Array1<f64>,
    rb: Array1<f64>,
    /// Peepholes `[3 * hidden]` (LSTM only; zeros when not given).
    p: Array1<f64>,
    activations: Vec<Activation>,
    clip: Option<f64>,
}

impl Direction {
    /// `W_g x + Wb_g` for gate block `g`.
    fn input_part(&self, g: usize, x: ArrayView1<f64>) -> Array1<f64> {
        let rows = g * self.hidden..(g + 1) * self.hidden;
        self.w.slice(s![rows.clone(), ..]).dot(&x) + self.wb.slice(s![rows])
    }

    /// `R_g h + Rb_g` for gate block `g`.
    fn recurrent_part(&self, g: usize, h: &Array1<f64>) -> Array1<f64> {
        let rows = g * self.hidden..(g + 1) * self.hidden;
        self.r.slice(s![rows.clone(), ..]).dot(h) + self.rb.slice(s![rows])
    }

    /// Peephole block `k` (0: input, 1: output, 2: forget).
    fn peephole(&self, k: usize) -> ArrayView1<'_, f64> {
        self.p.slice(s![k * self.hidden..(k + 1) * self.hidden])
    }

    /// Activation function `k` of this direction, applied to `v` after clipping.
    fn act(&self, k: usize, v: Array1<f64>) -> Array1<f64> {
        let f = self.activations[k];
        match self.clip {
            Some(c) => v.mapv_into(|x| f.apply(x.clamp(-c, c))),
            None => v.mapv_into(|x| f.apply(x)),
        }
    }
}

/// The activation functions the spec lists for recurrent ops, with their alpha/beta.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Affine(f64, f64),
    LeakyRelu(f64),
    ThresholdedRelu(f64),
    ScaledTanh(f64, f64),
    HardSigmoid(f64, f64),
    Elu(f64),
    Softsign,
    Softplus,
}

impl Activation {
    /// Parses `name` (case-insensitively), taking alpha / beta from the given lists when the
    /// function uses them, else the ONNX operators' defaults.
    fn parse(
        name: &str,
        alphas: &mut impl Iterator<Item = f64>,
        betas: &mut impl Iterator<Item = f64>,
    ) -> Result<Activation, OpError> {
        let mut alpha = |default: f64| alphas.next().unwrap_or(default);
        let mut beta = |default: f64| betas.next().unwrap_or(default);
        Ok(match name.to_ascii_lowercase().as_str() {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "affine" => Activation::Affine(alpha(1.0), beta(0.0)),
            "leakyrelu" => Activation::LeakyRelu(alpha(0.01)),
            "thresholdedrelu" => Activation::ThresholdedRelu(alpha(1.0)),
            "scaledtanh" => Activation::ScaledTanh(alpha(1.0), beta(1.0)),
            "hardsigmoid" => Activation::HardSigmoid(alpha(0.2), beta(0.5)),
            "elu" => Activation::Elu(alpha(1.0)),
            "softsign" => Activation::Softsign,
            "softplus" => Activation::Softplus,
            _ => return Err(OpError::unsupported(format!("activation function '{name}'"))),
        })
    }

    fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Affine(a, b) => a * x + b,
            Activation::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Activation::ThresholdedRelu(a) => {
                if x >= a {
                    x
                } else {
                    0.0
                }
            }
            Activation::ScaledTanh(a, b) => a * (b * x).tanh(),
            Activation::HardSigmoid(a, b) => (a * x + b).clamp(0.0, 1.0),
            Activation::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x.exp_m1()
                }
            }
            Activation::Softsign => x / (1.0 + x.abs()),
            // log(1 + e^x), without overflow for large x.
            Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
        }
    }
}

/// The activations of each direction: the node's `activations` (all directions', or one
/// direction's for both) or the op's defaults.
fn activations(ctx: &OpContext, kind: &Kind, directions: usize) -> Result<Vec<Vec<Activation>>, OpError> {
    let per_direction = kind.default_activations.len();
    let names: Vec<String> = match ctx.strings("activations") {
        Some(names) if !names.is_empty() => names,
        _ => kind.default_activations.iter().map(|n| n.to_string()).collect(),
    };
    if names.len() != per_direction && names.len() != per_direction * directions {
        return Err(OpError::invalid(format!(
            "{} activations for {directions} direction(s), expected {}",
            names.len(),
            per_direction * directions
        )));
    }
    let mut alphas = ctx.floats("activation_alpha").unwrap_or_default().into_iter();
    let mut betas = ctx.floats("activation_beta").unwrap_or_default().into_iter();
    let parsed = names
        .iter()
        .map(|n| Activation::parse(n, &mut alphas, &mut betas))
        .collect::<Result<Vec<_>, _>>()?;
    let mut chunks: Vec<Vec<Activation>> = parsed.chunks(per_direction).map(<[_]>::to_vec).collect();
    while chunks.len() < directions {
        chunks.push(chunks[0].clone());
    }
    Ok(chunks)
}

/// A float input as a rank-3 array of the expected shape.
fn rank3(value: &Value, name: &str, want: [usize; 3]) -> Result<Array3<f64>, OpError> {
    let a = value.as_float()?;
    if a.shape() != want {
        return Err(OpError::invalid(format!(
            "{name} has shape {:?}, expected {want:?}",
            a.shape()
        )));
    }
    Ok(a.clone().into_dimensionality::<Ix3>().expect("checked"))
}

/// A float input as a rank-2 array of the expected shape.
fn rank2(value: &Value, name: &str, want: [usize; 2]) -> Result<Array2<f64>, OpError> {
    let a = value.as_float()?;
    if a.shape() != want {
        return Err(OpError::invalid(format!(
            "{name} has shape {:?}, expected {want:?}",
            a.shape()
        )));
    }
    Ok(a.clone().into_dimensionality::<Ix2>().expect("checked"))
}

/// An optional initial state (`[dirs, batch, hidden]`, or `[batch, dirs, hidden]` with layout
/// 1) as `[dirs, batch, hidden]`, zeros when absent.
fn initial_state(
    ctx: &OpContext,
    inputs: &[Option<Value>],
    index: usize,
    name: &str,
    batch_major: bool,
    [dirs, batch, hidden]: [usize; 3],
) -> Result<Array3<f64>, OpError> {
    Ok(match ctx.optional_input(inputs, index) {
        None => Array3::zeros((dirs, batch, hidden)),
        Some(v) if batch_major => rank3(v, name, [batch, dirs, hidden])?.permuted_axes([1, 0, 2]),
        Some(v) => rank3(v, name, [dirs, batch, hidden])?,
    })
}

/// The shared recurrence, written from the equations of the ONNX operator specification: validates
/// inputs X, W, R, B, sequence_lens, initial_h (initial_c, P), normalises `layout` to
/// `[seq, batch, ...]`, runs `cell` over each direction and each batch entry's valid steps, and
/// returns Y, Y_h (Y_c) truncated to the node's declared outputs.
///
/// Points the specification leaves open, decided here:
/// - `clip` bounds the *inputs* of the activation functions (as the spec says); the LSTM cell
///   state itself is not clipped, only its copy passed to `h`.
/// - `activation_alpha` / `activation_beta` are consumed in order by the activation functions
///   that take an alpha (resp. beta) only; the others use none. Missing values take the
///   defaults of the corresponding ONNX operators. ThresholdedRelu is `x if x >= alpha`, as the
///   recurrent ops' activation list defines it (the ThresholdedRelu op uses `>`).
/// - A bidirectional node may list the activations of one direction only; both use them.
/// - `input_forget` couples the gates as `f = 1 - i`.
/// - A batch entry with `sequence_lens` 0 has all-zero `Y` and keeps its initial state as `Y_h`
///   (`Y_c`).
fn recur(
    ctx: &OpContext,
    inputs: &[Option<Value>],
    kind: &Kind,
    cell: impl Fn(&Direction, ArrayView1<f64>, &State) -> State,
) -> Result<Vec<Value>, OpError> {
    let x_value = ctx.input(inputs, 0)?;
    let batch_major = match ctx.int("layout", 0) {
        0 => false,
        1 => true,
        other => return Err(OpError::invalid(format!("layout {other}"))),
    };
    let x = x_value.as_float()?;
    if x.ndim() != 3 {
        return Err(OpError::invalid(format!(
            "X has shape {:?}, expected rank 3",
            x.shape()
        )));
    }
    let x = x.clone().into_dimensionality::<Ix3>().expect("checked");
    let x = if batch_major { x.permuted_axes([1, 0, 2]) } else { x };
    let (seq, batch, input_size) = x.dim();

    let reverse: Vec<bool> = match ctx.string("direction", "forward").as_str() {
        "forward" => vec![false],
        "reverse" => vec![true],
        "bidirectional" => vec![false, true],
        other => return Err(OpError::invalid(format!("direction '{other}'"))),
    };
    let dirs = reverse.len();
    let r_value = ctx.input(inputs, 2)?;
    let hidden = match ctx.attr("hidden_size") {
        Some(a) if a.i > 0 => a.i as usize,
        Some(a) => return Err(OpError::invalid(format!("hidden_size {}", a.i))),
        None => *r_value.shape().last().unwrap_or(&0),
    };
    let rows = kind.gates * hidden;
    let w = rank3(ctx.input(inputs, 1)?, "W", [dirs, rows, input_size])?;
    let r = rank3(r_value, "R", [dirs, rows, hidden])?;
    let b = match ctx.optional_input(inputs, 3) {
        Some(v) => rank2(v, "B", [dirs, 2 * rows])?,
        None => Array2::zeros((dirs, 2 * rows)),
    };
    let lens: Vec<usize> = match ctx.optional_input(inputs, 4) {
        Some(v) => {
            let lens = v.to_i64_vec();
            if lens.len() != batch || lens.iter().any(|&l| l < 0 || l as usize > seq) {
                return Err(OpError::invalid(format!(
                    "sequence_lens {lens:?} for batch {batch} and sequence length {seq}"
                )));
            }
            lens.into_iter().map(|l| l as usize).collect()
        }
        None => vec![seq; batch],
    };
    let state_shape = [dirs, batch, hidden];
    let h0 = initial_state(ctx, inputs, 5, "initial_h", batch_major, state_shape)?;
    let cell_width = if kind.has_cell { hidden } else { 0 };
    let c0 = initial_state(ctx, inputs, 6, "initial_c", batch_major, [dirs, batch, cell_width])?;
    let p = match ctx.optional_input(inputs, 7) {
        Some(v) if kind.has_cell => rank2(v, "P", [dirs, 3 * hidden])?,
        _ => Array2::zeros((dirs, 3 * cell_width)),
    };
    let clip = match ctx.attr("clip") {
        Some(a) if a.f >= 0.0 => Some(f64::from(a.f)),
        Some(a) => return Err(OpError::invalid(format!("clip {}", a.f))),
        None => None,
    };
    let mut acts = activations(ctx, kind, dirs)?.into_iter();

    let mut y = Array4::zeros((seq, dirs, batch, hidden));
    let mut y_h = Array3::zeros((dirs, batch, hidden));
    let mut y_c = Array3::zeros((dirs, batch, cell_width));
    for (d, &backward) in reverse.iter().enumerate() {
        let dir = Direction {
            hidden,
            w: w.slice(s![d, .., ..]).to_owned(),
            r: r.slice(s![d, .., ..]).to_owned(),
            wb: b.slice(s![d, ..rows]).to_owned(),
            rb: b.slice(s![d, rows..]).to_owned(),
            p: p.slice(s![d, ..]).to_owned(),
            activations: acts.next().expect("one list per direction"),
            clip,
        };
        for (n, &len) in lens.iter().enumerate() {
            let mut state = State {
                h: h0.slice(s![d, n, ..]).to_owned(),
                c: c0.slice(s![d, n, ..]).to_owned(),
            };
            for step in 0..len {
                let t = if backward { len - 1 - step } else { step };
                state = cell(&dir, x.slice(s![t, n, ..]), &state);
                y.slice_mut(s![t, d, n, ..]).assign(&state.h);
            }
            y_h.slice_mut(s![d, n, ..]).assign(&state.h);
            y_c.slice_mut(s![d, n, ..]).assign(&state.c);
        }
    }

    let (y, y_h, y_c): (ArrayD<f64>, ArrayD<f64>, ArrayD<f64>) = if batch_major {
        (
            y.permuted_axes([2, 0, 1, 3]).into_dyn(),
            y_h.permuted_axes([1, 0, 2]).into_dyn(),
            y_c.permuted_axes([1, 0, 2]).into_dyn(),
        )
    } else {
        (y.into_dyn(), y_h.into_dyn(), y_c.into_dyn())
    };
    let standard = |a: ArrayD<f64>| Value::float(x_value.dtype, a.as_standard_layout().into_owned());
    let mut outputs = vec![standard(y), standard(y_h)];
    if kind.has_cell {
        outputs.push(standard(y_c));
    }
    if ctx.node.output.len() > outputs.len() {
        return Err(OpError::invalid(format!(
            "{} outputs declared, the op has {}",
            ctx.node.output.len(),
            outputs.len()
        )));
    }
    outputs.truncate(ctx.node.output.len());
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use approx::assert_abs_diff_eq;
    use ndarray::{ArrayD, Axis, IxDyn};
    use sysnoise_boundary::DType;
    use sysnoise_boundary::onnx::{AttributeProto, NodeProto};

    use super::*;

    fn int_attr(name: &str, i: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            i,
            ..Default::default()
        }
    }

    fn float_attr(name: &str, f: f32) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            f,
            ..Default::default()
        }
    }

    fn string_attr(name: &str, s: &str) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            s: s.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    fn strings_attr(name: &str, strings: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            strings: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    fn tensor(shape: &[usize], data: &[f64]) -> Option<Value> {
        let a = ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).expect("shape matches data");
        Some(Value::float(DType::F32, a))
    }

    fn lens(values: &[i64]) -> Option<Value> {
        Some(Value::int(
            DType::I32,
            ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap(),
        ))
    }

    /// Deterministic values in [-1, 1) for `shape`, from a small linear congruential generator.
    fn pseudo(shape: &[usize], seed: u64) -> ArrayD<f64> {
        let mut state = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ArrayD::from_shape_fn(IxDyn(shape), |_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
    }

    fn float(a: &ArrayD<f64>) -> Option<Value> {
        Some(Value::float(DType::F32, a.clone()))
    }

    /// Runs `op` (all outputs declared) and returns its outputs as arrays.
    fn run(op: &str, attribute: Vec<AttributeProto>, inputs: &[Option<Value>]) -> Result<Vec<ArrayD<f64>>, OpError> {
        let count = if op == "LSTM" { 3 } else { 2 };
        let node = NodeProto {
            op_type: op.into(),
            attribute,
            output: (0..count).map(|i| format!("out{i}")).collect(),
            ..Default::default()
        };
        let ctx = OpContext::new(&node, 22);
        let kernel: crate::ops::Kernel = match op {
            "RNN" => rnn,
            "GRU" => gru,
            _ => lstm,
        };
        let outputs = kernel(&ctx, inputs)?;
        Ok(outputs.iter().map(|v| v.as_float().unwrap().clone()).collect())
    }

    fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>) {
        assert_eq!(got.shape(), want.shape());
        for (g, w) in got.iter().zip(want) {
            assert_abs_diff_eq!(g, w, epsilon = 1e-12);
        }
    }

    fn assert_values(got: &ArrayD<f64>, shape: &[usize], want: &[f64]) {
        assert_close(got, &ArrayD::from_shape_vec(IxDyn(shape), want.to_vec()).unwrap());
    }

    fn sig(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Identity activations make the RNN linear: `h_t = w x_t + r h_{t-1}`, computable by hand.
    #[test]
    fn rnn_bidirectional_batch_major_with_sequence_lens_by_hand() {
        let attrs = vec![
            int_attr("hidden_size", 1),
            int_attr("layout", 1),
            string_attr("direction", "bidirectional"),
            strings_attr("activations", &["Affine", "Affine"]),
        ];
        let inputs = [
            tensor(&[2, 3, 1], &[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]), // [batch, seq, input]
            tensor(&[2, 1, 1], &[1.0, 2.0]),                        // forward w = 1, reverse w = 2
            tensor(&[2, 1, 1], &[0.5, 0.5]),
            None,
            lens(&[3, 2]),
            tensor(&[2, 2, 1], &[2.0, 0.0, 0.0, 4.0]), // [batch, dirs, hidden]
        ];
        let out = run("RNN", attrs, &inputs).unwrap();
        // Forward, entry 0 from h = 2: 1 + 1 = 2, 2 + 1 = 3, 3 + 1.5 = 4.5.
        // Reverse, entry 0 from h = 0: t2: 6, t1: 4 + 3 = 7, t0: 2 + 3.5 = 5.5.
        // Forward, entry 1 (length 2) from h = 0: 10, 20 + 5 = 25, then zeros.
        // Reverse, entry 1 (length 2) from h = 4: t1: 40 + 2 = 42, t0: 20 + 21 = 41, then zeros.
        assert_values(
            &out[0],
            &[2, 3, 2, 1],
            &[2.0, 5.5, 3.0, 7.0, 4.5, 6.0, 10.0, 41.0, 25.0, 42.0, 0.0, 0.0],
        );
        assert_values(&out[1], &[2, 2, 1], &[4.5, 5.5, 25.0, 41.0]);
    }

    #[test]
    fn gru_linear_before_reset_by_hand() {
        // z and r are sigmoid(0) = 0.5; W_h = R_h = 1, Rb_h = 1, h0 = 2, x = 1.
        let inputs = [
            tensor(&[1, 1, 1], &[1.0]),
            tensor(&[1, 3, 1], &[0.0, 0.0, 1.0]),
            tensor(&[1, 3, 1], &[0.0, 0.0, 1.0]),
            tensor(&[1, 6], &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
            None,
            tensor(&[1, 1, 1], &[2.0]),
        ];
        let hidden = || int_attr("hidden_size", 1);
        // tanh(x + R_h (r h) + Rb_h) = tanh(1 + 1 + 1)
        let out = run("GRU", vec![hidden()], &inputs).unwrap();
        assert_values(&out[1], &[1, 1, 1], &[0.5 * 3f64.tanh() + 0.5 * 2.0]);
        // tanh(x + r (R_h h + Rb_h)) = tanh(1 + 0.5 * 3)
        let out = run("GRU", vec![hidden(), int_attr("linear_before_reset", 1)], &inputs).unwrap();
        assert_values(&out[1], &[1, 1, 1], &[0.5 * 2.5f64.tanh() + 0.5 * 2.0]);
        assert_values(&out[0], &[1, 1, 1, 1], &[0.5 * 2.5f64.tanh() + 0.5 * 2.0]);
    }

    #[test]
    fn lstm_peepholes_and_input_forget_by_hand() {
        // All weights and biases zero, c0 = 1, h0 = 0; peepholes (i, o, f) = (2, 3, 4).
        let inputs = [
            tensor(&[1, 1, 1], &[0.0]),
            tensor(&[1, 4, 1], &[0.0; 4]),
            tensor(&[1, 4, 1], &[0.0; 4]),
            None,
            None,
            None,
            tensor(&[1, 1, 1], &[1.0]),
            tensor(&[1, 3], &[2.0, 3.0, 4.0]),
        ];
        let hidden = || int_attr("hidden_size", 1);
        // i = sig(2), f = sig(4), candidate = tanh(0) = 0: c = sig(4); o = sig(3 c).
        let out = run("LSTM", vec![hidden()], &inputs).unwrap();
        let c = sig(4.0);
        assert_values(&out[2], &[1, 1, 1], &[c]);
        assert_values(&out[1], &[1, 1, 1], &[sig(3.0 * c) * c.tanh()]);
        // Coupled gates: f = 1 - i = 1 - sig(2).
        let out = run("LSTM", vec![hidden(), int_attr("input_forget", 1)], &inputs).unwrap();
        let c = 1.0 - sig(2.0);
        assert_values(&out[2], &[1, 1, 1], &[c]);
        assert_values(&out[1], &[1, 1, 1], &[sig(3.0 * c) * c.tanh()]);
    }

    #[test]
    fn clip_bounds_activation_inputs_not_the_cell_state() {
        let rnn_inputs = [
            tensor(&[1, 1, 1], &[1.0]),
            tensor(&[1, 1, 1], &[10.0]),
            tensor(&[1, 1, 1], &[0.0]),
        ];
        let out = run(
            "RNN",
            vec![int_attr("hidden_size", 1), float_attr("clip", 1.0)],
            &rnn_inputs,
        )
        .unwrap();
        assert_values(&out[1], &[1, 1, 1], &[1f64.tanh()]);

        // Every gate's pre-activation is 10 (from Wb), clipped to 1; c0 = 5.
        let lstm_inputs = [
            tensor(&[1, 1, 1], &[0.0]),
            tensor(&[1, 4, 1], &[0.0; 4]),
            tensor(&[1, 4, 1], &[0.0; 4]),
            tensor(&[1, 8], &[10.0, 10.0, 10.0, 10.0, 0.0, 0.0, 0.0, 0.0]),
            None,
            None,
            tensor(&[1, 1, 1], &[5.0]),
        ];
        let out = run(
            "LSTM",
            vec![int_attr("hidden_size", 1), float_attr("clip", 1.0)],
            &lstm_inputs,
        )
        .unwrap();
        let c = sig(1.0) * 5.0 + sig(1.0) * 1f64.tanh();
        assert_values(&out[2], &[1, 1, 1], &[c]);
        assert_values(&out[1], &[1, 1, 1], &[sig(1.0) * 1f64.tanh()]);
    }

    /// Random inputs for `op`: X `[seq, batch, input]` and W, R, B, sequence_lens, initial_h,
    /// initial_c, P for `dirs` directions (layout 0).
    fn random_inputs(op: &str, dirs: usize, seq: usize, batch: usize, sequence_lens: &[i64]) -> Vec<Option<Value>> {
        let (input, hidden) = (3, 2);
        let gates = match op {
            "RNN" => 1,
            "GRU" => 3,
            _ => 4,
        };
        let mut inputs = vec![
            float(&pseudo(&[seq, batch, input], 1)),
            float(&pseudo(&[dirs, gates * hidden, input], 2)),
            float(&pseudo(&[dirs, gates * hidden, hidden], 3)),
            float(&pseudo(&[dirs, 2 * gates * hidden], 4)),
            lens(sequence_lens),
            float(&pseudo(&[dirs, batch, hidden], 5)),
        ];
        if op == "LSTM" {
            inputs.push(float(&pseudo(&[dirs, batch, hidden], 6)));
            inputs.push(float(&pseudo(&[dirs, 3 * hidden], 7)));
        }
        inputs
    }

    /// The direction-`d` slice of every per-direction input (W, R, B, initial_h, initial_c, P).
    fn one_direction(inputs: &[Option<Value>], d: usize) -> Vec<Option<Value>> {
        inputs
            .iter()
            .enumerate()
            .map(|(i, v)| match (i, v) {
                (0 | 4, _) | (_, None) => v.clone(),
                (_, Some(v)) => float(&v.as_float().unwrap().slice_axis(Axis(0), (d..d + 1).into()).to_owned()),
            })
            .collect()
    }

    const OPS: [&str; 3] = ["RNN", "GRU", "LSTM"];

    #[test]
    fn reverse_on_time_reversed_input_equals_forward() {
        let (seq, batch) = (4, 3);
        let sequence_lens = [4, 2, 0];
        for op in OPS {
            let inputs = random_inputs(op, 1, seq, batch, &sequence_lens);
            let x = inputs[0].as_ref().unwrap().as_float().unwrap();
            // Reverse each entry's valid steps; fill the steps past its length with garbage.
            let mut reversed = x.clone();
            for (n, &len) in sequence_lens.iter().enumerate() {
                let len = len as usize;
                for t in 0..seq {
                    let source = if t < len {
                        x.slice(s![len - 1 - t, n, ..]).to_owned()
                    } else {
                        Array1::from_elem(x.shape()[2], 1e3)
                    };
                    reversed.slice_mut(s![t, n, ..]).assign(&source);
                }
            }
            let mut reversed_inputs = inputs.clone();
            reversed_inputs[0] = float(&reversed);
            let attrs = |direction: &str| vec![int_attr("hidden_size", 2), string_attr("direction", direction)];
            let forward = run(op, attrs("forward"), &inputs).unwrap();
            let backward = run(op, attrs("reverse"), &reversed_inputs).unwrap();
            for (n, &len) in sequence_lens.iter().enumerate() {
                let len = len as usize;
                for t in 0..seq {
                    let got = backward[0].slice(s![t, 0, n, ..]);
                    if t < len {
                        assert_close(
                            &got.to_owned().into_dyn(),
                            &forward[0].slice(s![len - 1 - t, 0, n, ..]).to_owned().into_dyn(),
                        );
                    } else {
                        assert!(got.iter().all(|&v| v == 0.0), "{op}: Y past the sequence length");
                        assert!(forward[0].slice(s![t, 0, n, ..]).iter().all(|&v| v == 0.0));
                    }
                }
            }
            for (f, b) in forward.iter().zip(&backward).skip(1) {
                assert_close(b, f);
            }
            // Entry 2 has length 0: its final states are the initial ones.
            assert_close(
                &forward[1].slice(s![.., 2, ..]).to_owned().into_dyn(),
                &inputs[5]
                    .as_ref()
                    .unwrap()
                    .as_float()
                    .unwrap()
                    .slice(s![.., 2, ..])
                    .to_owned()
                    .into_dyn(),
            );
        }
    }

    #[test]
    fn bidirectional_stacks_forward_and_reverse_runs() {
        let (seq, batch) = (3, 2);
        let sequence_lens = [3, 1];
        let activations: [&[&str]; 3] = [
            &["Relu", "Softsign"],
            &["HardSigmoid", "Elu", "Sigmoid", "Tanh"],
            &["Sigmoid", "Tanh", "Softsign", "HardSigmoid", "Tanh", "Affine"],
        ];
        for (op, acts) in OPS.into_iter().zip(activations) {
            let inputs = random_inputs(op, 2, seq, batch, &sequence_lens);
            let half = acts.len() / 2;
            let attrs = |direction: &str, acts: &[&str]| {
                vec![
                    int_attr("hidden_size", 2),
                    string_attr("direction", direction),
                    strings_attr("activations", acts),
                ]
            };
            let both = run(op, attrs("bidirectional", acts), &inputs).unwrap();
            let forward = run(op, attrs("forward", &acts[..half]), &one_direction(&inputs, 0)).unwrap();
            let backward = run(op, attrs("reverse", &acts[half..]), &one_direction(&inputs, 1)).unwrap();
            // Y stacks directions on axis 1, the final states on axis 0.
            for (k, axis) in [1, 0, 0].into_iter().enumerate().take(both.len()) {
                let stacked = ndarray::concatenate(Axis(axis), &[forward[k].view(), backward[k].view()]).unwrap();
                assert_close(&both[k], &stacked);
            }
        }
    }

    #[test]
    fn batch_major_layout_is_the_transpose_of_sequence_major() {
        let (seq, batch) = (3, 2);
        for op in OPS {
            let inputs = random_inputs(op, 2, seq, batch, &[2, 3]);
            let mut batch_major = inputs.clone();
            // X [seq, batch, input] -> [batch, seq, input]; initial states [dirs, batch, h] -> [batch, dirs, h].
            for i in [0, 5, 6] {
                if let Some(Some(v)) = inputs.get(i) {
                    batch_major[i] = float(&v.as_float().unwrap().view().permuted_axes(IxDyn(&[1, 0, 2])).to_owned());
                }
            }
            let attrs = |layout: i64| {
                vec![
                    int_attr("hidden_size", 2),
                    string_attr("direction", "bidirectional"),
                    int_attr("layout", layout),
                ]
            };
            let seq_major = run(op, attrs(0), &inputs).unwrap();
            let batch_out = run(op, attrs(1), &batch_major).unwrap();
            assert_eq!(batch_out[0].shape(), &[batch, seq, 2, 2]);
            let y = seq_major[0].view().permuted_axes(IxDyn(&[2, 0, 1, 3])).to_owned();
            assert_close(&batch_out[0], &y);
            for k in 1..seq_major.len() {
                assert_eq!(batch_out[k].shape(), &[batch, 2, 2]);
                assert_close(
                    &batch_out[k],
                    &seq_major[k].view().permuted_axes(IxDyn(&[1, 0, 2])).to_owned(),
                );
            }
        }
    }

    #[test]
    fn activation_parameters_are_consumed_in_order() {
        let names = ["LeakyRelu", "Tanh", "HardSigmoid", "Affine", "ScaledTanh"];
        let mut alphas = [0.1, 0.3].into_iter();
        let mut betas = [0.6].into_iter();
        let parsed: Vec<_> = names
            .iter()
            .map(|n| Activation::parse(n, &mut alphas, &mut betas).unwrap())
            .collect();
        assert_eq!(
            parsed,
            [
                Activation::LeakyRelu(0.1),
                Activation::Tanh,
                Activation::HardSigmoid(0.3, 0.6),
                Activation::Affine(1.0, 0.0),
                Activation::ScaledTanh(1.0, 1.0),
            ]
        );
        let none = || std::iter::empty::<f64>();
        assert!(Activation::parse("Swish", &mut none(), &mut none()).is_err());
        assert_eq!(
            Activation::parse("thresholdedrelu", &mut none(), &mut none()).unwrap(),
            Activation::ThresholdedRelu(1.0)
        );
    }

    #[test]
    fn activation_functions_match_their_definitions() {
        use Activation::*;
        let cases = [
            (Relu, -1.0, 0.0),
            (Relu, 2.0, 2.0),
            (Tanh, 0.5, 0.5f64.tanh()),
            (Sigmoid, 0.0, 0.5),
            (Sigmoid, -1000.0, 0.0),
            (Sigmoid, 1000.0, 1.0),
            (Affine(2.0, 1.0), 3.0, 7.0),
            (LeakyRelu(0.1), -2.0, -0.2),
            (ThresholdedRelu(1.0), 1.0, 1.0),
            (ThresholdedRelu(1.0), 0.5, 0.0),
            (ScaledTanh(2.0, 3.0), 0.1, 2.0 * 0.3f64.tanh()),
            (HardSigmoid(0.2, 0.5), 1.0, 0.7),
            (HardSigmoid(0.2, 0.5), 10.0, 1.0),
            (Elu(1.0), -1.0, (-1f64).exp() - 1.0),
            (Softsign, 1.0, 0.5),
            (Softplus, 0.0, 2f64.ln()),
            (Softplus, 1000.0, 1000.0),
            (Softplus, -1000.0, 0.0),
        ];
        for (f, x, want) in cases {
            assert_abs_diff_eq!(f.apply(x), want, epsilon = 1e-15);
        }
    }

    #[test]
    fn outputs_follow_the_declared_count_and_bad_attributes_fail() {
        let inputs = [
            tensor(&[1, 1, 1], &[1.0]),
            tensor(&[1, 1, 1], &[1.0]),
            tensor(&[1, 1, 1], &[0.0]),
        ];
        let node = NodeProto {
            op_type: "RNN".into(),
            attribute: vec![int_attr("hidden_size", 1)],
            output: vec![String::new(), "Y_h".into()],
            ..Default::default()
        };
        let ctx = OpContext::new(&node, 22);
        assert_eq!(rnn(&ctx, &inputs).unwrap().len(), 2);
        let one = NodeProto {
            output: vec!["Y".into()],
            ..node.clone()
        };
        assert_eq!(rnn(&OpContext::new(&one, 22), &inputs).unwrap().len(), 1);

        let bad_activations = vec![
            int_attr("hidden_size", 1),
            strings_attr("activations", &["Tanh", "Tanh"]),
        ];
        assert!(run("RNN", bad_activations, &inputs).is_err());
        assert!(run("RNN", vec![int_attr("hidden_size", 2)], &inputs).is_err());
        assert!(run("RNN", vec![string_attr("direction", "sideways")], &inputs).is_err());
        // hidden_size defaults to R's last dimension.
        assert_values(&run("RNN", vec![], &inputs).unwrap()[1], &[1, 1, 1], &[1f64.tanh()]);
    }
}
