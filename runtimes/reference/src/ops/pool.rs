//! Reference kernels: pooling (MaxPool with Indices, AveragePool, LpPool and their Global forms) and MaxUnpool.

use ndarray::{Array2, ArrayD, Dimension, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("MaxPool", max_pool);
    r.add("AveragePool", average_pool);
    r.add("LpPool", lp_pool);
    r.add("GlobalMaxPool", global_max_pool);
    r.add("GlobalAveragePool", global_average_pool);
    r.add("GlobalLpPool", global_lp_pool);
    r.add("MaxUnpool", max_unpool);
}

/// MaxUnpool: each value of X written at its flat index (MaxPool's Indices output) in a zero
/// tensor of the unpooled shape `(in − 1)·stride − pads + kernel`, placed at the start of
/// `output_shape` when that input is given.
fn max_unpool(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.as_float()?.as_standard_layout().into_owned();
    let indices = ctx.input(inputs, 1)?.to_i64();
    let kernel = ctx
        .ints("kernel_shape")
        .ok_or_else(|| OpError::invalid("MaxUnpool needs kernel_shape"))?;
    let n = kernel.len();
    let strides = ctx.ints("strides").unwrap_or_else(|| vec![1; n]);
    let pads = ctx.ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
    if xa.ndim() != n + 2 || strides.len() != n || pads.len() != 2 * n || indices.len() != xa.len() {
        return Err(OpError::invalid(format!(
            "MaxUnpool: X {:?}, indices {:?}, kernel {kernel:?}",
            xa.shape(),
            indices.shape()
        )));
    }
    let mut inferred: Vec<usize> = xa.shape()[..2].to_vec();
    for d in 0..n {
        let size = (xa.shape()[d + 2] as i64 - 1) * strides[d] - (pads[d] + pads[n + d]) + kernel[d];
        inferred.push(usize::try_from(size).map_err(|_| OpError::invalid(format!("MaxUnpool: output size {size}")))?);
    }
    let total: usize = inferred.iter().product();
    let mut y = vec![0.0; total];
    for (&v, &i) in xa.iter().zip(indices.iter()) {
        let i = usize::try_from(i)
            .ok()
            .filter(|&i| i < total)
            .ok_or_else(|| OpError::invalid(format!("MaxUnpool: index {i} outside an output of {total}")))?;
        y[i] = v;
    }
    let y = ArrayD::from_shape_vec(IxDyn(&inferred), y).expect("sized above");
    let y = match ctx.optional_input(inputs, 2) {
        Some(shape) => {
            let shape: Vec<usize> = shape.to_i64_vec().iter().map(|&d| d.max(0) as usize).collect();
            if shape.len() != inferred.len() || shape.iter().zip(&inferred).any(|(s, i)| s < i) {
                return Err(OpError::invalid(format!(
                    "MaxUnpool: output_shape {shape:?} below {inferred:?}"
                )));
            }
            let mut out = ArrayD::zeros(IxDyn(&shape));
            let region: Vec<ndarray::SliceInfoElem> =
                inferred.iter().map(|&e| ndarray::Slice::from(0..e).into()).collect();
            out.slice_mut(region.as_slice()).assign(&y);
            out
        }
        None => y,
    };
    Ok(vec![Value::float(x.dtype, y)])
}

/// Where the pooling windows lie along the spatial axes (all lists have one entry per spatial axis).
#[derive(Clone, Debug, PartialEq)]
struct Geometry {
    input: Vec<usize>,
    output: Vec<usize>,
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pad_begin: Vec<usize>,
    pad_end: Vec<usize>,
}

/// One window's taps that fall inside the input, and how many of its taps fall inside the padded input.
struct Window {
    values: Vec<f64>,
    /// Row-major offsets of `values` within their (batch, channel) plane.
    offsets: Vec<usize>,
    padded_count: usize,
}

impl Geometry {
    /// The geometry of a windowed pool from the node's attributes (`spatial`: input spatial extents).
    fn from_attributes(ctx: &OpContext, spatial: &[usize]) -> Result<Geometry, OpError> {
        let n = spatial.len();
        let kernel = ctx
            .ints("kernel_shape")
            .ok_or_else(|| OpError::invalid("kernel_shape is required"))?;
        let kernel = positive_list(&kernel, n, "kernel_shape")?;
        let strides = ctx
            .ints("strides")
            .map_or(Ok(vec![1; n]), |v| positive_list(&v, n, "strides"))?;
        let dilations = ctx
            .ints("dilations")
            .map_or(Ok(vec![1; n]), |v| positive_list(&v, n, "dilations"))?;
        let mut geometry = Geometry {
            input: spatial.to_vec(),
            output: vec![0; n],
            kernel,
            strides,
            dilations,
            pad_begin: vec![0; n],
            pad_end: vec![0; n],
        };
        let ceil_mode = ctx.int("ceil_mode", 0) != 0;
        match ctx.string("auto_pad", "NOTSET").as_str() {
            "NOTSET" => geometry.explicit_padding(ctx.ints("pads"), ceil_mode)?,
            "VALID" => geometry.valid_padding()?,
            "SAME_UPPER" => geometry.same_padding(true),
            "SAME_LOWER" => geometry.same_padding(false),
            other => return Err(OpError::invalid(format!("unknown auto_pad '{other}'"))),
        }
        Ok(geometry)
    }

    /// One window covering the whole spatial extent (the Global* pools).
    fn global(spatial: &[usize]) -> Geometry {
        let n = spatial.len();
        Geometry {
            input: spatial.to_vec(),
            output: vec![1; n],
            kernel: spatial.to_vec(),
            strides: vec![1; n],
            dilations: vec![1; n],
            pad_begin: vec![0; n],
            pad_end: vec![0; n],
        }
    }

    /// Extent of the dilated kernel along `axis`.
    fn effective_kernel(&self, axis: usize) -> usize {
        (self.kernel[axis] - 1) * self.dilations[axis] + 1
    }

    /// `pads` given explicitly: output length by floor or ceil, per the spec's formula.
    fn explicit_padding(&mut self, pads: Option<Vec<i64>>, ceil_mode: bool) -> Result<(), OpError> {
        let n = self.input.len();
        let pads = pads.unwrap_or_else(|| vec![0; 2 * n]);
        if pads.len() != 2 * n || pads.iter().any(|&p| p < 0) {
            return Err(OpError::invalid(format!("pads {pads:?} do not fit {n} spatial axes")));
        }
        for axis in 0..n {
            self.pad_begin[axis] = pads[axis] as usize;
            self.pad_end[axis] = pads[axis + n] as usize;
            self.output[axis] = explicit_output_len(
                self.input[axis],
                self.pad_begin[axis],
                self.pad_end[axis],
                self.effective_kernel(axis),
                self.strides[axis],
                ceil_mode,
            )?;
        }
        Ok(())
    }

    /// `auto_pad = VALID`: no padding, only windows that fit in the input.
    fn valid_padding(&mut self) -> Result<(), OpError> {
        for axis in 0..self.input.len() {
            let ek = self.effective_kernel(axis);
            if self.input[axis] < ek {
                return Err(OpError::invalid(format!(
                    "VALID pooling: kernel extent {ek} exceeds input"
                )));
            }
            self.output[axis] = (self.input[axis] - ek) / self.strides[axis] + 1;
        }
        Ok(())
    }

    /// `auto_pad = SAME_UPPER / SAME_LOWER`: output `ceil(input / stride)`, the odd pad at the end (upper) or
    /// the beginning (lower).
    fn same_padding(&mut self, upper: bool) {
        for axis in 0..self.input.len() {
            let (input, stride) = (self.input[axis], self.strides[axis]);
            let output = input.div_ceil(stride);
            let total = ((output.max(1) - 1) * stride + self.effective_kernel(axis)).saturating_sub(input);
            let small = total / 2;
            self.output[axis] = output;
            (self.pad_begin[axis], self.pad_end[axis]) = if upper {
                (small, total - small)
            } else {
                (total - small, small)
            };
        }
    }

    /// The taps of window `o` along `axis`: input positions inside the input, and the count inside the padded
    /// input (taps of a ceil_mode window past the end padding count for neither).
    fn axis_taps(&self, axis: usize, o: usize) -> (Vec<usize>, usize) {
        let start = (o * self.strides[axis]) as i64 - self.pad_begin[axis] as i64;
        let input = self.input[axis] as i64;
        let padded_end = input + self.pad_end[axis] as i64;
        let mut inside = Vec::with_capacity(self.kernel[axis]);
        let mut padded = 0;
        for k in 0..self.kernel[axis] {
            let p = start + (k * self.dilations[axis]) as i64;
            if p < padded_end {
                padded += 1;
            }
            if (0..input).contains(&p) {
                inside.push(p as usize);
            }
        }
        (inside, padded)
    }

    /// The window producing the output at spatial index `out` of a plane.
    fn window(&self, plane: &[f64], out: &[usize]) -> Window {
        let n = self.input.len();
        let mut strides = vec![1usize; n];
        for axis in (0..n.saturating_sub(1)).rev() {
            strides[axis] = strides[axis + 1] * self.input[axis + 1];
        }
        let (taps, counts): (Vec<Vec<usize>>, Vec<usize>) = (0..n).map(|a| self.axis_taps(a, out[a])).unzip();
        let lens: Vec<usize> = taps.iter().map(Vec::len).collect();
        let mut window = Window {
            values: Vec::new(),
            offsets: Vec::new(),
            padded_count: counts.iter().product(),
        };
        for k in ndarray::indices(IxDyn(&lens)) {
            let offset: usize = (0..n).map(|a| taps[a][k[a]] * strides[a]).sum();
            window.values.push(plane[offset]);
            window.offsets.push(offset);
        }
        window
    }
}

/// Output length along one axis with explicit pads. In ceil mode a last window that would start in the end
/// padding is dropped.
fn explicit_output_len(
    input: usize,
    pad_begin: usize,
    pad_end: usize,
    effective_kernel: usize,
    stride: usize,
    ceil_mode: bool,
) -> Result<usize, OpError> {
    let padded = input + pad_begin + pad_end;
    if padded < effective_kernel {
        return Err(OpError::invalid(format!(
            "kernel extent {effective_kernel} exceeds padded input {padded}"
        )));
    }
    let span = padded - effective_kernel;
    let mut output = if ceil_mode {
        span.div_ceil(stride)
    } else {
        span / stride
    } + 1;
    if ceil_mode && (output - 1) * stride >= input + pad_begin {
        output -= 1;
    }
    Ok(output)
}

/// An attribute list of `n` positive integers.
fn positive_list(values: &[i64], n: usize, name: &str) -> Result<Vec<usize>, OpError> {
    if values.len() != n || values.iter().any(|&v| v < 1) {
        return Err(OpError::invalid(format!(
            "{name} {values:?} must hold {n} positive values"
        )));
    }
    Ok(values.iter().map(|&v| v as usize).collect())
}

/// The spatial extents of a pooling input, which must be N x C x D1 x ... x Dn with n >= 1.
fn spatial_shape(x: &Value) -> Result<&[usize], OpError> {
    let shape = x.shape();
    if shape.len() < 3 {
        return Err(OpError::invalid(format!(
            "pooling needs rank >= 3, got shape {shape:?}"
        )));
    }
    Ok(&shape[2..])
}

/// Applies `reduce` to every window of every (batch, channel) plane; returns the N x C x output tensor.
fn pool<T: Clone + Default>(x: &ArrayD<f64>, geometry: &Geometry, mut reduce: impl FnMut(&Window) -> T) -> ArrayD<T> {
    let (batch, channels) = (x.shape()[0], x.shape()[1]);
    let planes = batch * channels;
    let plane_len: usize = geometry.input.iter().product();
    let out_len: usize = geometry.output.iter().product();
    let flat: Vec<f64> = x.iter().copied().collect();
    let mut out = Array2::<T>::default((planes, out_len));
    for p in 0..planes {
        let plane = &flat[p * plane_len..(p + 1) * plane_len];
        for (o, index) in ndarray::indices(IxDyn(&geometry.output)).into_iter().enumerate() {
            out[[p, o]] = reduce(&geometry.window(plane, index.slice()));
        }
    }
    let mut shape = vec![batch, channels];
    shape.extend(&geometry.output);
    out.into_shape_with_order(IxDyn(&shape)).expect("same element count")
}

/// The largest value of a window (NaN if any tap is NaN) and its row-major offset; an empty window gives
/// (-inf, None).
fn window_max(window: &Window) -> (f64, Option<usize>) {
    let mut best = (f64::NEG_INFINITY, None);
    for (&v, &offset) in window.values.iter().zip(&window.offsets) {
        if best.1.is_none() || (v.is_nan() && !best.0.is_nan()) || v > best.0 {
            best = (v, Some(offset));
        }
    }
    best
}

/// The mean of a window: divided by the taps inside the padded input (`count_include_pad`) or inside the input.
fn window_mean(window: &Window, count_include_pad: bool) -> f64 {
    let divisor = if count_include_pad {
        window.padded_count
    } else {
        window.values.len()
    };
    window.values.iter().sum::<f64>() / divisor as f64
}

/// The Lp norm of a window (padding contributes zeros).
fn window_lp(window: &Window, p: f64) -> f64 {
    window
        .values
        .iter()
        .map(|v| v.abs().powf(p))
        .sum::<f64>()
        .powf(p.recip())
}

/// Converts a row-major offset within a plane of `shape` to the column-major one.
fn column_major_offset(row_major: usize, shape: &[usize]) -> usize {
    let mut rest = row_major;
    let mut index = vec![0; shape.len()];
    for axis in (0..shape.len()).rev() {
        index[axis] = rest % shape[axis];
        rest /= shape[axis];
    }
    let mut offset = 0;
    for axis in (0..shape.len()).rev() {
        offset = offset * shape[axis] + index[axis];
    }
    offset
}

/// A pooled max as a value of the input's dtype (an empty window of an integer input gives its minimum).
fn max_value(dtype: DType, a: ArrayD<f64>) -> Value {
    if dtype.is_float() {
        return Value::float(dtype, a);
    }
    let lowest = if dtype == DType::I8 { i64::from(i8::MIN) } else { 0 };
    Value::int(dtype, a.mapv(|v| if v.is_finite() { v as i64 } else { lowest }))
}

/// MaxPool, with the optional Indices output (flat indices into the input; `storage_order = 1` numbers the
/// spatial positions column-major).
fn max_pool(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    if matches!(x.data, Data::B(_)) {
        return Err(OpError::invalid("MaxPool of bool"));
    }
    let geometry = Geometry::from_attributes(ctx, spatial_shape(x)?)?;
    let results = pool(&x.to_f64(), &geometry, window_max);
    let values = results.mapv(|(v, _)| v);
    let mut outputs = vec![max_value(x.dtype, values)];
    if ctx.node.output.len() > 1 {
        let column_major = ctx.int("storage_order", 0) != 0;
        let plane_len: usize = geometry.input.iter().product();
        let out_len: usize = geometry.output.iter().product();
        let mut indices = ArrayD::<i64>::zeros(results.raw_dim());
        for (i, (slot, (_, offset))) in indices.iter_mut().zip(results.iter()).enumerate() {
            let plane = i / out_len;
            *slot = offset.map_or(-1, |offset| {
                let within = if column_major {
                    column_major_offset(offset, &geometry.input)
                } else {
                    offset
                };
                (plane * plane_len + within) as i64
            });
        }
        outputs.push(Value::int(DType::I64, indices));
    }
    Ok(outputs)
}

fn average_pool(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let geometry = Geometry::from_attributes(ctx, spatial_shape(x)?)?;
    let include_pad = ctx.int("count_include_pad", 0) != 0;
    let y = pool(x.as_float()?, &geometry, |w| window_mean(w, include_pad));
    Ok(vec![Value::float(x.dtype, y)])
}

/// The `p` of LpPool / GlobalLpPool (an int attribute since opset 2, a float one in opset 1).
fn p_attribute(ctx: &OpContext) -> f64 {
    ctx.attr("p")
        .map_or(2.0, |a| if a.i != 0 { a.i as f64 } else { f64::from(a.f) })
}

fn lp_pool(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let geometry = Geometry::from_attributes(ctx, spatial_shape(x)?)?;
    let p = p_attribute(ctx);
    Ok(vec![Value::float(
        x.dtype,
        pool(x.as_float()?, &geometry, |w| window_lp(w, p)),
    )])
}

fn global_max_pool(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let geometry = Geometry::global(spatial_shape(x)?);
    let y = pool(x.as_float()?, &geometry, |w| window_max(w).0);
    Ok(vec![Value::float(x.dtype, y)])
}

fn global_average_pool(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let geometry = Geometry::global(spatial_shape(x)?);
    let y = pool(x.as_float()?, &geometry, |w| window_mean(w, false));
    Ok(vec![Value::float(x.dtype, y)])
}

fn global_lp_pool(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let geometry = Geometry::global(spatial_shape(x)?);
    let p = p_attribute(ctx);
    Ok(vec![Value::float(
        x.dtype,
        pool(x.as_float()?, &geometry, |w| window_lp(w, p)),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1-D geometry with explicit pads.
    fn geometry_1d(input: usize, kernel: usize, stride: usize, pads: (usize, usize), ceil: bool) -> Geometry {
        let mut g = Geometry {
            input: vec![input],
            output: vec![0],
            kernel: vec![kernel],
            strides: vec![stride],
            dilations: vec![1],
            pad_begin: vec![0],
            pad_end: vec![0],
        };
        g.explicit_padding(Some(vec![pads.0 as i64, pads.1 as i64]), ceil)
            .unwrap();
        g
    }

    #[test]
    fn ceil_mode_drops_a_window_starting_in_the_end_padding() {
        // ceil((2 + 2 - 3) / 3) + 1 = 2 windows, but the second starts at padded position 3 = input + pad_begin.
        assert_eq!(geometry_1d(2, 3, 3, (1, 1), true).output, vec![1]);
        // kernel 1, stride 2 over 2 elements: the ceil window would start past the input.
        assert_eq!(geometry_1d(2, 1, 2, (0, 0), true).output, vec![1]);
        // A ceil window that starts inside the input is kept.
        assert_eq!(geometry_1d(4, 3, 2, (0, 0), true).output, vec![2]);
        assert_eq!(geometry_1d(4, 3, 2, (0, 0), false).output, vec![1]);
    }

    #[test]
    fn average_divisor_counts_pads_but_not_the_ceil_overhang() {
        // input 4, kernel 3, stride 2, pads (1, 1), ceil: windows start at -1, 1, 3; the last covers 3, 4, 5
        // where 4 is end padding and 5 lies past it.
        let g = geometry_1d(4, 3, 2, (1, 1), true);
        assert_eq!(g.output, vec![3]);
        let plane = [1.0, 2.0, 3.0, 4.0];
        let last = g.window(&plane, &[2]);
        assert_eq!(last.values, vec![4.0]);
        assert_eq!(last.padded_count, 2);
        assert_eq!(window_mean(&last, true), 2.0);
        assert_eq!(window_mean(&last, false), 4.0);
        let first = g.window(&plane, &[0]);
        assert_eq!(window_mean(&first, true), 1.0);
        assert_eq!(window_mean(&first, false), 1.5);
    }

    #[test]
    fn same_lower_puts_the_odd_pad_first() {
        let mut g = geometry_1d(5, 2, 1, (0, 0), false);
        g.same_padding(false);
        assert_eq!((g.output[0], g.pad_begin[0], g.pad_end[0]), (5, 1, 0));
        g.same_padding(true);
        assert_eq!((g.output[0], g.pad_begin[0], g.pad_end[0]), (5, 0, 1));
    }

    #[test]
    fn column_major_offsets() {
        // 2 x 3 plane: row-major offset 4 is (1, 1), column-major 1 + 1 * 2 = 3.
        assert_eq!(column_major_offset(4, &[2, 3]), 3);
        assert_eq!(column_major_offset(2, &[2, 3]), 4);
    }
}
