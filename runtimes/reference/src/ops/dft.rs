//! Reference kernels: discrete Fourier transforms (DFT opsets 17 and 20, STFT), computed as direct sums in f64.

use std::f64::consts::PI;

use ndarray::{ArrayD, Axis, IxDyn, Zip, concatenate};

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::Value;

pub fn register(r: &mut Registry) {
    r.add("DFT", dft);
    r.add("STFT", stft);
}

/// A complex tensor as its real and imaginary parts (same shape).
struct Complex {
    re: ArrayD<f64>,
    im: ArrayD<f64>,
}

impl Complex {
    /// ONNX's real representation `[..., 1]` (real) or `[..., 2]` (real, imaginary) as parts.
    fn from_onnx(a: &ArrayD<f64>) -> Result<Complex, OpError> {
        let last = a
            .ndim()
            .checked_sub(1)
            .ok_or_else(|| OpError::invalid("a DFT of a scalar"))?;
        match a.shape()[last] {
            1 => Ok(Complex {
                re: a.index_axis(Axis(last), 0).to_owned(),
                im: ArrayD::zeros(IxDyn(&a.shape()[..last])),
            }),
            2 => Ok(Complex {
                re: a.index_axis(Axis(last), 0).to_owned(),
                im: a.index_axis(Axis(last), 1).to_owned(),
            }),
            n => Err(OpError::invalid(format!("a complex axis of {n} (1: real, 2: complex)"))),
        }
    }

    /// Back to `[..., 2]`.
    fn to_onnx(&self) -> ArrayD<f64> {
        let last = self.re.ndim();
        let re = self.re.view().insert_axis(Axis(last));
        let im = self.im.view().insert_axis(Axis(last));
        concatenate(Axis(last), &[re, im]).expect("same shapes")
    }
}

/// `e^(sign·2πi·k·t/n)` with the product reduced modulo `n` first, so large indices keep full
/// precision.
fn twiddle(k: usize, t: usize, n: usize, sign: f64) -> (f64, f64) {
    let angle = sign * 2.0 * PI * ((k * t) % n) as f64 / n as f64;
    (angle.cos(), angle.sin())
}

/// The DFT of length `n` along `axis` (input zero-padded or truncated to `n`), keeping the
/// first `bins` frequencies; `inverse` uses the positive exponent and divides by `n`.
fn transform(x: &Complex, axis: usize, n: usize, bins: usize, inverse: bool) -> Complex {
    let mut shape = x.re.shape().to_vec();
    shape[axis] = bins;
    let mut out = Complex {
        re: ArrayD::zeros(IxDyn(&shape)),
        im: ArrayD::zeros(IxDyn(&shape)),
    };
    let (sign, scale) = if inverse { (1.0, 1.0 / n as f64) } else { (-1.0, 1.0) };
    Zip::from(x.re.lanes(Axis(axis)))
        .and(x.im.lanes(Axis(axis)))
        .and(out.re.lanes_mut(Axis(axis)))
        .and(out.im.lanes_mut(Axis(axis)))
        .for_each(|re, im, mut out_re, mut out_im| {
            let used = re.len().min(n);
            for k in 0..bins {
                let (mut sr, mut si) = (0.0, 0.0);
                for t in 0..used {
                    let (c, s) = twiddle(k, t, n, sign);
                    sr += re[t] * c - im[t] * s;
                    si += re[t] * s + im[t] * c;
                }
                out_re[k] = sr * scale;
                out_im[k] = si * scale;
            }
        });
    out
}

/// The inverse of a one-sided spectrum along `axis`: the real signal of length `n` whose
/// spectrum's first `n/2 + 1` bins these are (numpy's irfft: missing bins are zero, the
/// imaginary parts of bin 0 and, for even `n`, bin `n/2` are ignored). Shape `[..., n, ..., 1]`.
fn inverse_real(x: &Complex, axis: usize, n: usize) -> ArrayD<f64> {
    let mut shape = x.re.shape().to_vec();
    shape[axis] = n;
    let mut out = ArrayD::<f64>::zeros(IxDyn(&shape));
    let half = n / 2 + 1;
    Zip::from(x.re.lanes(Axis(axis)))
        .and(x.im.lanes(Axis(axis)))
        .and(out.lanes_mut(Axis(axis)))
        .for_each(|re, im, mut y| {
            let bin = |k: usize| if k < re.len() { (re[k], im[k]) } else { (0.0, 0.0) };
            for t in 0..n {
                let mut sum = bin(0).0;
                for k in 1..half {
                    let (r, i) = bin(k);
                    let (c, s) = twiddle(k, t, n, 1.0);
                    let term = r * c - i * s;
                    // Bin n/2 of an even n appears once in the full spectrum, every other twice.
                    sum += if 2 * k == n { r * c } else { 2.0 * term };
                }
                y[t] = sum / n as f64;
            }
        });
    out.insert_axis(Axis(shape.len()))
}

/// A scalar integer input, or `None` when omitted (or empty).
fn scalar_input(ctx: &OpContext, inputs: &[Option<Value>], i: usize) -> Option<i64> {
    ctx.optional_input(inputs, i)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.to_i64_vec().first().copied())
}

/// DFT: the transform of `input` (`[..., 1]` real or `[..., 2]` complex) along `axis` (an
/// attribute in opset 17, default 1; an input from opset 20, default −2) over `dft_length`
/// points (default: the axis length, or `2·(len − 1)` for a one-sided inverse); `onesided`
/// keeps `n/2 + 1` bins forward and reads them inverse (a real output).
fn dft(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let xa = x.to_f64();
    let rank = xa.ndim();
    let axis = if ctx.opset >= 20 {
        scalar_input(ctx, inputs, 2).unwrap_or(-2)
    } else {
        ctx.int("axis", 1)
    };
    let axis = ctx.axis(axis, rank)?;
    if axis + 1 >= rank {
        return Err(OpError::invalid(format!(
            "DFT: axis {axis} is the complex axis of {:?}",
            xa.shape()
        )));
    }
    let inverse = ctx.int("inverse", 0) != 0;
    let onesided = ctx.int("onesided", 0) != 0;
    let len = xa.shape()[axis];
    let n = match scalar_input(ctx, inputs, 1) {
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| OpError::invalid(format!("DFT: dft_length {n}")))?,
        None if inverse && onesided => 2 * len.saturating_sub(1),
        None => len,
    };
    let complex = Complex::from_onnx(&xa)?;
    let y = match (inverse, onesided) {
        (true, true) => inverse_real(&complex, axis, n),
        (true, false) => transform(&complex, axis, n, n, true).to_onnx(),
        (false, true) => transform(&complex, axis, n, n / 2 + 1, false).to_onnx(),
        (false, false) => transform(&complex, axis, n, n, false).to_onnx(),
    };
    Ok(vec![Value::float(x.dtype, y)])
}

/// STFT: `signal` `[batch, length, 1 | 2]` cut into frames of `frame_length` (default: the
/// window's length) every `frame_step` samples, each multiplied by `window` (default ones) and
/// transformed over `frame_length` points (`onesided`, default 1, keeps `n/2 + 1` bins):
/// `[batch, frames, bins, 2]`, `frames = 1 + (length − frame_length) / frame_step`.
fn stft(ctx: &OpContext, inputs: &[Option<Value>]) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let signal = Complex::from_onnx(&x.to_f64())?;
    let (batch, length) = match signal.re.shape() {
        [b, l] => (*b, *l),
        other => {
            return Err(OpError::invalid(format!(
                "STFT: signal {other:?} (want [batch, length, 1 | 2])"
            )));
        }
    };
    let step = scalar_input(ctx, inputs, 1)
        .and_then(|s| usize::try_from(s).ok())
        .filter(|&s| s > 0)
        .ok_or_else(|| OpError::invalid("STFT: frame_step must be a positive scalar"))?;
    let window = ctx
        .optional_input(inputs, 2)
        .filter(|w| !w.is_empty())
        .map(Value::to_f64);
    let frame = match scalar_input(ctx, inputs, 3) {
        Some(f) => usize::try_from(f)
            .ok()
            .filter(|&f| f > 0)
            .ok_or_else(|| OpError::invalid(format!("STFT: frame_length {f}")))?,
        None => window.as_ref().map_or(length, |w| w.len()),
    };
    let window: Vec<f64> = window.map_or_else(|| vec![1.0; frame], |w| w.iter().copied().collect());
    if frame > length {
        return Err(OpError::invalid(format!(
            "STFT: frame_length {frame} exceeds the signal's {length}"
        )));
    }
    let frames = 1 + (length - frame) / step;
    let onesided = ctx.int("onesided", 1) != 0;
    // The windowed frames [batch, frames, window], zero beyond the signal's end.
    let mut framed = Complex {
        re: ArrayD::zeros(IxDyn(&[batch, frames, window.len()])),
        im: ArrayD::zeros(IxDyn(&[batch, frames, window.len()])),
    };
    for b in 0..batch {
        for f in 0..frames {
            for (t, w) in window.iter().enumerate() {
                let at = f * step + t;
                if at < length {
                    framed.re[[b, f, t]] = signal.re[[b, at]] * w;
                    framed.im[[b, f, t]] = signal.im[[b, at]] * w;
                }
            }
        }
    }
    let bins = if onesided { frame / 2 + 1 } else { frame };
    let y = transform(&framed, 2, frame, bins, false).to_onnx();
    Ok(vec![Value::float(x.dtype, y)])
}
