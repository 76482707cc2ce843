//! Finding signatures: what makes two divergences "the same bug" for deduplication.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a runtime's result differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symptom {
    /// Values differ beyond tolerance.
    Numeric,
    /// NaN/Inf appear in different places.
    NanPattern,
    /// Output shapes or dtypes differ.
    Shape,
    /// The runtime failed on a case the others ran.
    ErrorVsSuccess,
    /// The runtime's process died (segfault, abort).
    Crash,
    /// The runtime did not answer within the timeout.
    Hang,
}

impl Symptom {
    pub fn name(self) -> &'static str {
        match self {
            Symptom::Numeric => "numeric",
            Symptom::NanPattern => "nan-pattern",
            Symptom::Shape => "shape",
            Symptom::ErrorVsSuccess => "error-vs-success",
            Symptom::Crash => "crash",
            Symptom::Hang => "hang",
        }
    }
}

/// Op type, attribute class, dtype, the set of diverging runtimes and the symptom.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Signature {
    pub op_type: String,
    pub attribute_class: String,
    pub dtype: String,
    /// Sorted.
    pub runtimes: Vec<String>,
    pub symptom: Symptom,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = if self.attribute_class.is_empty() {
            "-"
        } else {
            &self.attribute_class
        };
        write!(
            f,
            "{} [{}] {} on {}: {}",
            self.op_type,
            class,
            self.dtype,
            self.runtimes.join("+"),
            self.symptom.name()
        )
    }
}

impl Signature {
    /// A short stable directory name (FNV-1a of the display form).
    pub fn id(&self) -> String {
        let text = self.to_string();
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{}-{hash:016x}", self.op_type.to_lowercase())
    }
}
