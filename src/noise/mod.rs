//! SysNoise "system configurations": the pre-processing, inference and post-processing
//! choices that differ between a training system and a deployment system, each reproduced
//! exactly so its effect on a model can be measured (issue: the SysNoise benchmark).

pub mod bench;
pub mod colour;
pub mod decode;
pub mod fmnist;
pub mod ort_int8;
pub mod postprocess;
pub mod quantise;
pub mod quantise_dynamic;
pub mod resize;
pub mod rewrite;
pub mod system;
