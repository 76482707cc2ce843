//! Reference control flow: If, Loop and Scan (opset 9+), their bodies run by the interpreter with
//! the enclosing graphs' values in scope.

use ndarray::{ArrayD, Axis, IxDyn};
use sysnoise_boundary::DType;
use sysnoise_boundary::onnx::{GraphProto, type_proto};

use crate::context::OpContext;
use crate::error::OpError;
use crate::value::{Data, Value};

/// The op types this module runs.
pub const OPS: [&str; 3] = ["If", "Loop", "Scan"];

/// Runs a subgraph on named feeds (the enclosing scopes stay visible) and returns its outputs in
/// the graph's output order.
pub type RunSubgraph<'a> = dyn Fn(&GraphProto, Vec<(String, Value)>) -> Result<Vec<Value>, ControlFlowError> + 'a;

/// An error inside a body (already attributed to its node by the interpreter), or one of the
/// control-flow node itself.
#[derive(Debug)]
pub enum ControlFlowError {
    Body(sysnoise_boundary::RuntimeError),
    Op(OpError),
}

impl From<OpError> for ControlFlowError {
    fn from(e: OpError) -> ControlFlowError {
        ControlFlowError::Op(e)
    }
}

fn body<'a>(ctx: &OpContext<'a>, name: &str) -> Result<&'a GraphProto, OpError> {
    ctx.attr(name)
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| OpError::invalid(format!("{} has no '{name}' graph", ctx.node.op_type)))
}

/// Evaluates one control-flow node.
pub fn run(ctx: &OpContext, inputs: &[Option<Value>], subgraph: &RunSubgraph) -> Result<Vec<Value>, ControlFlowError> {
    match ctx.node.op_type.as_str() {
        "If" => if_(ctx, inputs, subgraph),
        "Loop" => loop_(ctx, inputs, subgraph),
        "Scan" => scan(ctx, inputs, subgraph),
        other => Err(OpError::unsupported(format!("{other} is not control flow")).into()),
    }
}

fn scalar_bool(v: &Value, what: &str) -> Result<bool, OpError> {
    let values = v.to_bool();
    if values.len() != 1 {
        return Err(OpError::invalid(format!(
            "{what} must hold one value, has shape {:?}",
            v.shape()
        )));
    }
    Ok(values.iter().next().copied().unwrap_or(false))
}

/// If: the outputs of `then_branch` when `cond` is true, else of `else_branch`.
fn if_(ctx: &OpContext, inputs: &[Option<Value>], subgraph: &RunSubgraph) -> Result<Vec<Value>, ControlFlowError> {
    let cond = scalar_bool(ctx.input(inputs, 0)?, "If's cond")?;
    let branch = body(ctx, if cond { "then_branch" } else { "else_branch" })?;
    subgraph(branch, Vec::new())
}

/// Values stacked along a new leading axis (all of one dtype and shape).
fn stack(values: &[Value], what: &str) -> Result<Value, OpError> {
    let first = values
        .first()
        .ok_or_else(|| OpError::invalid(format!("{what}: nothing to stack")))?;
    if let Some(v) = values
        .iter()
        .find(|v| v.shape() != first.shape() || v.dtype != first.dtype)
    {
        return Err(OpError::invalid(format!(
            "{what}: iterations give {} {:?} and {} {:?}; scan outputs must keep their shape",
            first.dtype,
            first.shape(),
            v.dtype,
            v.shape()
        )));
    }
    macro_rules! stacked {
        ($variant:ident) => {{
            let views: Vec<_> = values
                .iter()
                .map(|v| match &v.data {
                    Data::$variant(a) => a.view(),
                    _ => unreachable!("one dtype"),
                })
                .collect();
            Data::$variant(ndarray::stack(Axis(0), &views).map_err(|e| OpError::invalid(e.to_string()))?)
        }};
    }
    let data = match &first.data {
        Data::F(_) => stacked!(F),
        Data::I(_) => stacked!(I),
        Data::B(_) => stacked!(B),
    };
    Ok(Value {
        dtype: first.dtype,
        data,
    })
}

/// An empty scan output (a loop that ran no iteration) of the body output's declared type.
fn empty_like(output: &sysnoise_boundary::onnx::ValueInfoProto) -> Value {
    let dtype = match output.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => DType::from_onnx_code(t.elem_type).unwrap_or(DType::F32),
        _ => DType::F32,
    };
    Value::from_f64(dtype, ArrayD::zeros(IxDyn(&[0])))
}

/// Loop: runs `body` while the trip count `M` (if given) is not reached and the condition (if
/// given) holds; returns the final loop-carried values, then each scan output stacked over the
/// iterations. With neither `M` nor `cond` the body's condition is ignored (the spec's
/// `for (i = 0; ; ++i)`): such a model does not terminate here either.
fn loop_(ctx: &OpContext, inputs: &[Option<Value>], subgraph: &RunSubgraph) -> Result<Vec<Value>, ControlFlowError> {
    let body = body(ctx, "body")?;
    let trips = ctx
        .optional_input(inputs, 0)
        .map(|m| m.to_i64_vec().first().copied().unwrap_or(0));
    let cond_given = ctx.optional_input(inputs, 1).is_some();
    let mut cond = match ctx.optional_input(inputs, 1) {
        Some(c) => scalar_bool(c, "Loop's cond")?,
        None => true,
    };
    let mut carried: Vec<Value> = (2..inputs.len())
        .map(|i| ctx.input(inputs, i).cloned())
        .collect::<Result<_, _>>()?;
    if body.input.len() != 2 + carried.len() {
        return Err(OpError::invalid(format!(
            "Loop body takes {} inputs for {} loop-carried values (expected iteration, condition, then the values)",
            body.input.len(),
            carried.len()
        ))
        .into());
    }
    let scan_count = body.output.len().checked_sub(1 + carried.len()).ok_or_else(|| {
        OpError::invalid(format!(
            "Loop body has {} outputs for {} loop-carried values",
            body.output.len(),
            carried.len()
        ))
    })?;
    let mut scans: Vec<Vec<Value>> = vec![Vec::new(); scan_count];
    let mut iteration = 0i64;
    while trips.is_none_or(|m| iteration < m) && cond {
        let mut feeds = vec![
            (
                body.input[0].name.clone(),
                Value::int(DType::I64, ArrayD::from_elem(IxDyn(&[]), iteration)),
            ),
            (
                body.input[1].name.clone(),
                Value::boolean(ArrayD::from_elem(IxDyn(&[]), cond)),
            ),
        ];
        feeds.extend(body.input[2..].iter().map(|i| i.name.clone()).zip(carried.drain(..)));
        let mut outputs = subgraph(body, feeds)?.into_iter();
        let next_cond = outputs.next().expect("counted above");
        if cond_given {
            cond = scalar_bool(&next_cond, "the Loop body's condition")?;
        }
        carried.extend(outputs.by_ref().take(body.input.len() - 2));
        for (scan, value) in scans.iter_mut().zip(outputs) {
            scan.push(value);
        }
        iteration += 1;
    }
    let carried_count = carried.len();
    let mut results = carried;
    for (k, scan) in scans.iter().enumerate() {
        results.push(if scan.is_empty() {
            empty_like(&body.output[1 + carried_count + k])
        } else {
            stack(scan, "Loop scan output")?
        });
    }
    Ok(results)
}

/// One slice of `value` at `index` along `axis` (the axis removed).
fn slice_at(value: &Value, axis: usize, index: usize) -> Value {
    value.map_array(
        |a| a.index_axis(Axis(axis), index).to_owned(),
        |a| a.index_axis(Axis(axis), index).to_owned(),
        |a| a.index_axis(Axis(axis), index).to_owned(),
    )
}

/// `value` with its leading axis moved to `axis`.
fn leading_axis_to(value: Value, axis: usize) -> Value {
    if axis == 0 {
        return value;
    }
    let rank = value.shape().len();
    let mut order: Vec<usize> = (1..rank).collect();
    order.insert(axis, 0);
    value.map_array(
        |a| a.view().permuted_axes(order.clone()).as_standard_layout().into_owned(),
        |a| a.view().permuted_axes(order.clone()).as_standard_layout().into_owned(),
        |a| a.view().permuted_axes(order.clone()).as_standard_layout().into_owned(),
    )
}

/// An attribute list of per-input (or per-output) axes or directions, `count` long (zeros when
/// absent); negative axes count from the end of each tensor's rank.
fn per_tensor(ctx: &OpContext, name: &str, count: usize) -> Result<Vec<i64>, OpError> {
    match ctx.ints(name) {
        Some(v) if v.len() == count => Ok(v),
        Some(v) => Err(OpError::invalid(format!(
            "Scan {name} has {} entries for {count} tensors",
            v.len()
        ))),
        None => Ok(vec![0; count]),
    }
}

/// Scan (opset 9+): runs `body` once per slice of the scan inputs along their axes (forward or
/// reverse), threading the state; returns the final state, then each scan output's slices
/// stacked along its axis (in its direction).
fn scan(ctx: &OpContext, inputs: &[Option<Value>], subgraph: &RunSubgraph) -> Result<Vec<Value>, ControlFlowError> {
    if ctx.opset < 9 {
        return Err(OpError::unsupported("Scan before opset 9 (batched, with sequence_lens)").into());
    }
    let body = body(ctx, "body")?;
    let values: Vec<Value> = (0..inputs.len())
        .map(|i| ctx.input(inputs, i).cloned())
        .collect::<Result<_, _>>()?;
    let scan_inputs = usize::try_from(ctx.int("num_scan_inputs", 0))
        .ok()
        .filter(|m| (1..=values.len()).contains(m))
        .ok_or_else(|| OpError::invalid(format!("Scan num_scan_inputs {}", ctx.int("num_scan_inputs", 0))))?;
    let states = values.len() - scan_inputs;
    let scan_outputs = body.output.len().checked_sub(states).ok_or_else(|| {
        OpError::invalid(format!(
            "Scan body has {} outputs for {states} states",
            body.output.len()
        ))
    })?;
    let input_axes = per_tensor(ctx, "scan_input_axes", scan_inputs)?;
    let input_directions = per_tensor(ctx, "scan_input_directions", scan_inputs)?;
    let output_axes = per_tensor(ctx, "scan_output_axes", scan_outputs)?;
    let output_directions = per_tensor(ctx, "scan_output_directions", scan_outputs)?;
    let axes: Vec<usize> = values[states..]
        .iter()
        .zip(&input_axes)
        .map(|(v, &a)| ctx.axis(a, v.shape().len()))
        .collect::<Result<_, _>>()?;
    let length = values[states].shape()[axes[0]];
    if let Some(v) = values[states..]
        .iter()
        .zip(&axes)
        .find(|(v, a)| v.shape()[**a] != length)
    {
        return Err(OpError::invalid(format!(
            "Scan inputs of different lengths ({length} and {:?})",
            v.0.shape()
        ))
        .into());
    }
    let mut state: Vec<Value> = values[..states].to_vec();
    let mut slices: Vec<Vec<Value>> = vec![Vec::new(); scan_outputs];
    for t in 0..length {
        let mut feeds: Vec<(String, Value)> = body.input[..states]
            .iter()
            .map(|i| i.name.clone())
            .zip(state.drain(..))
            .collect();
        for (k, value) in values[states..].iter().enumerate() {
            let index = if input_directions[k] == 1 { length - 1 - t } else { t };
            feeds.push((body.input[states + k].name.clone(), slice_at(value, axes[k], index)));
        }
        let mut outputs = subgraph(body, feeds)?.into_iter();
        state.extend(outputs.by_ref().take(states));
        for (slot, value) in slices.iter_mut().zip(outputs) {
            slot.push(value);
        }
    }
    let mut results = state;
    for (k, mut slot) in slices.into_iter().enumerate() {
        if slot.is_empty() {
            results.push(empty_like(&body.output[states + k]));
            continue;
        }
        if output_directions[k] == 1 {
            slot.reverse();
        }
        let stacked = stack(&slot, "Scan output")?;
        let axis = ctx.axis(output_axes[k], stacked.shape().len())?;
        results.push(leading_axis_to(stacked, axis));
    }
    Ok(results)
}
