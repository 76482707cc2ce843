//! Spec-undefined behaviour as data (cases/undefined.yaml): cases that meet a rule are not
//! findings, whatever the runtimes return.

use std::sync::OnceLock;

use serde::Deserialize;
use sysnoise_boundary::{DType, NamedTensors, Tensor};

use crate::catalog::OpCase;

/// One rule of cases/undefined.yaml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub ops: Vec<String>,
    #[serde(default)]
    pub dtypes: Vec<String>,
    /// The condition, by name (see [`condition_holds`]).
    pub when: String,
    pub reason: String,
}

/// The rules shipped in cases/undefined.yaml (embedded at build time).
pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rules: Vec<Rule> = serde_yaml_ng::from_str(include_str!("../../cases/undefined.yaml"))
            .expect("cases/undefined.yaml is valid (checked by a unit test)");
        for rule in &rules {
            assert!(
                KNOWN_CONDITIONS.contains(&rule.when.as_str()),
                "undefined.yaml: unknown condition '{}'",
                rule.when
            );
        }
        rules
    })
}

const KNOWN_CONDITIONS: &[&str] = &[
    "integer-inputs-near-limits",
    "float-to-int-out-of-range",
    "float-inputs-near-limits",
];

/// The largest finite value of a float dtype.
fn float_max(dtype: DType) -> Option<f64> {
    Some(match dtype {
        DType::F16 => 65504.0,
        DType::BF16 => 3.389_531_389_251_535_5e38,
        DType::F32 => f64::from(f32::MAX),
        DType::F64 => f64::MAX,
        _ => return None,
    })
}

/// Float inputs with a value past the square root of the type's largest value (squares and
/// products of them overflow), or infinite.
fn float_inputs_near_limits(inputs: &NamedTensors) -> bool {
    inputs
        .iter()
        .any(|(_, t)| float_max(t.dtype()).is_some_and(|max| t.to_f64_vec().iter().any(|v| v.abs() > max.sqrt())))
}

/// An integer dtype's range as f64.
fn int_range(dtype: DType) -> Option<(f64, f64)> {
    Some(match dtype {
        DType::I8 => (-128.0, 127.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::I32 => (-2_147_483_648.0, 2_147_483_647.0),
        DType::I64 => (-9.223_372_036_854_776e18, 9.223_372_036_854_776e18),
        DType::U8 => (0.0, 255.0),
        DType::U16 => (0.0, 65535.0),
        DType::U32 => (0.0, 4_294_967_295.0),
        DType::U64 => (0.0, 1.844_674_407_370_955_2e19),
        _ => return None,
    })
}

/// Integer inputs with a value whose magnitude is past the square root of the type's range,
/// so sums and products of a few of them may overflow.
fn integer_inputs_near_limits(inputs: &NamedTensors) -> bool {
    inputs.iter().any(|(_, t)| {
        int_range(t.dtype()).is_some_and(|(_, max)| {
            let limit = max.sqrt();
            t.to_f64_vec().iter().any(|v| v.abs() > limit)
        })
    })
}

fn cast_target(case: &OpCase) -> Option<DType> {
    let to = case.attributes.iter().find(|a| a.name == "to")?.i;
    DType::from_onnx_code(i32::try_from(to).ok()?).ok()
}

/// A float input cast to an integer type with a value outside its range, NaN or Inf.
fn float_to_int_out_of_range(case: &OpCase, inputs: &NamedTensors) -> bool {
    let Some((min, max)) = cast_target(case).and_then(int_range) else {
        return false;
    };
    inputs
        .iter()
        .filter(|(_, t)| t.dtype().is_float())
        .any(|(_, t): &(String, Tensor)| {
            t.to_f64_vec()
                .iter()
                .any(|&v| !v.is_finite() || v.trunc() < min || v.trunc() > max)
        })
}

fn condition_holds(when: &str, case: &OpCase, inputs: &NamedTensors) -> bool {
    match when {
        "integer-inputs-near-limits" => integer_inputs_near_limits(inputs),
        "float-to-int-out-of-range" => float_to_int_out_of_range(case, inputs),
        "float-inputs-near-limits" => float_inputs_near_limits(inputs),
        _ => false,
    }
}

/// The first rule the case meets, if any.
pub fn matching_rule<'a>(case: &OpCase, inputs: &NamedTensors, rules: &'a [Rule]) -> Option<&'a Rule> {
    rules.iter().find(|rule| {
        rule.ops.iter().any(|o| o == case.op_type)
            && (rule.dtypes.is_empty() || rule.dtypes.iter().any(|d| d == case.dtype.name()))
            && condition_holds(&rule.when, case, inputs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::InputDesc;
    use sysnoise_boundary::attr;

    #[test]
    fn the_shipped_rules_parse_and_name_known_conditions() {
        assert!(rules().len() >= 2);
        assert!(rules().iter().all(|r| !r.reason.is_empty()));
    }

    #[test]
    fn cast_of_a_huge_float_to_int32_is_undefined() {
        let case = OpCase::new(
            "Cast",
            DType::F32,
            vec![InputDesc::data(DType::F32, vec![2])],
            vec![attr::int("to", 6)],
        );
        let huge = vec![(
            "in0".to_string(),
            Tensor::from_f64(DType::F32, &ndarray::arr1(&[1.0, 3e9]).into_dyn()),
        )];
        let fine = vec![(
            "in0".to_string(),
            Tensor::from_f64(DType::F32, &ndarray::arr1(&[1.0, -3.0]).into_dyn()),
        )];
        assert_eq!(
            matching_rule(&case, &huge, rules()).map(|r| r.id.as_str()),
            Some("float-to-int-out-of-range")
        );
        assert!(matching_rule(&case, &fine, rules()).is_none());
    }
}
