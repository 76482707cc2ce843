//! The machine a result was measured on, as every report names it: OS, CPU model, the
//! instruction-set features runtimes dispatch their kernels on, and what that dispatch means
//! here (which int8 arithmetic ONNX Runtime's CPU kernels use on this CPU).

use serde::{Deserialize, Serialize};
use sysnoise_boundary::cpu::INT8_DISPATCH_FEATURES;
use sysnoise_boundary::{Cpu, Model};

/// The `machine` object of `runtimes --json`, compare reports, repro bundles and the benchmark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub os: String,
    pub arch: String,
    pub cpu: String,
    /// The reported features this CPU has (`/proc/cpuinfo` names: avx2, avx512_vnni, ...).
    #[serde(default)]
    pub isa: Vec<String>,
    /// The reported features it lacks.
    #[serde(default)]
    pub isa_missing: Vec<String>,
    /// How ONNX Runtime's CPU kernels accumulate u8 × s8 products here (its int8 Conv, MatMul
    /// and Gemm): the one result-changing dispatch sysnoise knows of.
    #[serde(default)]
    pub ort_int8: String,
    pub sysnoise: String,
}

impl Machine {
    pub fn here() -> Machine {
        Machine::of(Cpu::here())
    }

    pub fn of(cpu: &Cpu) -> Machine {
        Machine {
            os: std::env::consts::OS.into(),
            arch: cpu.arch.clone(),
            cpu: cpu.model.clone(),
            isa: cpu.present().into_iter().map(str::to_string).collect(),
            isa_missing: cpu.absent().into_iter().map(str::to_string).collect(),
            ort_int8: sysnoise_ort::u8s8_accumulation(cpu).describe().to_string(),
            sysnoise: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// One line for the human reports: `AMD EPYC (x86_64: avx2 ...; no amx_int8); ORT int8: exact`.
    pub fn summary(&self) -> String {
        let mut line = format!("{} ({} {}: {}", self.cpu, self.os, self.arch, self.isa.join(" "));
        let int8_missing: Vec<&str> = self
            .isa_missing
            .iter()
            .map(String::as_str)
            .filter(|f| INT8_DISPATCH_FEATURES.contains(f))
            .collect();
        if !int8_missing.is_empty() {
            line += &format!("; no {}", int8_missing.join(", "));
        }
        line += &format!("); ORT int8: {}", self.ort_int8);
        line
    }
}

/// Ops whose results on ONNX Runtime depend on the CPU's int8 instructions: integer
/// convolutions and products, and the float ops ORT fuses with Q/DQ around them.
const INT8_OPS: &[&str] = &[
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
    "QGemm",
    "DynamicQuantizeLinear",
];

/// Why a result of `runtime` on `model` may depend on the CPU, or `None` when sysnoise knows of
/// no such dependence. A model with int8 convolutions or products (or QDQ nodes that ORT fuses
/// into them) run by ONNX Runtime on a CPU without VNNI saturates pairs of products.
pub fn isa_dependence(model: &Model, runtime: &str, machine: &Machine) -> Option<String> {
    if !crate::registry::runs_ort_cpu_kernels(runtime) {
        return None;
    }
    let quantised = model
        .graph()
        .node
        .iter()
        .any(|n| n.op_type == "DequantizeLinear" || INT8_OPS.contains(&n.op_type.as_str()));
    quantised.then(|| {
        format!(
            "{runtime}'s int8 kernels depend on the CPU's instructions (here: {}); another CPU may give other results",
            machine.ort_int8
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysnoise_boundary::U8S8Accumulation;

    #[test]
    fn a_cpu_without_vnni_is_named_with_what_it_lacks_and_saturates() {
        let cpu = Cpu::with_features("x86_64", "AMD EPYC", &["sse4_1", "avx", "avx2", "fma", "f16c"]);
        let machine = Machine::of(&cpu);
        assert_eq!(machine.isa, ["sse4_1", "avx", "avx2", "fma", "f16c"]);
        assert!(machine.isa_missing.contains(&"avx512_vnni".to_string()));
        assert_eq!(machine.ort_int8, U8S8Accumulation::SaturatingPairs.describe());
        assert!(
            machine.summary().contains("no avx512_vnni, avx_vnni, amx_int8"),
            "{}",
            machine.summary()
        );
        let vnni = Machine::of(&Cpu::with_features(
            "x86_64",
            "Xeon",
            &["avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"],
        ));
        assert_eq!(vnni.ort_int8, U8S8Accumulation::Exact.describe());
    }
}
