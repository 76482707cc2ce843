//! Reference kernels: N-D ConvTranspose with groups, strides, dilations, pads, output_padding, output_shape and auto_pad.

use ndarray::{Array3, ArrayD, IxDyn, s};

use super::Registry;
use super::conv::{Window, add_bias, explicit_pads, ints_or, position_map};
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("ConvTranspose", conv_transpose);
}

/// The begin pad of a total padding split as the spec says: SAME_UPPER puts the odd unit at
/// the end, anything else at the beginning.
fn split_begin(total: i64, upper: bool) -> i64 {
    let half = total.div_euclid(2);
    if upper { half } else { total - half }
}

/// The output spatial shape and begin pads. With `output_shape` (or SAME_* auto_pad, which
/// asks for `in * stride`), pads come from the spec's total padding
/// `stride * (in - 1) + output_padding + extent - out`; otherwise the output shape comes from
/// the pads (zero for VALID).
fn geometry(ctx: &OpContext, win: &Window, in_dims: &[usize]) -> Result<(Vec<usize>, Vec<i64>), OpError> {
    let n = in_dims.len();
    let out_pad = ints_or(ctx, "output_padding", n, 0)?;
    let natural: Vec<i64> = (0..n)
        .map(|i| {
            (win.strides[i] * (in_dims[i].max(1) - 1) + out_pad.get(i).copied().unwrap_or(0) + win.extent(i)) as i64
        })
        .collect();
    let auto_pad = ctx.string("auto_pad", "NOTSET");
    let target: Option<Vec<i64>> = match (ctx.ints("output_shape"), auto_pad.as_str()) {
        (Some(shape), _) if shape.len() >= n => Some(shape[shape.len() - n..].to_vec()),
        (Some(shape), _) => return Err(OpError::invalid(format!("output_shape {shape:?} for {n} spatial axes"))),
        (None, "SAME_UPPER" | "SAME_LOWER") => Some((0..n).map(|i| (in_dims[i] * win.strides[i]) as i64).collect()),
        (None, "NOTSET" | "VALID") => None,
        (None, other) => return Err(OpError::invalid(format!("auto_pad {other}"))),
    };
    let (begin, out) = match target {
        Some(out) => {
            let begin = (0..n)
                .map(|i| split_begin(natural[i] - out[i], auto_pad == "SAME_UPPER"))
                .collect();
            (begin, out)
        }
        None if auto_pad == "VALID" => (vec![0; n], natural),
        None => {
            let (begin, end) = explicit_pads(ctx, n)?;
            let out = (0..n).map(|i| natural[i] - begin[i] - end[i]).collect();
            (begin, out)
        }
    };
    let out = out
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| OpError::invalid(format!("ConvTranspose output shape {out:?}"))))
        .collect::<Result<_, _>>()?;
    Ok((out, begin))
}

/// ConvTranspose: `x` is `[N, C, D...]`, `w` is `[C, M / group, k...]`. Each group computes
/// `w_g^T x_g` (one column per input position and kernel tap) and scatters it to the output
/// positions `in * stride + k * dilation - pad_begin` (col2im); taps falling outside are cut.
fn conv_transpose(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let xv = ctx.input(inputs, 0)?;
    let x = xv.as_float()?;
    let w = ctx.input(inputs, 1)?.to_f64();
    if x.ndim() < 3 || w.ndim() != x.ndim() || w.shape()[0] != x.shape()[1] {
        return Err(OpError::invalid(format!(
            "ConvTranspose of {:?} with weights {:?}",
            x.shape(),
            w.shape()
        )));
    }
    let win = Window::from_attrs(ctx, w.shape())?;
    let group = usize::try_from(ctx.int("group", 1)).unwrap_or(0);
    let (batch, channels, mg) = (x.shape()[0], x.shape()[1], w.shape()[1]);
    if group == 0 || channels % group != 0 {
        return Err(OpError::invalid(format!(
            "ConvTranspose group {group} for {channels} channels"
        )));
    }
    let (cg, maps) = (channels / group, mg * group);
    let in_dims = &x.shape()[2..];
    let (out_dims, pad_begin) = geometry(ctx, &win, in_dims)?;
    let map = position_map(&win, &pad_begin, in_dims, &out_dims);
    let (in_size, out_size) = (in_dims.iter().product::<usize>(), out_dims.iter().product::<usize>());
    let ksize: usize = win.kernel.iter().product();
    let x3 = x.to_shape((batch, channels, in_size)).expect("same length");
    let w2 = w.to_shape((channels, mg * ksize)).map_err(|_| {
        OpError::invalid(format!(
            "W {:?} does not match kernel_shape {:?}",
            w.shape(),
            win.kernel
        ))
    })?;
    let mut out = Array3::<f64>::zeros((batch, maps, out_size));
    for n in 0..batch {
        for g in 0..group {
            let taps = w2.slice(s![g * cg..(g + 1) * cg, ..]);
            let cols = taps.t().dot(&x3.slice(s![n, g * cg..(g + 1) * cg, ..]));
            for ((r, i), &v) in cols.indexed_iter() {
                if let Some(o) = map[(r % ksize) * in_size + i] {
                    out[[n, g * mg + r / ksize, o]] += v;
                }
            }
        }
    }
    if let Some(b) = ctx.optional_input(inputs, 2) {
        add_bias(&mut out, &b.to_f64())?;
    }
    let shape: Vec<usize> = [batch, maps].into_iter().chain(out_dims).collect();
    let y: ArrayD<f64> = out.into_shape_with_order(IxDyn(&shape)).expect("same length");
    Ok(vec![Value::float(xv.dtype, y)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysnoise_boundary::onnx::{AttributeProto, NodeProto};

    fn node(attrs: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            attribute: attrs,
            ..Default::default()
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            ints: v.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn output_shape_sets_pads_by_total_padding() {
        // in 3, kernel 3, stride 3: natural output 9; asking for 10 gives total padding -1,
        // so begin pad -1 - floor(-1/2) = 0 (NOTSET puts the odd unit at the beginning).
        let win = Window {
            kernel: vec![3],
            strides: vec![3],
            dilations: vec![1],
        };
        let n = node(vec![ints("output_shape", &[10])]);
        let ctx = OpContext::new(&n, 22);
        assert_eq!(geometry(&ctx, &win, &[3]).unwrap(), (vec![10], vec![0]));
        let n = node(vec![ints("output_shape", &[7])]);
        let ctx = OpContext::new(&n, 22);
        assert_eq!(geometry(&ctx, &win, &[3]).unwrap(), (vec![7], vec![1]));
    }

    #[test]
    fn split_begin_by_mode() {
        assert_eq!(split_begin(3, true), 1);
        assert_eq!(split_begin(3, false), 2);
        assert_eq!(split_begin(4, true), 2);
    }

    #[test]
    fn explicit_pads_shrink_output() {
        let win = Window {
            kernel: vec![3, 3],
            strides: vec![2, 2],
            dilations: vec![1, 1],
        };
        let n = node(vec![ints("pads", &[1, 1, 1, 1]), ints("output_padding", &[1, 0])]);
        let ctx = OpContext::new(&n, 22);
        assert_eq!(geometry(&ctx, &win, &[3, 3]).unwrap(), (vec![6, 5], vec![1, 1]));
    }
}
