//! Catalog: TODO family pool.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
