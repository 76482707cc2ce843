//! The integration tests of the `sysnoise` package, one test binary (one link of tract, ORT and
//! LibTorch instead of one per file keeps CI's disk and link time small); one module per area.

#[macro_use]
mod common;

mod campaign_report;
mod campaigns;
mod catalog;
mod cli;
mod compare;
mod conformance;
mod fuzz;
mod int8_isa;
mod noise_bench;
mod noise_bench_detect;
mod noise_bench_ocr;
mod noise_bench_text;
mod noise_decode;
mod noise_fmnist;
mod noise_quantise;
mod noise_resize;
mod noise_rewrite;
mod proptest_pairs;
mod real_models;
mod reduce;
