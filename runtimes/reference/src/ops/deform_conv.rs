//! Reference kernel: DeformConv (opset 19), 2-D convolution whose taps move by learned offsets and are weighted by a mask.

use ndarray::Array4;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("DeformConv", deform_conv);
}

/// The plane's value at a fractional position: bilinear between the four pixels around it,
/// pixels outside the plane reading 0.
fn bilinear(plane: &[f64], height: usize, width: usize, y: f64, x: f64) -> f64 {
    let (y0, x0) = (y.floor(), x.floor());
    let (ly, lx) = (y - y0, x - x0);
    let mut sum = 0.0;
    for (dy, wy) in [(0, 1.0 - ly), (1, ly)] {
        for (dx, wx) in [(0, 1.0 - lx), (1, lx)] {
            let (py, px) = (y0 as i64 + dy, x0 as i64 + dx);
            if (0..height as i64).contains(&py) && (0..width as i64).contains(&px) {
                sum += wy * wx * plane[py as usize * width + px as usize];
            }
        }
    }
    sum
}

/// DeformConv: X `[N, C, H, W]`, W `[M, C/group, kH, kW]`, offset `[N, offset_group·kH·kW·2,
/// oH, oW]` (per offset group and tap: the shift along H, then W), optional bias `[M]` and mask
/// `[N, offset_group·kH·kW, oH, oW]`. Output position (oh, ow) reads tap (i, j) at
/// `(oh·sh − pad_top + i·dh + Δh, ow·sw − pad_left + j·dw + Δw)`, bilinearly, times its mask.
fn deform_conv(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let as4 = |v: &Value, what: &str| -> Result<Array4<f64>, OpError> {
        v.to_f64().into_dimensionality().map_err(|_| {
            OpError::invalid(format!(
                "DeformConv: {what} of shape {:?} (2-D convolutions only)",
                v.shape()
            ))
        })
    };
    let xa = as4(x, "X")?.as_standard_layout().into_owned();
    let w = as4(ctx.input(inputs, 1)?, "W")?;
    let offset = as4(ctx.input(inputs, 2)?, "offset")?;
    let bias = ctx.optional_input(inputs, 3).map(Value::to_f64);
    let mask = ctx.optional_input(inputs, 4).map(|m| as4(m, "mask")).transpose()?;
    let (n, c, height, width) = xa.dim();
    let (m, cg, kh, kw) = w.dim();
    let (_, offset_channels, oh, ow) = offset.dim();
    let pair = |name: &str, default: i64| -> Vec<i64> { ctx.ints(name).unwrap_or_else(|| vec![default; 2]) };
    let (strides, dilations) = (pair("strides", 1), pair("dilations", 1));
    let pads = ctx.ints("pads").unwrap_or_else(|| vec![0; 4]);
    let group = usize::try_from(ctx.int("group", 1)).unwrap_or(0);
    let offset_group = usize::try_from(ctx.int("offset_group", 1)).unwrap_or(0);
    let taps = kh * kw;
    if group == 0
        || offset_group == 0
        || cg * group != c
        || m % group != 0
        || c % offset_group != 0
        || offset_channels != offset_group * taps * 2
        || strides.len() != 2
        || dilations.len() != 2
        || pads.len() != 4
    {
        return Err(OpError::invalid(format!(
            "DeformConv: X {:?}, W {:?}, offset {:?}, group {group}, offset_group {offset_group}",
            xa.shape(),
            w.shape(),
            offset.shape()
        )));
    }
    let (mg, channels_per_offset_group) = (m / group, c / offset_group);
    let src = xa.as_slice().expect("standard layout");
    let mut out = Array4::<f64>::zeros((n, m, oh, ow));
    for b in 0..n {
        for oc in 0..m {
            let g = oc / mg;
            for ic in g * cg..(g + 1) * cg {
                let og = ic / channels_per_offset_group;
                let plane = &src[(b * c + ic) * height * width..][..height * width];
                for i in 0..oh {
                    for j in 0..ow {
                        let mut sum = 0.0;
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let tap = (og * kh + ki) * kw + kj;
                                let y = (i as i64 * strides[0] - pads[0] + ki as i64 * dilations[0]) as f64
                                    + offset[[b, 2 * tap, i, j]];
                                let xx = (j as i64 * strides[1] - pads[1] + kj as i64 * dilations[1]) as f64
                                    + offset[[b, 2 * tap + 1, i, j]];
                                let weight = mask.as_ref().map_or(1.0, |mk| mk[[b, tap, i, j]]);
                                sum += w[[oc, ic - g * cg, ki, kj]] * weight * bilinear(plane, height, width, y, xx);
                            }
                        }
                        out[[b, oc, i, j]] += sum;
                    }
                }
            }
            if let Some(bias) = &bias {
                let v = bias.iter().nth(oc).copied().unwrap_or(0.0);
                out.slice_mut(ndarray::s![b, oc, .., ..]).mapv_inplace(|o| o + v);
            }
        }
    }
    Ok(vec![Value::float(x.dtype, out.into_dyn())])
}
