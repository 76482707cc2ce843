//! Catalog: TODO family recurrent.

use super::OpSpec;

pub fn specs() -> Vec<OpSpec> {
    Vec::new()
}
