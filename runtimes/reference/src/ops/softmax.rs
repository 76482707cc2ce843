//! Reference kernels: TODO family softmax.

use super::Registry;

pub fn register(_r: &mut Registry) {}
