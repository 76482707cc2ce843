//! The ONNX 8-bit float formats (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0) as byte newtypes.
//!
//! sysnoise carries these tensors through (graph I/O, comparison); it does no arithmetic in
//! them. Decoding follows the ONNX specification's tables; encoding picks the nearest
//! representable value (ties to the even code) and saturates to the largest finite value,
//! which is ONNX Cast's default (`saturate=1`).

/// The five 8-bit float formats of ONNX.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Float8Format {
    E4M3FN,
    E4M3FNUZ,
    E5M2,
    E5M2FNUZ,
    E8M0,
}

impl Float8Format {
    /// The value of one byte in this format.
    pub fn decode(self, bits: u8) -> f64 {
        let sign = if bits & 0x80 != 0 { -1.0 } else { 1.0 };
        let (exp_bits, bias) = match self {
            Float8Format::E4M3FN => (4, 7),
            Float8Format::E4M3FNUZ => (4, 8),
            Float8Format::E5M2 => (5, 15),
            Float8Format::E5M2FNUZ => (5, 16),
            Float8Format::E8M0 => {
                return if bits == 0xFF {
                    f64::NAN
                } else {
                    2f64.powi(i32::from(bits) - 127)
                };
            }
        };
        let man_bits = 7 - exp_bits;
        let exp = i32::from((bits & 0x7F) >> man_bits);
        let man = f64::from(bits & ((1 << man_bits) - 1));
        let exp_max = (1 << exp_bits) - 1;
        match self {
            Float8Format::E4M3FN if bits & 0x7F == 0x7F => return f64::NAN,
            Float8Format::E4M3FNUZ | Float8Format::E5M2FNUZ if bits == 0x80 => return f64::NAN,
            Float8Format::E5M2 if exp == exp_max => {
                return if man == 0.0 { sign * f64::INFINITY } else { f64::NAN };
            }
            _ => {}
        }
        let scale = f64::from(1 << man_bits);
        if exp == 0 {
            sign * (man / scale) * 2f64.powi(1 - bias)
        } else {
            sign * (1.0 + man / scale) * 2f64.powi(exp - bias)
        }
    }

    /// The byte nearest to `value` (ties to an even code), saturating to the largest finite value.
    pub fn encode(self, value: f64) -> u8 {
        if value.is_nan() {
            return (0..=255u8)
                .find(|&b| self.decode(b).is_nan())
                .expect("every format has a NaN");
        }
        let mut best = 0u8;
        let mut best_err = f64::INFINITY;
        for b in 0..=255u8 {
            let v = self.decode(b);
            // Only finite codes compete, except an infinity that equals the value exactly.
            let exact_infinity = value.is_infinite() && v == value;
            if !v.is_finite() && !exact_infinity {
                continue;
            }
            let err = if v == value { 0.0 } else { (v - value).abs() };
            let better = err < best_err || (err == best_err && b & 1 == 0 && best & 1 == 1);
            if better {
                best = b;
                best_err = err;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_decode() {
        assert_eq!(Float8Format::E4M3FN.decode(0x7E), 448.0);
        assert!(Float8Format::E4M3FN.decode(0x7F).is_nan());
        assert_eq!(Float8Format::E4M3FN.decode(0x01), 2f64.powi(-9));
        assert_eq!(Float8Format::E5M2.decode(0x7B), 57344.0);
        assert_eq!(Float8Format::E5M2.decode(0x7C), f64::INFINITY);
        assert!(Float8Format::E4M3FNUZ.decode(0x80).is_nan());
        assert_eq!(Float8Format::E4M3FNUZ.decode(0x7F), 240.0);
        assert_eq!(Float8Format::E5M2FNUZ.decode(0x7F), 57344.0);
        assert_eq!(Float8Format::E8M0.decode(127), 1.0);
    }

    #[test]
    fn encoding_rounds_to_nearest_and_saturates() {
        for format in [
            Float8Format::E4M3FN,
            Float8Format::E4M3FNUZ,
            Float8Format::E5M2,
            Float8Format::E5M2FNUZ,
        ] {
            for b in 0..=255u8 {
                let v = format.decode(b);
                if v.is_finite() && v != 0.0 {
                    assert_eq!(format.decode(format.encode(v)), v, "{format:?} {b:#x}");
                }
            }
        }
        assert_eq!(Float8Format::E4M3FN.decode(Float8Format::E4M3FN.encode(1e6)), 448.0);
        assert_eq!(Float8Format::E4M3FN.decode(Float8Format::E4M3FN.encode(1.0625)), 1.0);
    }
}
