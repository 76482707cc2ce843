//! Catalog: TODO family normalization.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
