//! Error metrics between one runtime's output and the expected output, and the match verdict.

use serde::{Deserialize, Serialize};
use sysnoise_boundary::{DType, Tensor};

use crate::tolerance::Tolerance;

/// How far `actual` is from `expected`. Maxima are over elements where both are finite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub max_abs: f64,
    /// Over elements whose expected value is non-zero.
    pub max_rel: f64,
    /// Units in the last place, in the actual output's dtype (integers: the difference).
    pub max_ulp: u64,
    /// Elements outside the tolerance, as a fraction of all elements.
    pub mismatch_fraction: f64,
    pub mismatches: usize,
    pub cosine: f64,
    /// NaN and ±Inf appear at the same places with the same signs.
    pub nan_inf_agree: bool,
    /// For 2-D logits `[batch, classes]`: rows whose arg-max class is the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top1_agreement: Option<f64>,
    /// False when the shapes or dtypes differ (then no other metric is meaningful).
    pub same_shape: bool,
    /// Within the tolerance: same shape, NaN/Inf pattern agrees, mismatches ≤ outliers.
    pub within_tolerance: bool,
}

impl Metrics {
    /// The metrics of an output whose shape or dtype differs (or that is missing).
    pub fn shape_mismatch() -> Metrics {
        Metrics {
            max_abs: f64::INFINITY,
            max_rel: f64::INFINITY,
            max_ulp: u64::MAX,
            mismatch_fraction: 1.0,
            mismatches: 0,
            cosine: 0.0,
            nan_inf_agree: false,
            top1_agreement: None,
            same_shape: false,
            within_tolerance: false,
        }
    }
}

/// Maps a float's bits to an integer whose order is the float's order (so ulp distance is a
/// subtraction); +0 and -0 map to the same point.
fn ordered_bits(value: f64, dtype: DType) -> i64 {
    let (bits, sign_bit) = match dtype {
        DType::F32 => (i64::from((value as f32).to_bits()), 1i64 << 31),
        DType::F16 => (i64::from(half::f16::from_f64(value).to_bits()), 1 << 15),
        DType::BF16 => (i64::from(half::bf16::from_f64(value).to_bits()), 1 << 15),
        _ => {
            let b = value.to_bits();
            return if b >> 63 == 1 {
                -((b & !(1 << 63)) as i64)
            } else {
                b as i64
            };
        }
    };
    if bits & sign_bit != 0 {
        -(bits & !sign_bit)
    } else {
        bits
    }
}

/// Distance in units in the last place between two finite values, in `dtype`.
pub fn ulp_distance(a: f64, b: f64, dtype: DType) -> u64 {
    if dtype.is_float() {
        ordered_bits(a, dtype).abs_diff(ordered_bits(b, dtype))
    } else {
        (a - b).abs() as u64
    }
}

fn element_matches(a: f64, r: f64, dtype: DType, tol: &Tolerance) -> bool {
    if a.is_nan() || r.is_nan() {
        return a.is_nan() && r.is_nan();
    }
    if a == r {
        return true;
    }
    if !a.is_finite() || !r.is_finite() {
        return false;
    }
    (a - r).abs() <= tol.abs + tol.rel * r.abs() || tol.ulp.is_some_and(|u| ulp_distance(a, r, dtype) <= u)
}

/// Compares `actual` against `expected` under `tol`.
pub fn compare(actual: &Tensor, expected: &Tensor, tol: &Tolerance) -> Metrics {
    if actual.shape() != expected.shape() || actual.dtype() != expected.dtype() {
        return Metrics::shape_mismatch();
    }
    if let (Tensor::String(a), Tensor::String(r)) = (actual, expected) {
        return compare_strings(a, r, tol);
    }
    let dtype = actual.dtype();
    let (a, r) = (actual.to_f64_vec(), expected.to_f64_vec());
    let (mut max_abs, mut max_rel, mut max_ulp) = (0f64, 0f64, 0u64);
    let (mut dot, mut norm_a, mut norm_r) = (0f64, 0f64, 0f64);
    let mut mismatches = 0usize;
    let mut nan_inf_agree = true;
    for (&x, &y) in a.iter().zip(&r) {
        if !element_matches(x, y, dtype, tol) {
            mismatches += 1;
        }
        if x.is_finite() && y.is_finite() {
            let diff = (x - y).abs();
            max_abs = max_abs.max(diff);
            if y != 0.0 {
                max_rel = max_rel.max(diff / y.abs());
            }
            max_ulp = max_ulp.max(ulp_distance(x, y, dtype));
            dot += x * y;
            norm_a += x * x;
            norm_r += y * y;
        } else if !(x.is_nan() && y.is_nan() || x == y) {
            nan_inf_agree = false;
        }
    }
    let cosine = if norm_a == 0.0 && norm_r == 0.0 {
        1.0
    } else {
        dot / (norm_a.sqrt() * norm_r.sqrt()).max(f64::MIN_POSITIVE)
    };
    let mismatch_fraction = if a.is_empty() {
        0.0
    } else {
        mismatches as f64 / a.len() as f64
    };
    Metrics {
        max_abs,
        max_rel,
        max_ulp,
        mismatch_fraction,
        mismatches,
        cosine,
        nan_inf_agree,
        top1_agreement: top1_agreement(actual.shape(), &a, &r),
        same_shape: true,
        within_tolerance: nan_inf_agree && mismatch_fraction <= tol.outliers,
    }
}

/// Strings match exactly; the numeric metrics count unequal elements as distance 1.
fn compare_strings(a: &ndarray::ArrayD<String>, r: &ndarray::ArrayD<String>, tol: &Tolerance) -> Metrics {
    let mismatches = a.iter().zip(r).filter(|(x, y)| x != y).count();
    let mismatch_fraction = if a.is_empty() {
        0.0
    } else {
        mismatches as f64 / a.len() as f64
    };
    let differ = if mismatches > 0 { 1.0 } else { 0.0 };
    Metrics {
        max_abs: differ,
        max_rel: differ,
        max_ulp: mismatches.min(1) as u64,
        mismatch_fraction,
        mismatches,
        cosine: 1.0 - mismatch_fraction,
        nan_inf_agree: true,
        top1_agreement: None,
        same_shape: true,
        within_tolerance: mismatch_fraction <= tol.outliers,
    }
}

fn argmax(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |best, (i, &v)| if v > best.1 { (i, v) } else { best },
        )
        .0
}

/// For `[batch, classes]` outputs with several classes, the fraction of rows with the same arg-max.
fn top1_agreement(shape: &[usize], a: &[f64], r: &[f64]) -> Option<f64> {
    let [rows, classes] = *shape else { return None };
    if classes < 2 || rows == 0 {
        return None;
    }
    let same = a
        .chunks(classes)
        .zip(r.chunks(classes))
        .filter(|(x, y)| argmax(x) == argmax(y))
        .count();
    Some(same as f64 / rows as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::F32(ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap())
    }

    #[test]
    fn ulp_distance_counts_representable_steps() {
        let one = 1.0f32;
        let next = f32::from_bits(one.to_bits() + 3);
        assert_eq!(ulp_distance(f64::from(one), f64::from(next), DType::F32), 3);
        assert_eq!(ulp_distance(0.0, -0.0, DType::F32), 0);
        assert_eq!(
            ulp_distance(-f64::from(f32::MIN_POSITIVE), f64::from(f32::MIN_POSITIVE), DType::F32),
            2 << 23
        );
        assert_eq!(ulp_distance(5.0, 2.0, DType::I32), 3);
    }

    #[test]
    fn noise_inside_tolerance_agrees_and_outliers_are_counted() {
        let tol = Tolerance::default_for(DType::F32);
        let r = f32s(&[1, 4], &[1.0, 2.0, 3.0, 4.0]);
        let a = f32s(&[1, 4], &[1.0001, 2.0, 3.0, 4.0]);
        let m = compare(&a, &r, &tol);
        assert!(m.within_tolerance && m.mismatches == 0, "{m:?}");
        approx::assert_relative_eq!(m.max_abs, 1e-4, max_relative = 1e-2);
        let b = f32s(&[1, 4], &[1.0, 2.0, 3.0, 5.0]);
        let m = compare(&b, &r, &tol);
        assert!(!m.within_tolerance);
        assert_eq!((m.mismatches, m.mismatch_fraction), (1, 0.25));
        assert_eq!(m.top1_agreement, Some(1.0));
        let m = compare(&b, &r, &Tolerance { outliers: 0.25, ..tol });
        assert!(m.within_tolerance);
    }

    #[test]
    fn nan_patterns_and_shapes() {
        let tol = Tolerance::default_for(DType::F32);
        let r = f32s(&[2], &[f32::NAN, f32::INFINITY]);
        assert!(compare(&f32s(&[2], &[f32::NAN, f32::INFINITY]), &r, &tol).within_tolerance);
        let m = compare(&f32s(&[2], &[0.0, f32::INFINITY]), &r, &tol);
        assert!(!m.nan_inf_agree && !m.within_tolerance);
        assert!(
            !compare(
                &f32s(&[2], &[0.0, f32::NEG_INFINITY]),
                &f32s(&[2], &[0.0, f32::INFINITY]),
                &tol
            )
            .nan_inf_agree
        );
        assert!(!compare(&f32s(&[1, 2], &[0.0, 0.0]), &f32s(&[2], &[0.0, 0.0]), &tol).same_shape);
    }

    #[test]
    fn top1_flags_a_flipped_class() {
        let tol = Tolerance::default_for(DType::F32);
        let r = f32s(&[2, 3], &[0.1, 0.5, 0.4, 0.9, 0.0, 0.0]);
        let a = f32s(&[2, 3], &[0.1, 0.4, 0.5, 0.9, 0.0, 0.0]);
        assert_eq!(compare(&a, &r, &tol).top1_agreement, Some(0.5));
    }
}
