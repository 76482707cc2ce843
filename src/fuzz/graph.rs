//! Multi-op graphs: random DAGs assembled from catalog cases, valid by construction — each new
//! node is run alone on the reference (fed the values its inputs really take), which both
//! checks it and infers its output shapes before the node joins the graph.

use std::collections::HashSet;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sysnoise_boundary::{DType, GraphBuilder, Model, NamedTensors, Tensor};

use super::FINITE_ATTEMPTS;
use crate::catalog::{OpCase, OpSpec, Role};
use crate::compare::REFERENCE;
use crate::guard::guarded;
use crate::values::{self, Regime};

/// The default-domain opset of generated graphs (one per graph, as ONNX requires).
pub const GRAPH_OPSET: i64 = 21;

/// Whether a case authored at its opset means the same in an opset-21 graph: not before 13
/// (Softmax's 2-D coercion, Resize-11's tf_half_pixel_for_nn), and not the forms opset 18
/// changed: Reduce* (but ReduceSum) with the axes attribute, Split without `num_outputs`.
pub fn fits_graph_opset(case: &OpCase) -> bool {
    let changed_at_18 = (case.op_type.starts_with("Reduce") && case.op_type != "ReduceSum") || case.op_type == "Split";
    case.opset >= 13 && !(changed_at_18 && case.opset < 18)
}

/// A value of the graph under construction.
struct Available {
    name: String,
    tensor: Tensor,
}

/// A generated multi-op graph with its input values.
pub struct GraphCase {
    pub model: Model,
    pub inputs: NamedTensors,
    /// Op type of each node, in order.
    pub op_types: Vec<&'static str>,
    /// The catalog case behind each node, in node order (for signatures and undefined rules).
    pub cases: Vec<OpCase>,
}

/// Candidate nodes drafted for each insertion; the one consuming most existing values joins.
const DRAFTS: usize = 3;

fn case_from(spec: &OpSpec, dtype: DType, rng: &mut ChaCha8Rng) -> Option<OpCase> {
    let seed: [u8; 32] = rng.random();
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let case = (spec.strategy)(dtype).new_tree(&mut runner).ok()?.current();
    fits_graph_opset(&case).then_some(case)
}

/// Chooses, for each data input, an existing value to consume (`Some(index into pool)`).
/// Unary elementwise ops take any value of their dtype (their shape adapts); broadcasting
/// elementwise ops take any value as first operand and give the others its shape or a
/// suffix of it (broadcasting); other ops take values of exactly the shape their case asks for.
fn connect(spec: &OpSpec, case: &mut OpCase, pool: &[Available], rng: &mut ChaCha8Rng) -> Vec<Option<usize>> {
    let mut sources = vec![None; case.inputs.len()];
    let all_data = case.inputs.iter().all(|d| d.role == Role::Data);
    let adapts = spec.family == "elementwise" && all_data;
    let mut first_shape: Option<Vec<usize>> = None;
    for (i, input) in case.inputs.iter_mut().enumerate().filter(|(_, d)| d.role == Role::Data) {
        if let (true, Some(first)) = (adapts, &first_shape) {
            // Later operands of a broadcasting op: the first's shape or a suffix of it.
            let drop = rng.random_range(0..=first.len());
            input.shape = first[drop..].to_vec();
        }
        let free = adapts && first_shape.is_none();
        let candidates: Vec<usize> = (0..pool.len())
            .filter(|&j| pool[j].tensor.dtype() == input.dtype && (free || pool[j].tensor.shape() == input.shape))
            .collect();
        if !candidates.is_empty() && rng.random_bool(0.85) {
            let chosen = candidates[rng.random_range(0..candidates.len())];
            input.shape = pool[chosen].tensor.shape().to_vec();
            sources[i] = Some(chosen);
        }
        if adapts && first_shape.is_none() {
            first_shape = Some(input.shape.clone());
        }
    }
    sources
}

/// Fresh values for the unconnected inputs of a node and its weights. In the finite regime,
/// attempt `n` reshapes typical values as the single-op search does.
fn fresh_values(case: &OpCase, rng: &mut ChaCha8Rng, regime: Regime, attempt: i32) -> (NamedTensors, NamedTensors) {
    if regime == Regime::Finite {
        super::finite_attempt_values(case, rng, attempt)
    } else {
        values::for_case(case, rng, regime)
    }
}

/// A random DAG of up to `nodes` nodes from the catalog pairs (f32 ones are the glue).
pub fn generate_graph(pairs: &[(&OpSpec, DType)], nodes: usize, rng: &mut ChaCha8Rng, regime: Regime) -> GraphCase {
    let reference = crate::registry::build(REFERENCE).expect("the reference is always available");
    let mut g = GraphBuilder::new("sysnoise_graph", GRAPH_OPSET);
    let mut pool: Vec<Available> = Vec::new();
    let mut graph_inputs: NamedTensors = Vec::new();
    let mut consumed: HashSet<String> = HashSet::new();
    let mut op_types = Vec::new();
    let mut cases = Vec::new();
    let mut attempts = 0;
    while op_types.len() < nodes && attempts < nodes * 10 {
        attempts += 1;
        let mut best: Option<(OpCase, Vec<Option<usize>>)> = None;
        for _ in 0..DRAFTS {
            let (spec, dtype) = pairs[rng.random_range(0..pairs.len())];
            let Some(mut draft) = case_from(spec, dtype, rng) else {
                continue;
            };
            let sources = connect(spec, &mut draft, &pool, rng);
            let connected = sources.iter().flatten().count();
            if best
                .as_ref()
                .is_none_or(|(_, s)| connected > s.iter().flatten().count())
            {
                best = Some((draft, sources));
            }
        }
        let Some((case, sources)) = best else {
            continue;
        };
        let local_names = case.input_names();
        // Run the node alone on the reference, fed upstream values where connected and fresh
        // ones elsewhere; in the finite regime, redraw the fresh ones until every output is
        // finite (upstream values are finite already), else drop the node.
        let attempts_allowed = if regime == Regime::Finite { FINITE_ATTEMPTS } else { 1 };
        let mut accepted = None;
        for attempt in 0..attempts_allowed {
            let (fresh, weights) = fresh_values(&case, rng, regime, attempt);
            let feeds: NamedTensors = fresh
                .iter()
                .map(|(name, tensor)| {
                    let i = local_names
                        .iter()
                        .position(|n| n == name)
                        .expect("fresh values use the case's names");
                    let value = sources[i].map_or_else(|| tensor.clone(), |j| pool[j].tensor.clone());
                    (name.clone(), value)
                })
                .collect();
            let single = case.model(&weights);
            let Ok(outputs) = guarded(REFERENCE, || reference.prepare(&single)?.run(&feeds)) else {
                break;
            };
            if regime != Regime::Finite || super::all_finite(&outputs) {
                accepted = Some((feeds, weights, outputs));
                break;
            }
        }
        let Some((feeds, weights, outputs)) = accepted else {
            continue;
        };
        let prefix = format!("n{}", op_types.len());
        let mut node_inputs = Vec::new();
        for (i, (desc, local)) in case.inputs.iter().zip(&local_names).enumerate() {
            let name = match (&desc.role, sources[i]) {
                (Role::Omitted, _) => String::new(),
                (Role::Data, Some(j)) => {
                    consumed.insert(pool[j].name.clone());
                    pool[j].name.clone()
                }
                (Role::Fixed(t), _) => g.constant(&format!("{prefix}_c{i}"), t),
                (Role::Weight, _) if case.constant_weights => {
                    let value = weights.iter().find(|(n, _)| n == local).map(|(_, t)| t.clone());
                    g.constant(&format!("{prefix}_w{i}"), &value.expect("a weight value"))
                }
                _ => {
                    let value = feeds
                        .iter()
                        .find(|(n, _)| n == local)
                        .map(|(_, t)| t.clone())
                        .expect("a fed value");
                    let name = g.input(&format!("{prefix}_in{i}"), desc.dtype, &desc.shape);
                    graph_inputs.push((name.clone(), value));
                    name
                }
            };
            node_inputs.push(name);
        }
        let output_names: Vec<String> = (0..case.num_outputs).map(|j| format!("{prefix}_out{j}")).collect();
        let input_refs: Vec<&str> = node_inputs.iter().map(String::as_str).collect();
        let output_refs: Vec<&str> = output_names.iter().map(String::as_str).collect();
        g.node_with_outputs(
            case.op_type,
            &prefix,
            &input_refs,
            &output_refs,
            case.attributes.clone(),
        );
        for (name, (_, tensor)) in output_names.into_iter().zip(outputs) {
            pool.push(Available { name, tensor });
        }
        op_types.push(case.op_type);
        cases.push(case);
    }
    for value in pool.iter().filter(|v| !consumed.contains(&v.name)) {
        g.output(&value.name, value.tensor.dtype());
    }
    GraphCase {
        model: g.build(),
        inputs: graph_inputs,
        op_types,
        cases,
    }
}
