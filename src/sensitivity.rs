//! A model's sensitivity to rounding alone, measured with the reference, so that a verdict never claims more than the model's own conditioning allows.
//!
//! Every runtime stores its tensors in their declared type (f32, f16); the reference keeps f64.
//! On most models that costs a few ulps at the outputs. Where rounding boundaries sit in the
//! graph — quantisation (`QuantizeLinear`, `DynamicQuantizeLinear`), `Floor`, casts to integers,
//! arg-max — a one-ulp difference upstream can flip a whole quantisation step, and a few flips
//! move a quantised transformer's output by 1e-2 or more: any correct f32 implementation lands
//! that far from the f64 oracle. Running the reference once more with every float it produces
//! rounded to its dtype measures that spread; tolerances are widened to [`FACTOR`] times it.

use std::collections::BTreeMap;

use serde::Serialize;
use sysnoise_boundary::{Model, NamedTensors};

use crate::metrics::compare as measure;
use crate::tolerance::{Tolerance, ToleranceModel};

/// How many times the reference's own rounding move a runtime may be off before it diverges:
/// the rounded reference is one f32 implementation among many, and others flip other steps.
pub const FACTOR: f64 = 4.0;

/// How far each output of the reference moved when its intermediates were rounded.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sensitivity {
    /// Per output: the largest absolute move.
    pub max_abs: BTreeMap<String, f64>,
    /// Per output: the fraction of elements that moved beyond the output's default tolerance.
    pub moved_fraction: BTreeMap<String, f64>,
}

impl Sensitivity {
    /// Runs the rounded reference on `inputs` and measures it against `reference` (the plain
    /// reference's outputs). `None` when the rounded reference does not run.
    pub fn measure(
        model: &Model,
        inputs: &NamedTensors,
        reference: &NamedTensors,
        tolerance: impl Fn(&str, &sysnoise_boundary::Tensor) -> Tolerance,
    ) -> Option<Sensitivity> {
        let rounded = sysnoise_reference::prepare_rounded(model, crate::compare::REFERENCE)
            .and_then(|mut session| session.run(inputs))
            .ok()?;
        let mut s = Sensitivity::default();
        for ((name, expected), (_, actual)) in reference.iter().zip(&rounded) {
            let m = measure(actual, expected, &tolerance(name, expected));
            if !m.same_shape {
                return None;
            }
            s.max_abs
                .insert(name.clone(), if m.max_abs.is_finite() { m.max_abs } else { 0.0 });
            s.moved_fraction.insert(name.clone(), m.mismatch_fraction);
        }
        Some(s)
    }

    /// True when some output moved beyond its tolerance: rounding alone decides part of the
    /// result, and tolerances must account for it.
    pub fn matters(&self) -> bool {
        self.moved_fraction.values().any(|&f| f > 0.0)
    }

    /// `tolerances` with each output that moved beyond its tolerance widened: abs to
    /// [`FACTOR`] × its move (floats), outliers to [`FACTOR`] × the fraction that moved.
    pub fn widen(&self, tolerances: &ToleranceModel, base: impl Fn(&str) -> Tolerance) -> ToleranceModel {
        let mut widened = tolerances.clone();
        for (name, &fraction) in &self.moved_fraction {
            if fraction == 0.0 {
                continue;
            }
            let tol = base(name);
            let patch = widened.outputs.entry(name.clone()).or_default();
            patch.abs = Some(tol.abs.max(two_digits_up(FACTOR * self.max_abs[name])));
            patch.outliers = Some(tol.outliers.max(two_digits_up(FACTOR * fraction).min(1.0)));
        }
        widened
    }

    /// One line for the report: which outputs rounding alone moves, and by how much.
    pub fn note(&self) -> Option<String> {
        let moved: Vec<String> = self
            .moved_fraction
            .iter()
            .filter(|(_, f)| **f > 0.0)
            .map(|(name, f)| format!("'{name}' by {:.1e} ({:.2}% of elements)", self.max_abs[name], 100.0 * f))
            .collect();
        (!moved.is_empty()).then(|| {
            format!(
                "rounding sensitivity: with every intermediate rounded to its dtype the reference moves {}; \
                 rounding boundaries (quantisation, casts to integers) amplify one-ulp differences, so those \
                 outputs' tolerances are widened to {FACTOR}x that move",
                moved.join(", ")
            )
        })
    }
}

/// `x` rounded up to two significant digits (a tolerance a report can print: 4.9e-1, not
/// 4.954681396484375e-1).
fn two_digits_up(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    let exponent = x.log10().floor() as i32 - 1;
    let digits = (x / 10f64.powi(exponent) - 1e-9).ceil();
    // Through the decimal text, so the result is the double nearest to `digits`e`exponent`.
    format!("{digits}e{exponent}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widened_tolerances_print_short() {
        assert_eq!(format!("{:e}", two_digits_up(0.4954681396484375)), "5e-1");
        assert_eq!(format!("{:e}", two_digits_up(0.0123)), "1.3e-2");
        assert_eq!(two_digits_up(0.0), 0.0);
    }

    #[test]
    fn only_outputs_that_moved_are_widened() {
        let s = Sensitivity {
            max_abs: [("a".to_string(), 0.01), ("b".to_string(), 1e-9)].into(),
            moved_fraction: [("a".to_string(), 0.1), ("b".to_string(), 0.0)].into(),
        };
        assert!(s.matters());
        let base = |_: &str| Tolerance::default_for(sysnoise_boundary::DType::F32);
        let widened = s.widen(&ToleranceModel::default(), base);
        assert_eq!(widened.outputs["a"].abs, Some(0.04));
        assert_eq!(widened.outputs["a"].outliers, Some(0.4));
        assert!(!widened.outputs.contains_key("b"));
        assert!(s.note().unwrap().contains("'a' by 1.0e-2"));
    }
}
