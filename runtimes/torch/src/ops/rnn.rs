//! Recurrent layers: RNN, GRU (linear_before_reset) and LSTM (peepholes, input_forget), in
//! both directions, with sequence_lens, initial states, layout and clip, computed step by step
//! with eager tch ops in ONNX's gate orders (GRU z, r, h; LSTM i, o, f, c). Only the default
//! activations run (RNN Tanh; GRU Sigmoid, Tanh; LSTM Sigmoid, Tanh, Tanh); other activation
//! lists are declined.

use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, same_dtype};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("RNN", rnn, check_recurrent);
    r.add_checked("GRU", gru, check_recurrent);
    r.add_checked("LSTM", lstm, check_recurrent);
}

/// The op's default activations (one direction's).
fn default_activations(op: &str) -> &'static [&'static str] {
    match op {
        "RNN" => &["tanh"],
        "GRU" => &["sigmoid", "tanh"],
        _ => &["sigmoid", "tanh", "tanh"],
    }
}

fn directions(ctx: &Ctx) -> Result<usize, OpError> {
    match ctx.string("direction", "forward").as_str() {
        "forward" | "reverse" => Ok(1),
        "bidirectional" => Ok(2),
        other => Err(OpError::invalid(format!("direction '{other}'"))),
    }
}

fn check_recurrent(ctx: &Ctx) -> Result<(), OpError> {
    let dirs = directions(ctx)?;
    if !matches!(ctx.int("layout", 0), 0 | 1) {
        return Err(OpError::invalid(format!("layout {}", ctx.int("layout", 0))));
    }
    let defaults = default_activations(&ctx.node.op_type);
    if let Some(a) = ctx.attr("activations")
        && !a.strings.is_empty()
    {
        let names: Vec<String> = a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
            .collect();
        if names.len() != defaults.len() && names.len() != defaults.len() * dirs {
            return Err(OpError::invalid(format!(
                "{} activations for {dirs} direction(s)",
                names.len()
            )));
        }
        if names.iter().enumerate().any(|(i, n)| n != defaults[i % defaults.len()]) {
            return Err(OpError::unsupported(format!(
                "{} activations {names:?}: only the defaults {defaults:?} run",
                ctx.node.op_type
            )));
        }
    }
    if let Some(a) = ctx.attr("clip")
        && a.f < 0.0
    {
        return Err(OpError::invalid(format!("clip {}", a.f)));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Rnn,
    Gru { linear_before_reset: bool },
    Lstm { input_forget: bool },
}

impl Op {
    fn gates(self) -> i64 {
        match self {
            Op::Rnn => 1,
            Op::Gru { .. } => 3,
            Op::Lstm { .. } => 4,
        }
    }
}

fn rnn(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    recur(ctx, inputs, Op::Rnn)
}

fn gru(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let linear_before_reset = ctx.int("linear_before_reset", 0) != 0;
    recur(ctx, inputs, Op::Gru { linear_before_reset })
}

fn lstm(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let input_forget = ctx.int("input_forget", 0) != 0;
    recur(ctx, inputs, Op::Lstm { input_forget })
}

/// A float input of x's dtype and the given shape.
fn shaped<'v>(ctx: &Ctx, x: &Value, v: &'v Value, name: &str, want: &[i64]) -> Result<&'v Tensor, OpError> {
    same_dtype(&ctx.node.op_type, x, v)?;
    if v.shape() != want {
        return Err(OpError::invalid(format!(
            "{name} has shape {:?}, expected {want:?}",
            v.shape()
        )));
    }
    Ok(&v.t)
}

/// One direction's parameters.
struct Direction {
    hidden: i64,
    /// `X W^T + Wb` for every step: `[seq, batch, gates * hidden]`.
    input_part: Tensor,
    /// `R^T`: `[hidden, gates * hidden]`.
    r_t: Tensor,
    /// `[gates * hidden]`.
    rb: Tensor,
    /// Peepholes i, o, f (`[hidden]` each; LSTM with P only).
    peepholes: Option<[Tensor; 3]>,
    clip: Option<f64>,
}

impl Direction {
    fn block(&self, t: &Tensor, g: i64) -> Result<Tensor, OpError> {
        Ok(t.f_narrow(-1, g * self.hidden, self.hidden)?)
    }

    fn clipped(&self, v: Tensor) -> Result<Tensor, OpError> {
        Ok(match self.clip {
            Some(c) => v.f_clamp(-c, c)?,
            None => v,
        })
    }

    fn sigmoid(&self, v: Tensor) -> Result<Tensor, OpError> {
        Ok(self.clipped(v)?.f_sigmoid()?)
    }

    fn tanh(&self, v: Tensor) -> Result<Tensor, OpError> {
        Ok(self.clipped(v)?.f_tanh()?)
    }

    /// One step from state (h, c) on the input part `xw` (`[batch, gates * hidden]`).
    fn step(&self, op: Op, xw: &Tensor, h: &Tensor, c: &Tensor) -> Result<(Tensor, Tensor), OpError> {
        let hr = h.f_matmul(&self.r_t)?.f_add(&self.rb)?;
        match op {
            Op::Rnn => Ok((self.tanh(xw.f_add(&hr)?)?, c.shallow_clone())),
            Op::Gru { linear_before_reset } => {
                let z = self.sigmoid(self.block(xw, 0)?.f_add(&self.block(&hr, 0)?)?)?;
                let r = self.sigmoid(self.block(xw, 1)?.f_add(&self.block(&hr, 1)?)?)?;
                let recurrent = if linear_before_reset {
                    r.f_mul(&self.block(&hr, 2)?)?
                } else {
                    let r_t = self.r_t.f_narrow(1, 2 * self.hidden, self.hidden)?;
                    r.f_mul(h)?.f_matmul(&r_t)?.f_add(&self.block(&self.rb, 2)?)?
                };
                let candidate = self.tanh(self.block(xw, 2)?.f_add(&recurrent)?)?;
                let h = z.f_neg()?.f_add_scalar(1.0)?.f_mul(&candidate)?.f_add(&z.f_mul(h)?)?;
                Ok((h, c.shallow_clone()))
            }
            Op::Lstm { input_forget } => {
                let pre = |g: i64| -> Result<Tensor, OpError> { Ok(self.block(xw, g)?.f_add(&self.block(&hr, g)?)?) };
                let peep = |k: usize, state: &Tensor, v: Tensor| -> Result<Tensor, OpError> {
                    Ok(match &self.peepholes {
                        Some(p) => v.f_add(&p[k].f_mul(state)?)?,
                        None => v,
                    })
                };
                let i = self.sigmoid(peep(0, c, pre(0)?)?)?;
                let f = if input_forget {
                    i.f_neg()?.f_add_scalar(1.0)?
                } else {
                    self.sigmoid(peep(2, c, pre(2)?)?)?
                };
                let candidate = self.tanh(pre(3)?)?;
                let c = f.f_mul(c)?.f_add(&i.f_mul(&candidate)?)?;
                let o = self.sigmoid(peep(1, &c, pre(1)?)?)?;
                let h = o.f_mul(&self.tanh(c.shallow_clone())?)?;
                Ok((h, c))
            }
        }
    }
}

fn recur(ctx: &Ctx, inputs: &[Option<Value>], op: Op) -> Result<Vec<Value>, OpError> {
    let op_type = ctx.node.op_type.as_str();
    let x = ctx.input(inputs, 0)?;
    if !x.is_float() || x.rank() != 3 {
        return Err(OpError::invalid(format!("{op_type} X of {} {:?}", x.dtype, x.shape())));
    }
    let batch_major = ctx.int("layout", 0) == 1;
    let xt = if batch_major {
        x.t.f_transpose(0, 1)?
    } else {
        x.t.shallow_clone()
    };
    let (seq, batch, input_size) = {
        let s = xt.size();
        (s[0], s[1], s[2])
    };
    let reverse: Vec<bool> = match ctx.string("direction", "forward").as_str() {
        "forward" => vec![false],
        "reverse" => vec![true],
        "bidirectional" => vec![false, true],
        other => return Err(OpError::invalid(format!("direction '{other}'"))),
    };
    let dirs = reverse.len() as i64;
    let r_value = ctx.input(inputs, 2)?;
    let hidden = match ctx.attr("hidden_size") {
        Some(a) if a.i > 0 => a.i,
        Some(a) => return Err(OpError::invalid(format!("hidden_size {}", a.i))),
        None => *r_value.shape().last().unwrap_or(&0),
    };
    let rows = op.gates() * hidden;
    let w = shaped(ctx, x, ctx.input(inputs, 1)?, "W", &[dirs, rows, input_size])?;
    let r = shaped(ctx, x, r_value, "R", &[dirs, rows, hidden])?;
    let options = (xt.f_kind()?, xt.device());
    let b = match ctx.optional_input(inputs, 3) {
        Some(v) => shaped(ctx, x, v, "B", &[dirs, 2 * rows])?.shallow_clone(),
        None => Tensor::f_zeros([dirs, 2 * rows], options)?,
    };
    let active: Option<Tensor> = match ctx.optional_input(inputs, 4) {
        Some(v) => {
            let lens = v.to_i64s()?;
            if lens.len() as i64 != batch || lens.iter().any(|&l| l < 0 || l > seq) {
                return Err(OpError::invalid(format!(
                    "sequence_lens {lens:?} for batch {batch} and sequence length {seq}"
                )));
            }
            // [seq, batch, 1]: whether step t is inside entry n's sequence.
            let lens = Tensor::f_from_slice(&lens)?.f_to_device(xt.device())?;
            let steps = Tensor::f_arange(seq, (Kind::Int64, xt.device()))?.f_unsqueeze(1)?;
            Some(steps.f_lt_tensor(&lens.f_unsqueeze(0)?)?.f_unsqueeze(2)?)
        }
        None => None,
    };
    let state = |index: usize, name: &str| -> Result<Tensor, OpError> {
        Ok(match ctx.optional_input(inputs, index) {
            None => Tensor::f_zeros([dirs, batch, hidden], options)?,
            Some(v) if batch_major => shaped(ctx, x, v, name, &[batch, dirs, hidden])?.f_transpose(0, 1)?,
            Some(v) => shaped(ctx, x, v, name, &[dirs, batch, hidden])?.shallow_clone(),
        })
    };
    let is_lstm = matches!(op, Op::Lstm { .. });
    let h0 = state(5, "initial_h")?;
    let c0 = if is_lstm {
        state(6, "initial_c")?
    } else {
        Tensor::f_zeros([dirs, batch, 0], options)?
    };
    let p = match ctx.optional_input(inputs, 7) {
        Some(v) if is_lstm => Some(shaped(ctx, x, v, "P", &[dirs, 3 * hidden])?.shallow_clone()),
        _ => None,
    };
    let clip = ctx.attr("clip").map(|a| f64::from(a.f));

    let mut ys = Vec::new();
    let mut hs = Vec::new();
    let mut cs = Vec::new();
    for (d, &backward) in reverse.iter().enumerate() {
        let d = d as i64;
        let bd = b.f_select(0, d)?;
        let input_part = xt
            .f_matmul(&w.f_select(0, d)?.f_tr()?)?
            .f_add(&bd.f_narrow(0, 0, rows)?)?;
        let peepholes = match &p {
            Some(p) => {
                let pd = p.f_select(0, d)?;
                Some([
                    pd.f_narrow(0, 0, hidden)?,
                    pd.f_narrow(0, hidden, hidden)?,
                    pd.f_narrow(0, 2 * hidden, hidden)?,
                ])
            }
            None => None,
        };
        let dir = Direction {
            hidden,
            input_part,
            r_t: r.f_select(0, d)?.f_tr()?,
            rb: bd.f_narrow(0, rows, rows)?,
            peepholes,
            clip,
        };
        let (mut h, mut c) = (h0.f_select(0, d)?, c0.f_select(0, d)?);
        let mut y: Vec<Option<Tensor>> = (0..seq).map(|_| None).collect();
        for step in 0..seq {
            let t = if backward { seq - 1 - step } else { step };
            let (h_new, c_new) = dir.step(op, &dir.input_part.f_select(0, t)?, &h, &c)?;
            match &active {
                Some(active) => {
                    let on = active.f_select(0, t)?;
                    y[t as usize] = Some(h_new.f_where_self(&on, &h_new.f_zeros_like()?)?);
                    h = h_new.f_where_self(&on, &h)?;
                    c = if is_lstm { c_new.f_where_self(&on, &c)? } else { c_new };
                }
                None => {
                    y[t as usize] = Some(h_new.shallow_clone());
                    (h, c) = (h_new, c_new);
                }
            }
        }
        let y: Vec<Tensor> = y.into_iter().map(|t| t.expect("every step ran")).collect();
        ys.push(if y.is_empty() {
            Tensor::f_zeros([0, batch, hidden], options)?
        } else {
            Tensor::f_stack(&y, 0)?
        });
        hs.push(h);
        cs.push(c);
    }
    // Y [seq, dirs, batch, hidden], Y_h / Y_c [dirs, batch, hidden] (batch first with layout 1).
    let mut y = Tensor::f_stack(&ys, 1)?;
    let mut y_h = Tensor::f_stack(&hs, 0)?;
    let mut y_c = Tensor::f_stack(&cs, 0)?;
    if batch_major {
        y = y.f_permute([2, 0, 1, 3])?;
        y_h = y_h.f_transpose(0, 1)?;
        y_c = y_c.f_transpose(0, 1)?;
    }
    let mut outputs = vec![
        ctx.env.like(y.f_contiguous()?, x)?,
        ctx.env.like(y_h.f_contiguous()?, x)?,
    ];
    if is_lstm {
        outputs.push(ctx.env.like(y_c.f_contiguous()?, x)?);
    }
    if ctx.node.output.len() > outputs.len() {
        return Err(OpError::invalid(format!(
            "{} outputs declared, {op_type} has {}",
            ctx.node.output.len(),
            outputs.len()
        )));
    }
    Ok(outputs)
}
