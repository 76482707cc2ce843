//! Reference kernels: reductions over axes (ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax, ArgMin).

use std::cmp::Ordering;

use ndarray::{ArrayD, IxDyn};
use sysnoise_boundary::DType;

use super::Registry;
use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

pub fn register(r: &mut Registry) {
    r.add("ReduceSum", |c, i| reduce(c, i, Kind::Sum));
    r.add("ReduceMean", |c, i| reduce(c, i, Kind::Mean));
    r.add("ReduceMax", |c, i| reduce(c, i, Kind::Max));
    r.add("ReduceMin", |c, i| reduce(c, i, Kind::Min));
    r.add("ReduceProd", |c, i| reduce(c, i, Kind::Prod));
    r.add("ReduceL1", |c, i| reduce(c, i, Kind::L1));
    r.add("ReduceL2", |c, i| reduce(c, i, Kind::L2));
    r.add("ReduceLogSum", |c, i| reduce(c, i, Kind::LogSum));
    r.add("ReduceLogSumExp", |c, i| reduce(c, i, Kind::LogSumExp));
    r.add("ReduceSumSquare", |c, i| reduce(c, i, Kind::SumSquare));
    r.add("ArgMax", |c, i| arg_extreme(c, i, Ordering::Greater));
    r.add("ArgMin", |c, i| arg_extreme(c, i, Ordering::Less));
}

/// Which reduction a Reduce* node computes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

impl Kind {
    /// The reduction of one lane of floats; an empty lane gives the spec's identity value.
    fn float(self, lane: &[f64]) -> f64 {
        let sum = |f: fn(f64) -> f64| lane.iter().map(|&v| f(v)).sum::<f64>();
        match self {
            Kind::Sum => sum(|v| v),
            Kind::Mean => sum(|v| v) / lane.len() as f64,
            Kind::Max => fold_nan(lane, f64::NEG_INFINITY, f64::max),
            Kind::Min => fold_nan(lane, f64::INFINITY, f64::min),
            Kind::Prod => lane.iter().product(),
            Kind::L1 => sum(f64::abs),
            Kind::L2 => sum(|v| v * v).sqrt(),
            Kind::LogSum => sum(|v| v).ln(),
            Kind::LogSumExp => log_sum_exp(lane),
            Kind::SumSquare => sum(|v| v * v),
        }
    }

    /// Whether [`Kind::int`] computes this reduction on integers (rather than via f64).
    fn is_exact_for_ints(self) -> bool {
        !matches!(self, Kind::L2 | Kind::LogSum | Kind::LogSumExp)
    }

    /// The reduction of one lane of integers, exact with wrap-around, where it has an integer
    /// definition; `None` for those computed in f64 and truncated (L2, LogSum, LogSumExp).
    fn int(self, lane: &[i64], dtype: DType) -> Option<i64> {
        let sum = |f: fn(i64) -> i64| lane.iter().fold(0i64, |acc, &v| acc.wrapping_add(f(v)));
        let (lowest, highest) = int_range(dtype);
        Some(match self {
            Kind::Sum => sum(|v| v),
            Kind::Mean => sum(|v| v).checked_div(lane.len() as i64).unwrap_or(0),
            Kind::Max => lane.iter().copied().max().unwrap_or(lowest),
            Kind::Min => lane.iter().copied().min().unwrap_or(highest),
            Kind::Prod => lane.iter().fold(1i64, |acc, &v| acc.wrapping_mul(v)),
            Kind::L1 => sum(i64::wrapping_abs),
            Kind::SumSquare => sum(|v| v.wrapping_mul(v)),
            Kind::L2 | Kind::LogSum | Kind::LogSumExp => return None,
        })
    }

    /// The reduction of one lane of bools (ReduceMax/ReduceMin only, from opset 20).
    fn boolean(self, lane: &[bool]) -> Result<bool, OpError> {
        match self {
            Kind::Max => Ok(lane.iter().any(|&v| v)),
            Kind::Min => Ok(lane.iter().all(|&v| v)),
            other => Err(OpError::invalid(format!("{other:?} reduction of bool"))),
        }
    }
}

/// Folds with `f`, but any NaN in the lane makes the result NaN (numpy semantics).
fn fold_nan(lane: &[f64], init: f64, f: fn(f64, f64) -> f64) -> f64 {
    if lane.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    lane.iter().copied().fold(init, f)
}

/// `ln(sum(exp(x)))`, shifted by the maximum to avoid overflow; `-inf` for an empty lane.
fn log_sum_exp(lane: &[f64]) -> f64 {
    let max = fold_nan(lane, f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + lane.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
}

/// The smallest and largest values of an integer dtype (as stored in i64).
fn int_range(dtype: DType) -> (i64, i64) {
    match dtype {
        DType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DType::I32 => (i32::MIN.into(), i32::MAX.into()),
        DType::U8 => (0, u8::MAX.into()),
        DType::U16 => (0, u16::MAX.into()),
        DType::U32 => (0, u32::MAX.into()),
        DType::U64 => (0, u64::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

fn reduce(ctx: &OpContext, inputs: &[Option<Value>], kind: Kind) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axes = reduced_axes(ctx, inputs, x.shape().len())?;
    let keep = ctx.int("keepdims", 1) != 0;
    let out = match &x.data {
        Data::F(a) => Value::float(x.dtype, reduce_lanes(a, &axes, keep, |l| kind.float(l))),
        Data::B(a) => Value::boolean(try_reduce_lanes(a, &axes, keep, |l| kind.boolean(l))?),
        Data::I(a) if kind.is_exact_for_ints() => Value::int(
            x.dtype,
            reduce_lanes(a, &axes, keep, |l| kind.int(l, x.dtype).unwrap_or(0)),
        ),
        Data::I(_) => Value::from_f64(x.dtype, reduce_lanes(&x.to_f64(), &axes, keep, |l| kind.float(l))),
    };
    Ok(vec![out])
}

/// The axes a Reduce* node reduces, sorted and deduplicated: from the `axes` input (ReduceSum
/// from opset 13, the others from 18) or attribute; none given means all axes, unless
/// `noop_with_empty_axes` is set, in which case none (each element is reduced on its own).
fn reduced_axes(ctx: &OpContext, inputs: &[Option<Value>], rank: usize) -> Result<Vec<usize>, OpError> {
    let given = match ctx.optional_input(inputs, 1) {
        Some(v) => v.to_i64_vec(),
        None => ctx.ints("axes").unwrap_or_default(),
    };
    if given.is_empty() {
        let all = if ctx.int("noop_with_empty_axes", 0) != 0 {
            0
        } else {
            rank
        };
        return Ok((0..all).collect());
    }
    let mut axes = given
        .iter()
        .map(|&a| ctx.axis(a, rank))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    axes.dedup();
    Ok(axes)
}

/// Reduces each lane (the elements sharing the indices of the kept axes) with `f`; the output
/// keeps the reduced axes as size 1 when `keep`, else drops them.
fn reduce_lanes<T: Clone, R>(a: &ArrayD<T>, axes: &[usize], keep: bool, f: impl Fn(&[T]) -> R) -> ArrayD<R> {
    let never = |l: &[T]| Ok::<R, std::convert::Infallible>(f(l));
    match try_reduce_lanes(a, axes, keep, never) {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

/// [`reduce_lanes`] with a fallible lane function.
fn try_reduce_lanes<T: Clone, R, E>(
    a: &ArrayD<T>,
    axes: &[usize],
    keep: bool,
    f: impl Fn(&[T]) -> Result<R, E>,
) -> Result<ArrayD<R>, E> {
    let rank = a.ndim();
    let kept: Vec<usize> = (0..rank).filter(|i| !axes.contains(i)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let lane_len: usize = axes.iter().map(|&i| a.shape()[i]).product();
    let outer: usize = kept.iter().map(|&i| a.shape()[i]).product();
    let values: Vec<T> = a.view().permuted_axes(IxDyn(&perm)).iter().cloned().collect();
    let data: Vec<R> = if lane_len == 0 {
        (0..outer).map(|_| f(&[])).collect::<Result<_, E>>()?
    } else {
        values.chunks(lane_len).map(&f).collect::<Result<_, E>>()?
    };
    let shape: Vec<usize> = (0..rank)
        .filter_map(|i| match (axes.contains(&i), keep) {
            (false, _) => Some(a.shape()[i]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("one result per lane"))
}

/// ArgMax (`want` = Greater) or ArgMin (Less) along `axis`, as int64 indices.
fn arg_extreme(ctx: &OpContext, inputs: &[Option<Value>], want: Ordering) -> Result<Vec<Value>, OpError> {
    let x = ctx.input(inputs, 0)?;
    let axis = ctx.axis(ctx.int("axis", 0), x.shape().len())?;
    if x.shape().get(axis) == Some(&0) {
        return Err(OpError::invalid("ArgMax/ArgMin over an empty axis"));
    }
    let keep = ctx.int("keepdims", 1) != 0;
    let last = ctx.int("select_last_index", 0) != 0;
    let out = match &x.data {
        Data::F(a) => reduce_lanes(a, &[axis], keep, |l| arg_index(l, want, last)),
        Data::I(a) => reduce_lanes(a, &[axis], keep, |l| arg_index(l, want, last)),
        Data::B(a) => reduce_lanes(a, &[axis], keep, |l| arg_index(l, want, last)),
    };
    Ok(vec![Value::int(DType::I64, out)])
}

/// The index of the lane's most extreme value in the `want` direction: the first one, or the
/// last one when `last`. A NaN counts as more extreme than any number (as numpy's argmax/argmin).
fn arg_index<T: PartialOrd>(lane: &[T], want: Ordering, last: bool) -> i64 {
    let mut best = 0;
    for (i, v) in lane.iter().enumerate().skip(1) {
        let ord = compare_nan_extreme(v, &lane[best], want);
        if ord == want || (last && ord == Ordering::Equal) {
            best = i;
        }
    }
    best as i64
}

/// Compares `a` with `b`, treating NaN (the value not equal to itself) as the `want` extreme.
fn compare_nan_extreme<T: PartialOrd>(a: &T, b: &T, want: Ordering) -> Ordering {
    let nan = |v: &T| v.partial_cmp(v).is_none();
    match (a.partial_cmp(b), nan(a), nan(b)) {
        (Some(ord), _, _) => ord,
        (None, true, true) => Ordering::Equal,
        (None, true, false) => want,
        (None, false, _) => want.reverse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(shape: &[usize], v: Vec<f64>) -> ArrayD<f64> {
        ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
    }

    #[test]
    fn empty_reductions_give_identities() {
        let empty = arr(&[2, 0, 3], vec![]);
        for (kind, want) in [
            (Kind::Sum, 0.0),
            (Kind::Prod, 1.0),
            (Kind::Max, f64::NEG_INFINITY),
            (Kind::Min, f64::INFINITY),
            (Kind::L2, 0.0),
            (Kind::LogSum, f64::NEG_INFINITY),
            (Kind::LogSumExp, f64::NEG_INFINITY),
        ] {
            let r = reduce_lanes(&empty, &[1], true, |l| kind.float(l));
            assert_eq!(r.shape(), &[2, 1, 3]);
            assert!(r.iter().all(|&v| v == want), "{kind:?}");
        }
        assert_eq!(Kind::Max.int(&[], DType::I8), Some(-128));
        assert_eq!(Kind::Min.int(&[], DType::U16), Some(65535));
        assert!(!Kind::Max.boolean(&[]).unwrap());
        assert!(Kind::Min.boolean(&[]).unwrap());
    }

    #[test]
    fn lanes_follow_kept_axes_order() {
        let a = arr(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(
            reduce_lanes(&a, &[0], false, |l| Kind::Sum.float(l))
                .into_raw_vec_and_offset()
                .0,
            [5.0, 7.0, 9.0]
        );
        assert_eq!(reduce_lanes(&a, &[1], true, |l| Kind::Sum.float(l)).shape(), &[2, 1]);
        // No axes (noop_with_empty_axes): each element reduced alone, so SumSquare squares.
        let sq = reduce_lanes(&a, &[], true, |l| Kind::SumSquare.float(l));
        assert_eq!(sq.shape(), &[2, 3]);
        assert_eq!(sq[[1, 2]], 36.0);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        let v = Kind::LogSumExp.float(&[1000.0, 1000.0]);
        approx::assert_relative_eq!(v, 1000.0 + 2f64.ln());
    }

    #[test]
    fn arg_index_ties_and_nan() {
        assert_eq!(arg_index(&[1.0, 3.0, 3.0], Ordering::Greater, false), 1);
        assert_eq!(arg_index(&[1.0, 3.0, 3.0], Ordering::Greater, true), 2);
        assert_eq!(arg_index(&[1, 0, 0], Ordering::Less, true), 2);
        assert_eq!(arg_index(&[1.0, f64::NAN, 0.0], Ordering::Less, false), 1);
    }
}
