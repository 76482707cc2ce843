//! A task's model inputs for many items at once: every model input, item axis first (images
//! `[N, C, H, W]` for the vision tasks, token ids and attention masks `[N, L]` for the text task).

use ndarray::Array4;
use sysnoise_boundary::{Model, NamedTensors, Tensor};

use crate::error::EngineError;

/// The inputs of `items` evaluation items, by model input name, each with the item axis first.
#[derive(Clone, Debug)]
pub struct Batch {
    inputs: NamedTensors,
    items: usize,
}

impl Batch {
    /// A batch of `inputs` (model input name → tensor whose first axis is the item); every
    /// tensor must have the same number of items.
    pub fn new(inputs: NamedTensors) -> Result<Batch, EngineError> {
        let Some((_, first)) = inputs.first() else {
            return Err(EngineError::Input("a batch needs at least one input".into()));
        };
        let items = first.shape().first().copied().unwrap_or(0);
        if let Some((name, tensor)) = inputs.iter().find(|(_, t)| t.shape().first().copied() != Some(items)) {
            return Err(EngineError::Input(format!(
                "batch input {name} has shape {:?}, not {items} items",
                tensor.shape()
            )));
        }
        Ok(Batch { inputs, items })
    }

    /// Images `[N, C, H, W]` as the model's (only) input.
    pub fn images(model: &Model, images: Array4<f32>) -> Result<Batch, EngineError> {
        let name = model
            .inputs()
            .first()
            .map(|i| i.name.clone())
            .ok_or_else(|| EngineError::Input("the model has no input".into()))?;
        Batch::new(vec![(name, Tensor::F32(images.into_dyn()))])
    }

    pub fn items(&self) -> usize {
        self.items
    }

    /// Every input, by name, item axis first.
    pub fn tensors(&self) -> &NamedTensors {
        &self.inputs
    }

    /// Items `range` as `model`'s inputs: float inputs are cast to the float type `model`
    /// declares for them (an FP16 model takes FP16), other inputs are passed as they are.
    pub fn rows(&self, model: &Model, range: std::ops::Range<usize>) -> NamedTensors {
        let declared = model.inputs();
        self.inputs
            .iter()
            .map(|(name, tensor)| {
                let rows = tensor.slice_along(0, range.start, range.end);
                let wanted = declared.iter().find(|i| &i.name == name).and_then(|i| i.dtype);
                let rows = match wanted {
                    Some(dtype) if dtype.is_float() && rows.dtype().is_float() && dtype != rows.dtype() => {
                        rows.cast(dtype)
                    }
                    _ => rows,
                };
                (name.clone(), rows)
            })
            .collect()
    }

    /// Mean absolute difference from `other` over the float inputs (input units; 0 without
    /// float inputs or when the shapes differ).
    pub fn mean_abs_diff(&self, other: &Batch) -> f64 {
        let (mut sum, mut count) = (0.0, 0usize);
        for ((_, a), (_, b)) in self.inputs.iter().zip(&other.inputs) {
            if !a.dtype().is_float() || a.shape() != b.shape() {
                continue;
            }
            // Image batches are f32 and large: no f64 copies of them.
            sum += match (a, b) {
                (Tensor::F32(a), Tensor::F32(b)) => a.iter().zip(b).map(|(x, y)| f64::from((x - y).abs())).sum(),
                _ => {
                    let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
                    a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>()
                }
            };
            count += a.len();
        }
        if count == 0 { 0.0 } else { sum / count as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ArrayD};
    use sysnoise_boundary::DType;

    #[test]
    fn rows_slice_every_input_and_keep_integer_types() {
        let ids = Tensor::I64(Array2::from_shape_fn((3, 4), |(i, j)| (i * 10 + j) as i64).into_dyn());
        let mask = Tensor::I64(ArrayD::from_elem(vec![3, 4], 1));
        let batch = Batch::new(vec![("ids".into(), ids), ("mask".into(), mask)]).unwrap();
        assert_eq!(batch.items(), 3);
        let mut g = sysnoise_boundary::GraphBuilder::new("g", 13);
        g.input("ids", DType::I64, &[3, 4]);
        g.input("mask", DType::I64, &[3, 4]);
        let model = g.build();
        let rows = batch.rows(&model, 1..3);
        assert_eq!(rows[0].1.shape(), &[2, 4]);
        assert_eq!(rows[0].1.to_f64_vec()[0], 10.0);
        assert_eq!(rows[1].1.dtype(), DType::I64);
        assert_eq!(batch.mean_abs_diff(&batch), 0.0);
    }

    #[test]
    fn items_must_agree() {
        let a = Tensor::F32(ArrayD::zeros(vec![2, 3]));
        let b = Tensor::F32(ArrayD::zeros(vec![3, 3]));
        let err = Batch::new(vec![("a".into(), a), ("b".into(), b)]).unwrap_err();
        assert!(err.to_string().contains("batch input b"), "{err}");
    }
}
