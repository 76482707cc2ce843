//! Catalog: TODO family reduce.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
