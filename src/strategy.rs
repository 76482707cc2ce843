//! Public proptest strategies over the operator catalog, and a check for a runtime pair, so a
//! user can write a property test of two runtimes in a few lines:
//!
//! ```no_run
//! use proptest::prelude::*;
//! use sysnoise::strategy::{self, TestCase};
//! use sysnoise::values::Regime;
//! use sysnoise_boundary::DType;
//!
//! proptest! {
//!     #[test]
//!     fn ort_matches_the_reference(case in strategy::case(&["Conv", "Relu"], &[DType::F32], Regime::Typical)) {
//!         let (ort, reference) = (sysnoise::registry::build("ort").unwrap(), sysnoise::registry::build("reference").unwrap());
//!         strategy::check_agree(&*ort, &*reference, &case, &Default::default()).map_err(TestCaseError::fail)?;
//!     }
//! }
//! ```
//!
//! Failing cases shrink toward fewer/smaller dimensions, default attributes and simpler values.

use std::fmt;

use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use sysnoise_boundary::{DType, Model, NamedTensors, Runtime, Tensor};

use crate::catalog::{OpCase, Role, catalog};
use crate::compare::{Run, Verdict, judge, run_one};
use crate::tolerance::ToleranceModel;
use crate::values::Regime;

/// A generated single-op case with its input values.
#[derive(Clone, PartialEq)]
pub struct TestCase {
    pub case: OpCase,
    pub model: Model,
    pub inputs: NamedTensors,
}

impl fmt::Debug for TestCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.case.describe())?;
        for (name, t) in &self.inputs {
            write!(f, "\n  {name} = {:?}", t.to_f64_vec())?;
        }
        Ok(())
    }
}

/// Cases of the given ops (op types or catalog family names; empty = all) in the given
/// dtypes (empty = each op's own), without values.
pub fn op_case(ops: &[&str], dtypes: &[DType]) -> BoxedStrategy<OpCase> {
    let strategies: Vec<BoxedStrategy<OpCase>> = catalog()
        .into_iter()
        .filter(|s| ops.is_empty() || ops.iter().any(|o| *o == s.op_type || *o == s.family))
        .flat_map(|s| {
            let strategy = s.strategy;
            s.dtypes
                .iter()
                .filter(|d| dtypes.is_empty() || dtypes.contains(d))
                .map(move |&d| strategy(d))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!strategies.is_empty(), "no catalog op matches {ops:?} in {dtypes:?}");
    proptest::strategy::Union::new(strategies).boxed()
}

/// Values of one input, drawn by proptest so they shrink (toward 0 and small integers).
fn values(dtype: DType, shape: Vec<usize>, regime: Regime) -> BoxedStrategy<Tensor> {
    let count: usize = shape.iter().product();
    let element: BoxedStrategy<f64> = if dtype.is_float() {
        match regime {
            // The finite-value search needs the reference in the loop: the fuzz campaign does it;
            // here it draws typical values.
            Regime::Typical | Regime::Finite => (-1.0f64..1.0).boxed(),
            Regime::Edge => prop_oneof![
                4 => -1.0f64..1.0,
                1 => prop_oneof![Just(0.0), Just(-0.0), Just(0.5), Just(-0.5), Just(2.5), Just(1e4), Just(-1e4)],
            ]
            .boxed(),
        }
    } else if dtype == DType::Bool {
        any::<bool>().prop_map(f64::from).boxed()
    } else if dtype.is_signed_int() {
        (-4i32..=4).prop_map(f64::from).boxed()
    } else {
        (0u32..=8).prop_map(f64::from).boxed()
    };
    proptest::collection::vec(element, count)
        .prop_map(move |v| Tensor::from_f64(dtype, &ArrayD::from_shape_vec(IxDyn(&shape), v).expect("count matches")))
        .boxed()
}

/// Cases with input values (weights included, as constants or inputs per the case).
pub fn case(ops: &[&str], dtypes: &[DType], regime: Regime) -> BoxedStrategy<TestCase> {
    op_case(ops, dtypes)
        .prop_flat_map(move |case| {
            let fed: Vec<BoxedStrategy<(String, Tensor)>> = case
                .inputs
                .iter()
                .zip(case.input_names())
                .filter(|(d, _)| matches!(d.role, Role::Data | Role::Weight))
                .map(|(d, name)| {
                    let regime = if d.role == Role::Weight {
                        Regime::Typical
                    } else {
                        regime
                    };
                    values(d.dtype, d.shape.clone(), regime)
                        .prop_map(move |t| (name.clone(), t))
                        .boxed()
                })
                .collect();
            (Just(case), fed)
        })
        .prop_map(|(case, fed)| {
            let is_weight = |name: &str| {
                case.inputs
                    .iter()
                    .zip(case.input_names())
                    .any(|(d, n)| n == name && d.role == Role::Weight)
            };
            let (weights, inputs): (NamedTensors, NamedTensors) = fed
                .into_iter()
                .partition(|(n, _)| case.constant_weights && is_weight(n));
            let model = case.model(&weights);
            TestCase { case, model, inputs }
        })
        .boxed()
}

/// A test runner seeded by a fuzzer's input: the same bytes always make the same case, and
/// libFuzzer keeps the inputs whose cases reach new code. (Proptest's pass-through RNG, which
/// would map bytes to decisions one for one, halves its data at every nested strategy and then
/// yields zeros, on which filtering strategies never finish; a ChaCha stream seeded by the
/// bytes does not run dry.)
pub fn runner_from_bytes(bytes: &[u8]) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use rand::{RngCore, SeedableRng};
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut seed = [0u8; 32];
    rand_chacha::ChaCha8Rng::seed_from_u64(hash).fill_bytes(&mut seed);
    TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// `Ok` when `a` and `b` agree on the case within tolerance (or one of them declines it);
/// `Err` describes the divergence, with the reference deciding when it is one of the two.
pub fn check_agree(
    a: &dyn Runtime,
    b: &dyn Runtime,
    case: &TestCase,
    tolerances: &ToleranceModel,
) -> Result<(), String> {
    let runs = vec![
        Run {
            name: a.name().to_string(),
            outputs: run_one(a, &case.model, &case.inputs),
        },
        Run {
            name: b.name().to_string(),
            outputs: run_one(b, &case.model, &case.inputs),
        },
    ];
    if runs
        .iter()
        .any(|r| r.outputs.as_ref().is_err_and(|e| e.is_unsupported()))
    {
        return Ok(());
    }
    let Some(judgement) = judge(&case.model, &runs, tolerances) else {
        return Err(format!("neither runtime ran {}", case.case.describe()));
    };
    let bad: Vec<String> = runs
        .iter()
        .zip(&judgement.verdicts)
        .filter(|(_, v)| matches!(v, Verdict::Diverge | Verdict::Error))
        .map(|(r, _)| match &r.outputs {
            Err(e) => format!("{}: {e}", r.name),
            Ok(_) => {
                let m = judgement
                    .outputs
                    .iter()
                    .filter_map(|o| o.metrics.get(&r.name))
                    .fold(0f64, |acc, m| acc.max(m.max_abs));
                format!("{} diverges (max abs {m:.3e})", r.name)
            }
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", case.case.describe(), bad.join("; ")))
    }
}
