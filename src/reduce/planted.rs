//! Graphs with one planted divergent node, for the reduce benchmark and tests. The planted node
//! is a real ONNX Runtime divergence found by the ONNX node tests: Resize (linear,
//! align_corners) downsampling by a scale whose output length is fractional — ORT divides by
//! the rounded length, the spec by `length * scale` (cases/xfail/ort.txt:
//! test_resize_downsample_scales_linear_align_corners).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sysnoise_boundary::{DType, GraphBuilder, Model, NamedTensors, Tensor, attr};

use crate::fuzz::graph::GRAPH_OPSET;

/// Where the divergent node sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// In the middle of a long chain of ops.
    DeepChain,
    /// On a side branch off the middle of the main chain, with its own output.
    SideBranch,
    /// Fed through Reshape and Concat (the values it sees are rearranged inputs).
    BehindReshapeConcat,
}

impl Placement {
    pub const ALL: [Placement; 3] = [
        Placement::DeepChain,
        Placement::SideBranch,
        Placement::BehindReshapeConcat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placement::DeepChain => "deep-chain",
            Placement::SideBranch => "side-branch",
            Placement::BehindReshapeConcat => "behind-reshape-concat",
        }
    }
}

/// Ops every runtime computes alike (within f32 tolerance) that keep values spread out, so
/// the planted divergence is not washed out on its way to an output.
const CALM: &[&str] = &["Neg", "Add", "Mul", "Identity", "Abs"];

struct Planter {
    g: GraphBuilder,
    rng: ChaCha8Rng,
    count: usize,
}

impl Planter {
    fn name(&mut self, op: &str) -> String {
        self.count += 1;
        format!("{}_{}", op.to_lowercase(), self.count)
    }

    /// One calm op on `x`: negation, identity, |x|, or adding / multiplying a constant row.
    fn calm(&mut self, x: &str, width: usize) -> String {
        let op = CALM[self.rng.random_range(0..CALM.len())];
        let name = self.name(op);
        let row = |i: usize| match op {
            "Mul" => [1.25, 0.8, -1.0, 1.0][i % 4],
            _ => 0.125 * (i % 4) as f64 - 0.25,
        };
        if matches!(op, "Add" | "Mul") {
            let values: Vec<f64> = (0..width).map(row).collect();
            let c = Tensor::from_f64(
                DType::F32,
                &ndarray::ArrayD::from_shape_vec(vec![width], values).expect("width values"),
            );
            let c = self.g.constant(&format!("{name}_c"), &c);
            self.g.node(op, &name, &[x, &c], vec![])
        } else {
            self.g.node(op, &name, &[x], vec![])
        }
    }

    fn chain(&mut self, mut x: String, nodes: usize, width: usize) -> String {
        for _ in 0..nodes {
            x = self.calm(&x, width);
        }
        x
    }

    /// The divergent node: Resize linear align_corners, last axis scaled by 0.6.
    fn resize(&mut self, x: &str, rank: usize) -> String {
        let mut scales = vec![1.0; rank];
        scales[rank - 1] = 0.6;
        let scales = Tensor::from_f64(
            DType::F32,
            &ndarray::ArrayD::from_shape_vec(vec![rank], scales).expect("rank values"),
        );
        let name = self.name("Resize");
        let scales = self.g.constant(&format!("{name}_scales"), &scales);
        self.g.node(
            "Resize",
            &name,
            &[x, "", &scales],
            vec![
                attr::string("mode", "linear"),
                attr::string("coordinate_transformation_mode", "align_corners"),
            ],
        )
    }

    fn int64s(&mut self, name: &str, values: &[i64]) -> String {
        let t = Tensor::from_f64(
            DType::I64,
            &ndarray::ArrayD::from_shape_vec(vec![values.len()], values.iter().map(|&v| v as f64).collect())
                .expect("values"),
        );
        self.g.constant(name, &t)
    }
}

/// A graph of about `nodes` nodes (at least 8) with the planted node placed as asked, and its
/// input (`x`, f32 [1, 1, 4, 8], values in [-2, 2] from `seed`).
pub fn planted(placement: Placement, nodes: usize, seed: u64) -> (Model, NamedTensors) {
    let nodes = nodes.max(8);
    let mut p = Planter {
        g: GraphBuilder::new(&format!("planted_{}", placement.name()), GRAPH_OPSET),
        rng: ChaCha8Rng::seed_from_u64(seed),
        count: 0,
    };
    let shape = [1, 1, 4, 8];
    let x = p.g.input("x", DType::F32, &shape);
    let values: Vec<f64> = (0..32).map(|_| p.rng.random_range(-2.0..2.0)).collect();
    let input = Tensor::from_f64(
        DType::F32,
        &ndarray::ArrayD::from_shape_vec(shape.to_vec(), values).expect("32 values"),
    );
    match placement {
        Placement::DeepChain => {
            let before = p.chain(x, nodes / 2, 8);
            let resized = p.resize(&before, 4);
            let after = p.chain(resized, nodes - nodes / 2 - 1, 4);
            p.g.output(&after, DType::F32);
        }
        Placement::SideBranch => {
            let first = p.chain(x, (nodes - 3) / 2, 8);
            let main = p.chain(first.clone(), nodes - 3 - (nodes - 3) / 2, 8);
            p.g.output(&main, DType::F32);
            let resized = p.resize(&first, 4);
            let branch = p.chain(resized, 2, 4);
            p.g.output(&branch, DType::F32);
        }
        Placement::BehindReshapeConcat => {
            let start = p.chain(x, (nodes - 5) / 2, 8);
            let shape_a = p.int64s("shape_a", &[1, 1, 8, 4]);
            let reshaped = p.g.node("Reshape", "reshape_a", &[&start, &shape_a], vec![]);
            let other = p.chain(reshaped.clone(), 1, 4);
            let joined =
                p.g.node("Concat", "concat", &[&reshaped, &other], vec![attr::int("axis", 3)]);
            let shape_b = p.int64s("shape_b", &[1, 1, 4, 16]);
            let back = p.g.node("Reshape", "reshape_b", &[&joined, &shape_b], vec![]);
            let resized = p.resize(&back, 4);
            let rest = nodes.saturating_sub(p.count + 3).max(1);
            let end = p.chain(resized, rest, 9);
            p.g.output(&end, DType::F32);
        }
    }
    (p.g.build(), vec![("x".to_string(), input)])
}
