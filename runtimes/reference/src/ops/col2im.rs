//! Reference kernel: Col2Im (opset 18), summing sliding blocks back into an image (the inverse of im2col).

use ndarray::{ArrayD, IxDyn};

use super::Registry;
use super::conv::{Window, position_map};
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("Col2Im", col2im);
}

/// Col2Im: input `[N, C·∏block_shape, L]` holds, for each of the `L` block positions (row-major
/// over the sliding grid), every channel's block; output `[N, C, image_shape...]` is the sum, at
/// each image position, of the block elements that land there (`strides`, `dilations`, `pads`
/// as in Conv; taps in the padding are dropped).
fn col2im(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?.as_standard_layout().into_owned();
    let image: Vec<usize> = positive(ctx.input(inputs, 1)?.to_i64_vec(), "image_shape")?;
    let block: Vec<usize> = positive(ctx.input(inputs, 2)?.to_i64_vec(), "block_shape")?;
    let n = image.len();
    if block.len() != n || xa.ndim() != 3 {
        return Err(OpError::invalid(format!(
            "Col2Im: input {:?}, image_shape {image:?}, block_shape {block:?}",
            xa.shape()
        )));
    }
    let ints = |name: &str, default: i64, len: usize| -> Result<Vec<i64>, OpError> {
        let v = ctx.ints(name).unwrap_or_else(|| vec![default; len]);
        if v.len() == len {
            Ok(v)
        } else {
            Err(OpError::invalid(format!("Col2Im: {name} {v:?} for {n} spatial axes")))
        }
    };
    let strides = positive(ints("strides", 1, n)?, "strides")?;
    let dilations = positive(ints("dilations", 1, n)?, "dilations")?;
    let pads = ints("pads", 0, 2 * n)?;
    let win = Window {
        kernel: block.clone(),
        strides,
        dilations,
    };
    let grid: Vec<usize> = (0..n)
        .map(|i| {
            let padded = image[i] as i64 + pads[i] + pads[i + n];
            let span = win.extent(i) as i64;
            if padded < span {
                return Err(OpError::invalid(format!(
                    "Col2Im: block {block:?} exceeds the padded image"
                )));
            }
            Ok(((padded - span) / win.strides[i] as i64 + 1) as usize)
        })
        .collect::<Result<_, _>>()?;
    let (batch, rows, positions) = (xa.shape()[0], xa.shape()[1], xa.shape()[2]);
    let taps: usize = block.iter().product();
    let blocks: usize = grid.iter().product();
    if taps == 0 || rows % taps != 0 || positions != blocks {
        return Err(OpError::invalid(format!(
            "Col2Im: input {:?} for blocks of {taps} at {blocks} positions",
            xa.shape()
        )));
    }
    let channels = rows / taps;
    let map = position_map(&win, &pads[..n], &grid, &image);
    let size: usize = image.iter().product();
    let src = xa.as_slice().expect("standard layout");
    let mut out = vec![0.0; batch * channels * size];
    for b in 0..batch {
        for c in 0..channels {
            let plane = &mut out[(b * channels + c) * size..][..size];
            for tap in 0..taps {
                let row = &src[(b * rows + c * taps + tap) * positions..][..positions];
                for (value, target) in row.iter().zip(&map[tap * positions..][..positions]) {
                    if let Some(i) = target {
                        plane[*i] += value;
                    }
                }
            }
        }
    }
    let shape: Vec<usize> = [batch, channels].into_iter().chain(image).collect();
    let y = ArrayD::from_shape_vec(IxDyn(&shape), out).expect("one value per position");
    Ok(vec![Value::float(x.dtype, y)])
}

fn positive(v: Vec<i64>, name: &str) -> Result<Vec<usize>, OpError> {
    v.iter()
        .map(|&x| usize::try_from(x).ok().filter(|&x| x > 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| OpError::invalid(format!("Col2Im: {name} {v:?} must be positive")))
}
