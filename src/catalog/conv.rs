//! Catalog: TODO family conv.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
