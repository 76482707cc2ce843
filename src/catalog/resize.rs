//! Catalog: TODO family resize.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
