//! The divergence → accuracy link: the operator-level divergence a configuration causes (the
//! relative error of every layer's output against the training system's, on a few items, and
//! the first layer past a threshold) and its rank correlation with the task Δ.

use std::collections::HashMap;

use ndarray::ArrayD;
use serde::Serialize;
use sysnoise_boundary::{Model, Runtime};

use super::Batch;
use super::ConfigResult;
use crate::error::EngineError;
use crate::pernode::node_name;

/// A layer's output counts as divergent past this relative L2 error.
pub const DIVERGENT_LAYER_REL_ERROR: f64 = 1e-3;

/// Every node output of one model on the first items of a batch.
pub struct LayerValues {
    values: HashMap<String, ArrayD<f64>>,
}

/// A layer and its relative error.
#[derive(Clone, Debug, Serialize)]
pub struct Layer {
    pub node: String,
    pub op_type: String,
    /// Infinite (JSON: null) when the output's shape changed.
    pub rel_error: f64,
    /// The configuration changes this layer's output shape (e.g. a ceil_mode flip).
    pub shape_changed: bool,
}

/// How far a configuration's layers are from the training system's.
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// Layers compared (node outputs both systems compute with the same shape).
    pub layers: usize,
    pub mean_layer_rel_error: f64,
    pub max_layer_rel_error: f64,
    /// Relative error of the model's (first) output.
    pub output_rel_error: f64,
    /// The first layer, in graph order, whose relative error exceeds
    /// [`DIVERGENT_LAYER_REL_ERROR`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_divergent_layer: Option<Layer>,
}

/// `‖a − b‖₂ / ‖b‖₂` (0 when both are zero).
pub fn relative_l2(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    let (mut diff, mut norm) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        diff += (x - y) * (x - y);
        norm += y * y;
    }
    if norm == 0.0 {
        if diff == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (diff / norm).sqrt()
    }
}

impl LayerValues {
    /// Runs `model` on the first `items` rows of `inputs` with every intermediate exposed.
    pub fn record(
        runtime: &dyn Runtime,
        model: &Model,
        inputs: &Batch,
        items: usize,
    ) -> Result<LayerValues, EngineError> {
        let named = inputs.rows(model, 0..items);
        let outputs = runtime
            .prepare_with_intermediates(model)
            .and_then(|mut session| session.run(&named))
            .map_err(EngineError::Runtime)?;
        Ok(LayerValues {
            values: outputs
                .into_iter()
                .filter(|(_, t)| t.dtype().is_float())
                .map(|(name, t)| (name, t.to_f64_array()))
                .collect(),
        })
    }

    /// Compares `other` (a configuration) to these values (the training system), layer by layer
    /// in the order of `training_model`'s nodes.
    pub fn divergence(&self, training_model: &Model, other: &LayerValues) -> Divergence {
        let mut errors = Vec::new();
        let mut first = None;
        for (index, node) in training_model.graph().node.iter().enumerate() {
            for output in &node.output {
                let (Some(a), Some(b)) = (other.values.get(output), self.values.get(output)) else {
                    continue;
                };
                if a.shape() != b.shape() {
                    if first.is_none() {
                        first = Some(Layer {
                            node: node_name(node, index),
                            op_type: node.op_type.clone(),
                            rel_error: f64::INFINITY,
                            shape_changed: true,
                        });
                    }
                    continue;
                }
                let error = relative_l2(a, b);
                if first.is_none() && error > DIVERGENT_LAYER_REL_ERROR {
                    first = Some(Layer {
                        node: node_name(node, index),
                        op_type: node.op_type.clone(),
                        rel_error: error,
                        shape_changed: false,
                    });
                }
                errors.push(error);
            }
        }
        let output_rel_error = training_model
            .outputs()
            .first()
            .and_then(|o| Some(relative_l2(other.values.get(&o.name)?, self.values.get(&o.name)?)))
            .unwrap_or(f64::NAN);
        Divergence {
            layers: errors.len(),
            mean_layer_rel_error: errors.iter().sum::<f64>() / errors.len().max(1) as f64,
            max_layer_rel_error: errors.iter().copied().fold(0.0, f64::max),
            output_rel_error,
            first_divergent_layer: first,
        }
    }
}

/// Ranks with ties sharing their mean rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = mean;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation (Pearson's on the ranks); `None` with fewer than 3 pairs or a
/// constant side.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 3 {
        return None;
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The rank correlation of the divergence measures with Δ over the measured configurations.
pub fn summarise(configs: &[ConfigResult]) -> super::LinkSummary {
    let pairs: Vec<(&Divergence, f64)> = configs
        .iter()
        .filter(|c| c.skipped.is_none() && c.label != "training")
        .filter_map(|c| c.divergence.as_ref().map(|d| (d, c.delta)))
        .filter(|(d, _)| d.output_rel_error.is_finite() && d.mean_layer_rel_error.is_finite())
        .collect();
    let deltas: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let mean_layer: Vec<f64> = pairs.iter().map(|p| p.0.mean_layer_rel_error).collect();
    let output: Vec<f64> = pairs.iter().map(|p| p.0.output_rel_error).collect();
    super::LinkSummary {
        configurations: pairs.len(),
        spearman_mean_layer_error: spearman(&mean_layer, &deltas),
        spearman_output_error: spearman(&output, &deltas),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn spearman_of_a_monotone_relation_is_one_and_of_a_reversed_one_minus_one() {
        let x = [0.1, 0.5, 0.2, 3.0];
        let up = [1.0, 9.0, 2.0, 100.0];
        let down = [5.0, 1.0, 4.0, 0.0];
        assert_abs_diff_eq!(spearman(&x, &up).unwrap(), 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(spearman(&x, &down).unwrap(), -1.0, epsilon = 1e-12);
    }

    #[test]
    fn spearman_by_hand_with_ties() {
        // ranks x: [1, 2.5, 2.5, 4], y: [2, 1, 3, 4]: Σdxdy = 3, Σdx² = 4.5, Σdy² = 5 → 3/√22.5 = √0.4
        let r = spearman(&[1.0, 2.0, 2.0, 5.0], &[20.0, 10.0, 30.0, 40.0]).unwrap();
        assert_abs_diff_eq!(r, 0.4f64.sqrt(), epsilon = 1e-12);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn relative_l2_by_hand() {
        let b = ArrayD::from_shape_vec(vec![2], vec![3.0, 4.0]).unwrap();
        let a = ArrayD::from_shape_vec(vec![2], vec![3.0, 5.0]).unwrap();
        assert_abs_diff_eq!(relative_l2(&a, &b), 0.2, epsilon = 1e-12);
        assert_eq!(relative_l2(&b, &b), 0.0);
    }
}
