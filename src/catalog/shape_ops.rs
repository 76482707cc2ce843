//! Catalog: TODO family shape_ops.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
