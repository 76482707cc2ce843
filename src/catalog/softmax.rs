//! Catalog: TODO family softmax.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
