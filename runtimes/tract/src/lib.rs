//! sysnoise adapter for tract (`tract-onnx`): the optimised plan, and the constant-parameter
//! mode of tract's own ONNX test harness (every input but the first baked in as a constant).

mod convert;

use std::collections::HashMap;
use std::sync::Arc;

use sysnoise_boundary::{DType, Model, NamedTensors, Runtime, RuntimeError, Session, Tensor};
use tract_onnx::prelude::{
    Framework, InferenceFact, InferenceModel, InferenceModelExt, TValue, TVec, TypedRunnableModel,
};

/// How parameters reach tract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TractMode {
    /// Every graph input stays an input; the plan is optimised for the fed shapes.
    Optimized,
    /// Inputs after the first become constants before optimisation, as tract's own ONNX harness
    /// does (tract wants Reshape shapes, Resize scales, BatchNorm statistics... to be constants).
    ConstantParameters,
}

/// tract as a sysnoise [`Runtime`].
pub struct TractRuntime {
    name: String,
    mode: TractMode,
}

impl TractRuntime {
    pub fn new(name: &str, mode: TractMode) -> TractRuntime {
        TractRuntime {
            name: name.to_string(),
            mode,
        }
    }
}

impl Runtime for TractRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        format!("tract-onnx {}", convert::TRACT_VERSION)
    }

    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        // Parse once now so that unknown ops are reported at prepare time.
        parse(&self.name, model)?;
        Ok(Box::new(TractSession {
            name: self.name.clone(),
            mode: self.mode,
            model: model.clone(),
            inputs: model.inputs().into_iter().map(|i| i.name).collect(),
            outputs: model.outputs().into_iter().map(|o| o.name).collect(),
            plans: HashMap::new(),
        }))
    }
}

/// Parses an ONNX model into tract's inference model; ops tract does not know are `Unsupported`.
fn parse(runtime: &str, model: &Model) -> Result<InferenceModel, RuntimeError> {
    parse_with(runtime, model, ValueInfo::Use)
}

/// Whether tract reads the graph's `value_info` shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValueInfo {
    Use,
    /// As `tract --onnx-ignore-value-info`: exporters write value_info in the model's symbolic
    /// dims (`batch`, `seq`), which tract then cannot unify with the concrete shapes fed
    /// ("Impossible to unify Sym(batch) with Val(1)"); tract infers them again from the inputs.
    Ignore,
}

fn parse_with(runtime: &str, model: &Model, value_info: ValueInfo) -> Result<InferenceModel, RuntimeError> {
    let bytes = model.to_bytes();
    let inference = tract_onnx::onnx()
        .with_ignore_value_info(value_info == ValueInfo::Ignore)
        .model_for_read(&mut bytes.as_slice())
        .map_err(|e| convert::classify(runtime, &e))?;
    if let Some(node) = inference
        .nodes()
        .iter()
        .find(|n| n.op.name().starts_with("Unimplemented"))
    {
        return Err(
            RuntimeError::unsupported(runtime, format!("tract has no {}", node.op.name())).at(node.name.clone()),
        );
    }
    Ok(inference)
}

type PlanKey = Vec<(DType, Vec<usize>)>;

struct TractSession {
    name: String,
    mode: TractMode,
    model: Model,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Optimised plans by input signature (optimised mode only).
    plans: HashMap<PlanKey, Arc<TypedRunnableModel>>,
}

impl TractSession {
    /// The feeds in the model's input order.
    fn ordered<'a>(&self, inputs: &'a [(String, Tensor)]) -> Result<Vec<&'a Tensor>, RuntimeError> {
        self.inputs
            .iter()
            .map(|name| {
                inputs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, t)| t)
                    .ok_or_else(|| RuntimeError::failed(&self.name, format!("input '{name}' was not fed")))
            })
            .collect()
    }

    /// Optimises and plans `model` for tensors of these dtypes and shapes. When that fails with
    /// the graph's value_info and the model has any, it is tried again without (tract's own
    /// `--onnx-ignore-value-info`): value_info written in symbolic dims, or stale after an
    /// export, is the model's annotation, not its computation.
    fn plan(&self, model: &Model, feeds: &[&Tensor]) -> Result<Arc<TypedRunnableModel>, RuntimeError> {
        match self.plan_with(model, feeds, ValueInfo::Use) {
            Err(first) if !model.graph().value_info.is_empty() && !first.is_unsupported() => {
                self.plan_with(model, feeds, ValueInfo::Ignore).map_err(|_| first)
            }
            planned => planned,
        }
    }

    fn plan_with(
        &self,
        model: &Model,
        feeds: &[&Tensor],
        value_info: ValueInfo,
    ) -> Result<Arc<TypedRunnableModel>, RuntimeError> {
        let err = |e: tract_onnx::prelude::TractError| convert::classify(&self.name, &e);
        let mut inference = parse_with(&self.name, model, value_info)?;
        for (ix, tensor) in feeds.iter().enumerate() {
            let dt = convert::datum_type(&self.name, tensor.dtype())?;
            inference = inference
                .with_input_fact(ix, InferenceFact::dt_shape(dt, tensor.shape()))
                .map_err(err)?;
        }
        let typed = inference.into_optimized().map_err(err)?;
        tract_onnx::prelude::IntoRunnable::into_runnable(typed).map_err(err)
    }

    fn run_plan(&self, plan: &Arc<TypedRunnableModel>, feeds: &[&Tensor]) -> Result<NamedTensors, RuntimeError> {
        let values: TVec<TValue> = feeds
            .iter()
            .map(|t| convert::to_tract(&self.name, t).map(TValue::from))
            .collect::<Result<_, _>>()?;
        let outputs = plan.run(values).map_err(|e| convert::classify(&self.name, &e))?;
        self.outputs
            .iter()
            .zip(outputs.iter())
            .map(|(name, value)| Ok((name.clone(), convert::from_tract(&self.name, value)?)))
            .collect()
    }
}

impl Session for TractSession {
    fn run(&mut self, inputs: &[(String, Tensor)]) -> Result<NamedTensors, RuntimeError> {
        let feeds = self.ordered(inputs)?;
        match self.mode {
            TractMode::Optimized => {
                let key: PlanKey = feeds.iter().map(|t| (t.dtype(), t.shape().to_vec())).collect();
                let plan = match self.plans.get(&key) {
                    Some(plan) => plan.clone(),
                    None => {
                        let plan = self.plan(&self.model, &feeds)?;
                        self.plans.insert(key, plan.clone());
                        plan
                    }
                };
                self.run_plan(&plan, &feeds)
            }
            TractMode::ConstantParameters => {
                let constants: Vec<(String, Tensor)> = self
                    .inputs
                    .iter()
                    .cloned()
                    .zip(feeds.iter().map(|t| (*t).clone()))
                    .skip(1)
                    .collect();
                let model = with_inputs_as_constants(&self.model, &constants);
                let plan = self.plan(&model, &feeds[..feeds.len().min(1)])?;
                self.run_plan(&plan, &feeds[..feeds.len().min(1)])
            }
        }
    }
}

/// A copy of `model` where the named graph inputs become initialisers holding these values.
fn with_inputs_as_constants(model: &Model, constants: &[(String, Tensor)]) -> Model {
    let mut model = model.clone();
    let graph = model.graph_mut();
    graph.input.retain(|i| !constants.iter().any(|(n, _)| *n == i.name));
    graph
        .initializer
        .retain(|i| !constants.iter().any(|(n, _)| *n == i.name));
    graph.initializer.extend(constants.iter().map(|(n, t)| t.to_proto(n)));
    model
}
