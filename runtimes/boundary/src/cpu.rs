//! The CPU a run happens on: its model name and the instruction-set extensions that runtimes
//! choose their kernels by at run time (ONNX Runtime's MLAS, oneDNN, tract's linalg).
//!
//! The same model on the same runtime release can compute different numbers on two CPUs when a
//! runtime dispatches on these features (the int8 GEMM of ONNX Runtime saturates on AVX2 and is
//! exact with VNNI), so the CPU is part of a system's identity: reports name it, and tests
//! derive hardware-dependent expectations from it instead of from the machine they were written
//! on.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The instruction-set extensions sysnoise reports, by the names Linux's `/proc/cpuinfo` uses.
/// x86-64: what MLAS, oneDNN and tract dispatch their f32 / int8 / bf16 kernels on.
pub const X86_64_FEATURES: &[&str] = &[
    "sse4_1",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
];

/// aarch64: NEON and the dot-product / matrix-multiply extensions int8 kernels use.
pub const AARCH64_FEATURES: &[&str] = &["asimd", "asimddp", "i8mm", "bf16", "sve", "sve2"];

/// One CPU: architecture, model and which of the reported features it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cpu {
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// The model name (`/proc/cpuinfo`'s `model name`), or what identifies it otherwise.
    pub model: String,
    /// Every feature of [`X86_64_FEATURES`] / [`AARCH64_FEATURES`] for this architecture, with
    /// whether the CPU (and the operating system) supports it.
    pub features: BTreeMap<String, bool>,
}

impl Cpu {
    /// This machine's CPU (detected once per process).
    pub fn here() -> &'static Cpu {
        static HERE: OnceLock<Cpu> = OnceLock::new();
        HERE.get_or_init(detect)
    }

    /// A CPU described by hand (tests, and reports read back from JSON).
    pub fn with_features(arch: &str, model: &str, present: &[&str]) -> Cpu {
        let names = match arch {
            "x86_64" => X86_64_FEATURES,
            "aarch64" => AARCH64_FEATURES,
            _ => &[],
        };
        Cpu {
            arch: arch.into(),
            model: model.into(),
            features: names.iter().map(|n| (n.to_string(), present.contains(n))).collect(),
        }
    }

    /// Whether the CPU has `feature` (a name of the lists above; unknown names are absent).
    pub fn has(&self, feature: &str) -> bool {
        self.features.get(feature).copied().unwrap_or(false)
    }

    /// The features it has, in the lists' order.
    pub fn present(&self) -> Vec<&str> {
        self.listed().iter().copied().filter(|f| self.has(f)).collect()
    }

    /// The reported features it lacks, in the lists' order.
    pub fn absent(&self) -> Vec<&str> {
        self.listed().iter().copied().filter(|f| !self.has(f)).collect()
    }

    fn listed(&self) -> &'static [&'static str] {
        match self.arch.as_str() {
            "x86_64" => X86_64_FEATURES,
            "aarch64" => AARCH64_FEATURES,
            _ => &[],
        }
    }

    /// One line: `AMD EPYC (x86_64: avx2 fma avx512f ...; no avx512_vnni, amx_int8)`, naming
    /// the int8-relevant features it lacks too, since their absence changes results.
    pub fn summary(&self) -> String {
        let present = self.present();
        let absent: Vec<&str> = INT8_DISPATCH_FEATURES
            .iter()
            .copied()
            .filter(|f| self.features.contains_key(*f) && !self.has(f))
            .collect();
        let mut line = format!("{} ({}: {}", self.model, self.arch, present.join(" "));
        if !absent.is_empty() {
            line += &format!("; no {}", absent.join(", "));
        }
        line.push(')');
        line
    }
}

/// The features whose absence changes int8 results (named as absent in summaries).
pub const INT8_DISPATCH_FEATURES: &[&str] = &["avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"];

/// How an integer kernel accumulates the products of unsigned 8-bit activations and signed
/// 8-bit weights (u8 × s8) — the arithmetic that differs between CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum U8S8Accumulation {
    /// Every product summed exactly in int32 (VNNI's `vpdpbusd`, AMX, NEON dot products, or a
    /// kernel that widens to 16 bits before multiplying).
    #[default]
    Exact,
    /// Two adjacent products along K summed into int16 with signed saturation first, then the
    /// int16 sums added in int32: x86's `pmaddubsw` (SSSE3 / AVX2 / AVX-512BW without VNNI).
    /// `u8 × s8` pairs reach ±64 770, past int16's 32 767, so large activations times large
    /// weights lose the excess.
    SaturatingPairs,
}

impl U8S8Accumulation {
    pub fn describe(self) -> &'static str {
        match self {
            U8S8Accumulation::Exact => "exact int32 accumulation",
            U8S8Accumulation::SaturatingPairs => "pairs of u8×s8 products saturated to int16 (pmaddubsw)",
        }
    }
}

fn detect() -> Cpu {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let arch = std::env::consts::ARCH;
    let model = cpuinfo_field(&cpuinfo, "model name")
        .or_else(|| {
            // aarch64 Linux names the implementer and part instead of a model.
            let implementer = cpuinfo_field(&cpuinfo, "CPU implementer")?;
            let part = cpuinfo_field(&cpuinfo, "CPU part")?;
            Some(format!("implementer {implementer} part {part}"))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    // The kernel's list of flags: what the CPU has and the kernel enabled (AMX needs both).
    let listed: Vec<&str> = cpuinfo_field_str(&cpuinfo, "flags")
        .or_else(|| cpuinfo_field_str(&cpuinfo, "Features"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let names = match arch {
        "x86_64" => X86_64_FEATURES,
        "aarch64" => AARCH64_FEATURES,
        _ => &[],
    };
    let features = names
        .iter()
        .map(|name| {
            let present = detected_by_std(name).unwrap_or_else(|| listed.contains(name));
            (name.to_string(), present)
        })
        .collect();
    Cpu {
        arch: arch.into(),
        model,
        features,
    }
}

fn cpuinfo_field_str<'a>(cpuinfo: &'a str, key: &str) -> Option<&'a str> {
    cpuinfo
        .lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim())
}

fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo_field_str(cpuinfo, key)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The standard library's run-time detection (which also checks that the operating system
/// saves the registers), where it knows the feature; `None` for the rest (AMX: unstable in std).
#[cfg(target_arch = "x86_64")]
fn detected_by_std(name: &str) -> Option<bool> {
    Some(match name {
        "sse4_1" => std::arch::is_x86_feature_detected!("sse4.1"),
        "avx" => std::arch::is_x86_feature_detected!("avx"),
        "avx2" => std::arch::is_x86_feature_detected!("avx2"),
        "fma" => std::arch::is_x86_feature_detected!("fma"),
        "f16c" => std::arch::is_x86_feature_detected!("f16c"),
        "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
        "avx512bw" => std::arch::is_x86_feature_detected!("avx512bw"),
        "avx512vl" => std::arch::is_x86_feature_detected!("avx512vl"),
        "avx512_vnni" => std::arch::is_x86_feature_detected!("avx512vnni"),
        "avx_vnni" => std::arch::is_x86_feature_detected!("avxvnni"),
        "avx512_bf16" => std::arch::is_x86_feature_detected!("avx512bf16"),
        "avx512_fp16" => std::arch::is_x86_feature_detected!("avx512fp16"),
        _ => return None,
    })
}

#[cfg(target_arch = "aarch64")]
fn detected_by_std(name: &str) -> Option<bool> {
    Some(match name {
        "asimd" => std::arch::is_aarch64_feature_detected!("neon"),
        "asimddp" => std::arch::is_aarch64_feature_detected!("dotprod"),
        "i8mm" => std::arch::is_aarch64_feature_detected!("i8mm"),
        "bf16" => std::arch::is_aarch64_feature_detected!("bf16"),
        "sve" => std::arch::is_aarch64_feature_detected!("sve"),
        "sve2" => std::arch::is_aarch64_feature_detected!("sve2"),
        _ => return None,
    })
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detected_by_std(_name: &str) -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_feature_is_decided_and_the_summary_names_missing_int8_ones() {
        let cpu = Cpu::with_features("x86_64", "Some CPU", &["avx", "avx2", "fma"]);
        assert_eq!(cpu.features.len(), X86_64_FEATURES.len());
        assert!(cpu.has("avx2") && !cpu.has("avx512_vnni") && !cpu.has("no-such-feature"));
        assert_eq!(
            cpu.summary(),
            "Some CPU (x86_64: avx avx2 fma; no avx512_vnni, avx_vnni, amx_int8)"
        );
    }

    /// The standard library and the kernel's flags agree on this machine, whatever it is.
    #[test]
    fn detection_agrees_with_the_kernels_flags() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let Some(listed) = cpuinfo_field_str(&cpuinfo, "flags").or_else(|| cpuinfo_field_str(&cpuinfo, "Features"))
        else {
            return; // not Linux: nothing to agree with
        };
        let listed: Vec<&str> = listed.split_whitespace().collect();
        let here = Cpu::here();
        for (name, present) in &here.features {
            // The kernel may list a feature the OS does not save state for; the reverse never.
            if *present {
                assert!(
                    listed.contains(&name.as_str()),
                    "{name} detected but not in /proc/cpuinfo"
                );
            }
        }
        assert!(!here.model.is_empty());
    }
}
