//! Pad: constant (LibTorch's constant pad, negative pads crop), and reflect / edge / wrap as
//! index selections along each padded axis (pure copies, so exact for any rank and axis).

use tch::{Kind, Tensor};

use super::Registry;
use crate::context::{Ctx, axes};
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add_checked("Pad", pad, check_pad);
}

fn check_pad(ctx: &Ctx) -> Result<(), OpError> {
    if ctx.opset < 2 {
        return Err(OpError::unsupported("Pad-1 (the `paddings` attribute)"));
    }
    match ctx.string("mode", "constant").as_str() {
        "constant" | "reflect" | "edge" | "wrap" => Ok(()),
        other => Err(OpError::invalid(format!("Pad: unknown mode '{other}'"))),
    }
}

/// The data index output position `s` (relative to the data start) copies along an axis of
/// length `dim` >= 1 under a non-constant mode.
fn source(mode: &str, s: i64, dim: i64) -> i64 {
    if (0..dim).contains(&s) {
        return s;
    }
    match mode {
        "edge" => s.clamp(0, dim - 1),
        "wrap" => s.rem_euclid(dim),
        _ if dim == 1 => 0,
        _ => {
            let period = 2 * (dim - 1);
            let m = s.rem_euclid(period);
            if m < dim { m } else { period - m }
        }
    }
}

fn pad(ctx: &Ctx, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let rank = x.rank();
    let mode = ctx.string("mode", "constant");
    let (pads, dims, fill) = if ctx.opset < 11 {
        let pads = ctx.ints("pads").ok_or_else(|| OpError::invalid("Pad needs pads"))?;
        (pads, (0..rank as i64).collect::<Vec<_>>(), ctx.float("value", 0.0))
    } else {
        let dims = match ctx.optional_input(inputs, 3) {
            Some(a) => axes(&a.to_i64s()?, rank)?,
            None => (0..rank as i64).collect(),
        };
        let fill = match ctx.optional_input(inputs, 2) {
            Some(v) if v.t.numel() > 0 => v.to_f64s()?[0],
            _ => 0.0,
        };
        (ctx.input(inputs, 1)?.to_i64s()?, dims, fill)
    };
    let n = dims.len();
    if pads.len() != 2 * n {
        return Err(OpError::invalid(format!("Pad: {} pads for {n} axes", pads.len())));
    }
    let shape = x.shape();
    let t = if mode == "constant" {
        let mut begin = vec![0; rank];
        let mut end = vec![0; rank];
        for (i, &d) in dims.iter().enumerate() {
            begin[d as usize] = pads[i];
            end[d as usize] = pads[i + n];
        }
        if begin.iter().zip(&end).zip(&shape).any(|((b, e), s)| s + b + e < 0) {
            return Err(OpError::invalid(format!("Pad: pads {pads:?} crop more than {shape:?}")));
        }
        x.t.f_pad(super::conv::torch_pad_list(&begin, &end), "constant", Some(fill))?
    } else {
        let mut t = x.t.shallow_clone();
        for (i, &d) in dims.iter().enumerate() {
            let (before, after) = (pads[i], pads[i + n]);
            if before == 0 && after == 0 {
                continue;
            }
            let dim = shape[d as usize];
            let len = dim + before + after;
            if len < 0 || (dim == 0 && len > 0) {
                return Err(OpError::invalid(format!(
                    "Pad: {mode} pads {before},{after} of an axis of {dim}"
                )));
            }
            let index: Vec<i64> = (0..len).map(|o| source(&mode, o - before, dim)).collect();
            let index = Tensor::f_from_slice(&index)?
                .f_to_kind(Kind::Int64)?
                .f_to_device(t.device())?;
            t = t.f_index_select(d, &index)?;
        }
        t
    };
    Ok(vec![ctx.env.like(t, x)?])
}
