//! Which int8 arithmetic ONNX Runtime's CPU kernels (MLAS) use on a CPU: MLAS picks its u8 × s8
//! GEMM and symmetric-convolution kernels by CPU features when the library loads, and the
//! `pmaddubsw` kernels (AVX2, AVX-512BW without VNNI) saturate pairs of products to int16 while
//! the VNNI, AMX and non-x86 kernels are exact. The same QDQ model therefore gives different
//! predictions on two CPUs with the same ORT release.
//!
//! The table follows MLAS's platform initialisation (ORT 1.32, Linux): AVX2 selects the AVX2
//! kernels, AVX-VNNI upgrades them, AVX-512 F+BW+DQ+VL replaces them with the AVX-512 core
//! kernels (saturating again), AVX512-VNNI upgrades those, and AMX-INT8 takes the GEMMs (its
//! convolutions stay on AVX512-VNNI: exact too). Without AVX2 the SSE kernels widen to 16 bits
//! first (exact). aarch64's dot-product and i8mm kernels are exact.

use sysnoise_boundary::{Cpu, U8S8Accumulation};

/// How ORT's u8 × s8 kernels accumulate on `cpu`.
pub fn u8s8_accumulation(cpu: &Cpu) -> U8S8Accumulation {
    if cpu.arch != "x86_64" || !cpu.has("avx2") {
        return U8S8Accumulation::Exact;
    }
    let avx512_core = ["avx512f", "avx512bw", "avx512vl"].iter().all(|f| cpu.has(f));
    let exact = if avx512_core {
        cpu.has("avx512_vnni") || cpu.has("amx_int8")
    } else {
        cpu.has("avx_vnni")
    };
    if exact {
        U8S8Accumulation::Exact
    } else {
        U8S8Accumulation::SaturatingPairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(features: &[&str]) -> U8S8Accumulation {
        u8s8_accumulation(&Cpu::with_features("x86_64", "test CPU", features))
    }

    #[test]
    fn vnni_is_exact_and_pmaddubsw_cpus_saturate() {
        use U8S8Accumulation::{Exact, SaturatingPairs};
        assert_eq!(on(&["sse4_1", "avx"]), Exact, "SSE kernels widen");
        assert_eq!(on(&["avx", "avx2", "fma"]), SaturatingPairs, "Haswell .. Zen 3");
        assert_eq!(on(&["avx2", "avx_vnni"]), Exact, "Alder Lake");
        let core = ["avx2", "avx512f", "avx512bw", "avx512vl"];
        assert_eq!(on(&core), SaturatingPairs, "Skylake-SP");
        // AVX-512 core kernels replace AVX-VNNI's, so AVX-VNNI alone does not make it exact.
        assert_eq!(on(&[&core[..], &["avx_vnni"]].concat()), SaturatingPairs);
        assert_eq!(
            on(&[&core[..], &["avx512_vnni"]].concat()),
            Exact,
            "Cascade Lake, Zen 4"
        );
        assert_eq!(on(&[&core[..], &["amx_tile", "amx_int8"]].concat()), Exact);
        let arm = Cpu::with_features("aarch64", "Neoverse", &["asimd", "asimddp"]);
        assert_eq!(u8s8_accumulation(&arm), Exact);
    }
}
