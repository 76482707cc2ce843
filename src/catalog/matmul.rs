//! Catalog: TODO family matmul.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
