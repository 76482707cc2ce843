//! The boundary tensor: one n-d array of any ONNX numeric/bool dtype, converted to and from TensorProto.

use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};

use crate::error::BoundaryError;
use crate::float8::Float8Format;
use crate::onnx::{TensorProto, data_type};

/// Element types a [`Tensor`] can hold (every ONNX tensor type except strings, complex and
/// the sub-byte / float8 formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    F64,
    F16,
    BF16,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
    /// 8-bit floats and strings pass through sysnoise (graph I/O, comparison) without arithmetic.
    F8E4M3FN,
    F8E4M3FNUZ,
    F8E5M2,
    F8E5M2FNUZ,
    F8E8M0,
    String,
}

impl DType {
    /// The dtypes that are carried through but never computed on: float8 and strings.
    pub const PASS_THROUGH: [DType; 6] = [
        DType::F8E4M3FN,
        DType::F8E4M3FNUZ,
        DType::F8E5M2,
        DType::F8E5M2FNUZ,
        DType::F8E8M0,
        DType::String,
    ];

    /// Every numeric and bool dtype (not the pass-through ones).
    pub const ALL: [DType; 13] = [
        DType::F32,
        DType::F64,
        DType::F16,
        DType::BF16,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::Bool,
    ];

    /// The `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        match self {
            DType::F32 => data_type::FLOAT,
            DType::F64 => data_type::DOUBLE,
            DType::F16 => data_type::FLOAT16,
            DType::BF16 => data_type::BFLOAT16,
            DType::I8 => data_type::INT8,
            DType::I16 => data_type::INT16,
            DType::I32 => data_type::INT32,
            DType::I64 => data_type::INT64,
            DType::U8 => data_type::UINT8,
            DType::U16 => data_type::UINT16,
            DType::U32 => data_type::UINT32,
            DType::U64 => data_type::UINT64,
            DType::Bool => data_type::BOOL,
            DType::F8E4M3FN => data_type::FLOAT8E4M3FN,
            DType::F8E4M3FNUZ => data_type::FLOAT8E4M3FNUZ,
            DType::F8E5M2 => data_type::FLOAT8E5M2,
            DType::F8E5M2FNUZ => data_type::FLOAT8E5M2FNUZ,
            DType::F8E8M0 => data_type::FLOAT8E8M0,
            DType::String => data_type::STRING,
        }
    }

    /// The dtype of an ONNX element-type code, or an error naming the unsupported type.
    pub fn from_onnx_code(code: i32) -> Result<DType, BoundaryError> {
        Ok(match code {
            data_type::FLOAT => DType::F32,
            data_type::DOUBLE => DType::F64,
            data_type::FLOAT16 => DType::F16,
            data_type::BFLOAT16 => DType::BF16,
            data_type::INT8 => DType::I8,
            data_type::INT16 => DType::I16,
            data_type::INT32 => DType::I32,
            data_type::INT64 => DType::I64,
            data_type::UINT8 => DType::U8,
            data_type::UINT16 => DType::U16,
            data_type::UINT32 => DType::U32,
            data_type::UINT64 => DType::U64,
            data_type::BOOL => DType::Bool,
            data_type::FLOAT8E4M3FN => DType::F8E4M3FN,
            data_type::FLOAT8E4M3FNUZ => DType::F8E4M3FNUZ,
            data_type::FLOAT8E5M2 => DType::F8E5M2,
            data_type::FLOAT8E5M2FNUZ => DType::F8E5M2FNUZ,
            data_type::FLOAT8E8M0 => DType::F8E8M0,
            data_type::STRING => DType::String,
            other => return Err(BoundaryError::UnsupportedDType(onnx_type_name(other))),
        })
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
    }

    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    pub fn is_unsigned_int(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }

    /// The 8-bit float format, for the float8 dtypes.
    pub fn float8(self) -> Option<Float8Format> {
        Some(match self {
            DType::F8E4M3FN => Float8Format::E4M3FN,
            DType::F8E4M3FNUZ => Float8Format::E4M3FNUZ,
            DType::F8E5M2 => Float8Format::E5M2,
            DType::F8E5M2FNUZ => Float8Format::E5M2FNUZ,
            DType::F8E8M0 => Float8Format::E8M0,
            _ => return None,
        })
    }

    /// Bytes per element (0 for strings, which have no fixed width).
    pub fn size(self) -> usize {
        match self {
            DType::String => 0,
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ | DType::F8E8M0 => 1,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
        }
    }

    /// Short lower-case name used in reports and file formats (`f32`, `bf16`, `bool`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::Bool => "bool",
            DType::F8E4M3FN => "f8e4m3fn",
            DType::F8E4M3FNUZ => "f8e4m3fnuz",
            DType::F8E5M2 => "f8e5m2",
            DType::F8E5M2FNUZ => "f8e5m2fnuz",
            DType::F8E8M0 => "f8e8m0",
            DType::String => "string",
        }
    }

    /// The inverse of [`DType::name`].
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL
            .into_iter()
            .chain(DType::PASS_THROUGH)
            .find(|d| d.name() == name)
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The ONNX spelling of an element-type code, for error messages.
pub fn onnx_type_name(code: i32) -> String {
    let name = match code {
        data_type::UNDEFINED => "UNDEFINED",
        data_type::FLOAT => "FLOAT",
        data_type::UINT8 => "UINT8",
        data_type::INT8 => "INT8",
        data_type::UINT16 => "UINT16",
        data_type::INT16 => "INT16",
        data_type::INT32 => "INT32",
        data_type::INT64 => "INT64",
        data_type::STRING => "STRING",
        data_type::BOOL => "BOOL",
        data_type::FLOAT16 => "FLOAT16",
        data_type::DOUBLE => "DOUBLE",
        data_type::UINT32 => "UINT32",
        data_type::UINT64 => "UINT64",
        data_type::COMPLEX64 => "COMPLEX64",
        data_type::COMPLEX128 => "COMPLEX128",
        data_type::BFLOAT16 => "BFLOAT16",
        data_type::FLOAT8E4M3FN => "FLOAT8E4M3FN",
        data_type::FLOAT8E4M3FNUZ => "FLOAT8E4M3FNUZ",
        data_type::FLOAT8E5M2 => "FLOAT8E5M2",
        data_type::FLOAT8E5M2FNUZ => "FLOAT8E5M2FNUZ",
        data_type::UINT4 => "UINT4",
        data_type::INT4 => "INT4",
        data_type::FLOAT4E2M1 => "FLOAT4E2M1",
        data_type::FLOAT8E8M0 => "FLOAT8E8M0",
        data_type::UINT2 => "UINT2",
        data_type::INT2 => "INT2",
        other => return format!("data type {other}"),
    };
    name.to_string()
}

/// An n-dimensional array of one dtype. The variant is the dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum Tensor {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
    F16(ArrayD<f16>),
    BF16(ArrayD<bf16>),
    I8(ArrayD<i8>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
    U16(ArrayD<u16>),
    U32(ArrayD<u32>),
    U64(ArrayD<u64>),
    Bool(ArrayD<bool>),
    F8E4M3FN(ArrayD<F8E4M3FN>),
    F8E4M3FNUZ(ArrayD<F8E4M3FNUZ>),
    F8E5M2(ArrayD<F8E5M2>),
    F8E5M2FNUZ(ArrayD<F8E5M2FNUZ>),
    F8E8M0(ArrayD<F8E8M0>),
    String(ArrayD<String>),
}

/// Applies `$body` to the array inside any [`Tensor`] variant, bound as `$a`. The
/// `strings =>` form takes a separate expression for string tensors (whose elements are not
/// [`Element`]s); the short form needs a body valid for every element type.
#[macro_export]
macro_rules! for_each_tensor {
    ($t:expr, $a:ident => $body:expr) => {
        $crate::for_each_tensor!($t, $a => $body, strings $a => $body)
    };
    ($t:expr, $a:ident => $body:expr, strings $s:ident => $strings:expr) => {
        match $t {
            $crate::Tensor::F8E4M3FN($a) => $body,
            $crate::Tensor::F8E4M3FNUZ($a) => $body,
            $crate::Tensor::F8E5M2($a) => $body,
            $crate::Tensor::F8E5M2FNUZ($a) => $body,
            $crate::Tensor::F8E8M0($a) => $body,
            $crate::Tensor::String($s) => $strings,
            $crate::Tensor::F32($a) => $body,
            $crate::Tensor::F64($a) => $body,
            $crate::Tensor::F16($a) => $body,
            $crate::Tensor::BF16($a) => $body,
            $crate::Tensor::I8($a) => $body,
            $crate::Tensor::I16($a) => $body,
            $crate::Tensor::I32($a) => $body,
            $crate::Tensor::I64($a) => $body,
            $crate::Tensor::U8($a) => $body,
            $crate::Tensor::U16($a) => $body,
            $crate::Tensor::U32($a) => $body,
            $crate::Tensor::U64($a) => $body,
            $crate::Tensor::Bool($a) => $body,
        }
    };
}

/// Little-endian byte encoding of one element type, shared by TensorProto raw_data, .npy and
/// the runtimes' raw buffers.
pub trait Element: Copy + Default + 'static {
    const DTYPE: DType;
    fn write_le(self, out: &mut Vec<u8>);
    fn read_le(bytes: &[u8]) -> Self;
    /// The value as f64 (bool: 0/1). Lossless for every type but u64/i64 beyond 2^53.
    fn to_f64(self) -> f64;
}

macro_rules! element_num {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element width"))
            }
            #[allow(clippy::cast_lossless)]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    };
}
element_num!(f32, F32);
element_num!(f64, F64);
element_num!(i8, I8);
element_num!(i16, I16);
element_num!(i32, I32);
element_num!(i64, I64);
element_num!(u8, U8);
element_num!(u16, U16);
element_num!(u32, U32);
element_num!(u64, U64);

macro_rules! element_half {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_bits().to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                <$t>::from_bits(u16::from_le_bytes(bytes.try_into().expect("element width")))
            }
            fn to_f64(self) -> f64 {
                self.to_f64()
            }
        }
    };
}
element_half!(f16, F16);
element_half!(bf16, BF16);

macro_rules! element_float8 {
    ($t:ident, $format:ident) => {
        #[doc = concat!("One ", stringify!($format), " value, as its byte.")]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $t(pub u8);

        impl Element for $t {
            const DTYPE: DType = DType::$t;
            fn write_le(self, out: &mut Vec<u8>) {
                out.push(self.0);
            }
            fn read_le(bytes: &[u8]) -> Self {
                $t(bytes[0])
            }
            fn to_f64(self) -> f64 {
                Float8Format::$format.decode(self.0)
            }
        }
    };
}
element_float8!(F8E4M3FN, E4M3FN);
element_float8!(F8E4M3FNUZ, E4M3FNUZ);
element_float8!(F8E5M2, E5M2);
element_float8!(F8E5M2FNUZ, E5M2FNUZ);
element_float8!(F8E8M0, E8M0);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn read_le(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
    fn to_f64(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
}

/// The number of elements of `shape`, or an error when it overflows (hostile files).
/// The element count of `shape`, refusing shapes ndarray cannot hold: the product of the
/// non-zero dimensions (what ndarray checks, even when another dimension is 0) times the
/// element size must fit in an `isize`.
fn element_count(shape: &[usize], dtype: DType) -> Result<usize, BoundaryError> {
    let too_large = || BoundaryError::Invalid(format!("shape {shape:?} of {dtype} is too large"));
    let nonzero = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
        .filter(|n| {
            n.checked_mul(dtype.size().max(1))
                .is_some_and(|bytes| bytes <= isize::MAX as usize)
        })
        .ok_or_else(too_large)?;
    Ok(if shape.contains(&0) { 0 } else { nonzero })
}

fn array_from_le<T: Element>(shape: &[usize], bytes: &[u8]) -> Result<ArrayD<T>, BoundaryError> {
    let width = T::DTYPE.size();
    let count = element_count(shape, T::DTYPE)?;
    if bytes.len() != count * width {
        return Err(BoundaryError::DataLength {
            expected: count * width,
            actual: bytes.len(),
            shape: shape.to_vec(),
            dtype: T::DTYPE,
        });
    }
    let values: Vec<T> = bytes.chunks_exact(width).map(T::read_le).collect();
    Ok(ArrayD::from_shape_vec(IxDyn(shape), values).expect("length checked above"))
}

fn shape_error(shape: &[usize], len: usize, dtype: DType) -> BoundaryError {
    BoundaryError::DataLength {
        expected: shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d)),
        actual: len,
        shape: shape.to_vec(),
        dtype,
    }
}

fn array_from_vec<T>(shape: &[usize], values: Vec<T>, dtype: DType) -> Result<ArrayD<T>, BoundaryError> {
    let len = values.len();
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|_| shape_error(shape, len, dtype))
}

impl Tensor {
    pub fn dtype(&self) -> DType {
        match self {
            Tensor::F32(_) => DType::F32,
            Tensor::F64(_) => DType::F64,
            Tensor::F16(_) => DType::F16,
            Tensor::BF16(_) => DType::BF16,
            Tensor::I8(_) => DType::I8,
            Tensor::I16(_) => DType::I16,
            Tensor::I32(_) => DType::I32,
            Tensor::I64(_) => DType::I64,
            Tensor::U8(_) => DType::U8,
            Tensor::U16(_) => DType::U16,
            Tensor::U32(_) => DType::U32,
            Tensor::U64(_) => DType::U64,
            Tensor::Bool(_) => DType::Bool,
            Tensor::F8E4M3FN(_) => DType::F8E4M3FN,
            Tensor::F8E4M3FNUZ(_) => DType::F8E4M3FNUZ,
            Tensor::F8E5M2(_) => DType::F8E5M2,
            Tensor::F8E5M2FNUZ(_) => DType::F8E5M2FNUZ,
            Tensor::F8E8M0(_) => DType::F8E8M0,
            Tensor::String(_) => DType::String,
        }
    }

    pub fn shape(&self) -> &[usize] {
        for_each_tensor!(self, a => a.shape())
    }

    pub fn len(&self) -> usize {
        for_each_tensor!(self, a => a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `len` entries along `axis`, same dtype (a minimiser shrinking a shape).
    pub fn prefix_along(&self, axis: usize, len: usize) -> Tensor {
        self.slice_along(axis, 0, len)
    }

    /// Entries `start..end` along `axis`, same dtype.
    pub fn slice_along(&self, axis: usize, start: usize, end: usize) -> Tensor {
        let mut t = self.clone();
        for_each_tensor!(&mut t, a => *a = a.slice_axis(ndarray::Axis(axis), ndarray::Slice::from(start..end)).to_owned());
        t
    }

    /// The tensor without its first axis, which must have size 1 (a minimiser lowering a rank).
    pub fn without_leading_unit_axis(&self) -> Tensor {
        assert_eq!(self.shape().first(), Some(&1), "the leading axis must have size 1");
        let mut t = self.clone();
        for_each_tensor!(&mut t, a => *a = a.index_axis(ndarray::Axis(0), 0).to_owned());
        t
    }

    /// All elements in logical (row-major) order as little-endian bytes (empty for strings,
    /// which have no fixed-width encoding: see [`Tensor::String`]).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * self.dtype().size());
        for_each_tensor!(self, a => a.iter().for_each(|v| v.write_le(&mut out)), strings _s => ());
        out
    }

    /// A tensor from row-major little-endian bytes.
    pub fn from_le_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Tensor, BoundaryError> {
        Ok(match dtype {
            DType::F32 => Tensor::F32(array_from_le(shape, bytes)?),
            DType::F64 => Tensor::F64(array_from_le(shape, bytes)?),
            DType::F16 => Tensor::F16(array_from_le(shape, bytes)?),
            DType::BF16 => Tensor::BF16(array_from_le(shape, bytes)?),
            DType::I8 => Tensor::I8(array_from_le(shape, bytes)?),
            DType::I16 => Tensor::I16(array_from_le(shape, bytes)?),
            DType::I32 => Tensor::I32(array_from_le(shape, bytes)?),
            DType::I64 => Tensor::I64(array_from_le(shape, bytes)?),
            DType::U8 => Tensor::U8(array_from_le(shape, bytes)?),
            DType::U16 => Tensor::U16(array_from_le(shape, bytes)?),
            DType::U32 => Tensor::U32(array_from_le(shape, bytes)?),
            DType::U64 => Tensor::U64(array_from_le(shape, bytes)?),
            DType::Bool => Tensor::Bool(array_from_le(shape, bytes)?),
            DType::F8E4M3FN => Tensor::F8E4M3FN(array_from_le(shape, bytes)?),
            DType::F8E4M3FNUZ => Tensor::F8E4M3FNUZ(array_from_le(shape, bytes)?),
            DType::F8E5M2 => Tensor::F8E5M2(array_from_le(shape, bytes)?),
            DType::F8E5M2FNUZ => Tensor::F8E5M2FNUZ(array_from_le(shape, bytes)?),
            DType::F8E8M0 => Tensor::F8E8M0(array_from_le(shape, bytes)?),
            DType::String => return Err(BoundaryError::UnsupportedDType("STRING from raw bytes".into())),
        })
    }

    /// Every element as f64 (see [`Element::to_f64`]), in logical order; strings are NaN.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        for_each_tensor!(self, a => a.iter().map(|v| v.to_f64()).collect(), strings s => vec![f64::NAN; s.len()])
    }

    /// The tensor's values as an f64 array of the same shape.
    pub fn to_f64_array(&self) -> ArrayD<f64> {
        ArrayD::from_shape_vec(IxDyn(self.shape()), self.to_f64_vec()).expect("same shape")
    }

    /// A tensor of `dtype` from f64 values, converted as a C cast would (round to nearest for
    /// floats, truncation toward zero with saturation for integers, `!= 0` for bool).
    pub fn from_f64(dtype: DType, values: &ArrayD<f64>) -> Tensor {
        match dtype {
            DType::F32 => Tensor::F32(values.mapv(|v| v as f32)),
            DType::F64 => Tensor::F64(values.clone()),
            DType::F16 => Tensor::F16(values.mapv(f16::from_f64)),
            DType::BF16 => Tensor::BF16(values.mapv(bf16::from_f64)),
            DType::I8 => Tensor::I8(values.mapv(|v| v as i8)),
            DType::I16 => Tensor::I16(values.mapv(|v| v as i16)),
            DType::I32 => Tensor::I32(values.mapv(|v| v as i32)),
            DType::I64 => Tensor::I64(values.mapv(|v| v as i64)),
            DType::U8 => Tensor::U8(values.mapv(|v| v as u8)),
            DType::U16 => Tensor::U16(values.mapv(|v| v as u16)),
            DType::U32 => Tensor::U32(values.mapv(|v| v as u32)),
            DType::U64 => Tensor::U64(values.mapv(|v| v as u64)),
            DType::Bool => Tensor::Bool(values.mapv(|v| v != 0.0)),
            DType::F8E4M3FN => Tensor::F8E4M3FN(values.mapv(|v| F8E4M3FN(Float8Format::E4M3FN.encode(v)))),
            DType::F8E4M3FNUZ => Tensor::F8E4M3FNUZ(values.mapv(|v| F8E4M3FNUZ(Float8Format::E4M3FNUZ.encode(v)))),
            DType::F8E5M2 => Tensor::F8E5M2(values.mapv(|v| F8E5M2(Float8Format::E5M2.encode(v)))),
            DType::F8E5M2FNUZ => Tensor::F8E5M2FNUZ(values.mapv(|v| F8E5M2FNUZ(Float8Format::E5M2FNUZ.encode(v)))),
            DType::F8E8M0 => Tensor::F8E8M0(values.mapv(|v| F8E8M0(Float8Format::E8M0.encode(v)))),
            DType::String => Tensor::String(values.mapv(|v| v.to_string())),
        }
    }

    /// A zero-filled tensor.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Tensor {
        Tensor::from_f64(dtype, &ArrayD::zeros(IxDyn(shape)))
    }

    /// Decodes a TensorProto (raw_data or the typed repeated fields). External data, strings
    /// and sub-byte types are refused with an error that names the tensor.
    pub fn from_proto(proto: &TensorProto) -> Result<Tensor, BoundaryError> {
        let named = |e: BoundaryError| BoundaryError::InTensor {
            name: proto.name.clone(),
            source: Box::new(e),
        };
        if proto.data_location == 1 || !proto.external_data.is_empty() {
            return Err(named(BoundaryError::ExternalData));
        }
        let dtype = DType::from_onnx_code(proto.data_type).map_err(named)?;
        let shape: Vec<usize> = proto
            .dims
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| named(BoundaryError::NegativeDim(d))))
            .collect::<Result<_, _>>()?;
        if dtype == DType::String {
            let strings = proto
                .string_data
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect();
            return Ok(Tensor::String(array_from_vec(&shape, strings, dtype).map_err(named)?));
        }
        if !proto.raw_data.is_empty() {
            return Tensor::from_le_bytes(dtype, &shape, &proto.raw_data).map_err(named);
        }
        let int32 = &proto.int32_data;
        let tensor = match dtype {
            DType::F32 => Tensor::F32(array_from_vec(&shape, proto.float_data.clone(), dtype).map_err(named)?),
            DType::F64 => Tensor::F64(array_from_vec(&shape, proto.double_data.clone(), dtype).map_err(named)?),
            DType::I64 => Tensor::I64(array_from_vec(&shape, proto.int64_data.clone(), dtype).map_err(named)?),
            DType::U64 => Tensor::U64(array_from_vec(&shape, proto.uint64_data.clone(), dtype).map_err(named)?),
            DType::U32 => Tensor::U32(
                array_from_vec(&shape, proto.uint64_data.iter().map(|&v| v as u32).collect(), dtype).map_err(named)?,
            ),
            DType::I32 => Tensor::I32(array_from_vec(&shape, int32.clone(), dtype).map_err(named)?),
            DType::I16 => {
                Tensor::I16(array_from_vec(&shape, int32.iter().map(|&v| v as i16).collect(), dtype).map_err(named)?)
            }
            DType::I8 => {
                Tensor::I8(array_from_vec(&shape, int32.iter().map(|&v| v as i8).collect(), dtype).map_err(named)?)
            }
            DType::U16 => {
                Tensor::U16(array_from_vec(&shape, int32.iter().map(|&v| v as u16).collect(), dtype).map_err(named)?)
            }
            DType::U8 => {
                Tensor::U8(array_from_vec(&shape, int32.iter().map(|&v| v as u8).collect(), dtype).map_err(named)?)
            }
            DType::Bool => {
                Tensor::Bool(array_from_vec(&shape, int32.iter().map(|&v| v != 0).collect(), dtype).map_err(named)?)
            }
            DType::F16 => Tensor::F16(
                array_from_vec(&shape, int32.iter().map(|&v| f16::from_bits(v as u16)).collect(), dtype)
                    .map_err(named)?,
            ),
            DType::BF16 => Tensor::BF16(
                array_from_vec(
                    &shape,
                    int32.iter().map(|&v| bf16::from_bits(v as u16)).collect(),
                    dtype,
                )
                .map_err(named)?,
            ),
            // Float8 values live in the low byte of int32_data.
            DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ | DType::F8E8M0 => {
                let bytes: Vec<u8> = int32.iter().map(|&v| v as u8).collect();
                Tensor::from_le_bytes(dtype, &shape, &bytes).map_err(named)?
            }
            DType::String => unreachable!("handled above"),
        };
        Ok(tensor)
    }

    /// Encodes as a TensorProto (`raw_data`, or `string_data` for strings).
    pub fn to_proto(&self, name: &str) -> TensorProto {
        let string_data = match self {
            Tensor::String(a) => a.iter().map(|s| s.as_bytes().to_vec()).collect(),
            _ => Vec::new(),
        };
        TensorProto {
            name: name.to_string(),
            dims: self.shape().iter().map(|&d| d as i64).collect(),
            data_type: self.dtype().onnx_code(),
            raw_data: self.to_le_bytes(),
            string_data,
            ..Default::default()
        }
    }

    /// The same values converted to `dtype` (through f64; see [`Tensor::from_f64`]). Strings
    /// convert only to strings.
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.clone();
        }
        Tensor::from_f64(dtype, &self.to_f64_array())
    }
}

macro_rules! tensor_from_array {
    ($t:ty, $v:ident) => {
        impl From<ArrayD<$t>> for Tensor {
            fn from(a: ArrayD<$t>) -> Tensor {
                Tensor::$v(a)
            }
        }
    };
}
tensor_from_array!(f32, F32);
tensor_from_array!(f64, F64);
tensor_from_array!(f16, F16);
tensor_from_array!(bf16, BF16);
tensor_from_array!(i8, I8);
tensor_from_array!(i16, I16);
tensor_from_array!(i32, I32);
tensor_from_array!(i64, I64);
tensor_from_array!(u8, U8);
tensor_from_array!(u16, U16);
tensor_from_array!(u32, U32);
tensor_from_array!(u64, U64);
tensor_from_array!(bool, Bool);
tensor_from_array!(String, String);

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn an_empty_shape_with_huge_other_dimensions_is_an_error_not_a_panic() {
        // Found by the `loaders` cargo-fuzz target: a zero dimension made the element count 0,
        // but ndarray refuses the product of the other dimensions when it overflows.
        let huge = usize::MAX / 2;
        let err = array_from_le::<f32>(&[0, huge, 4], &[]).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert_eq!(array_from_le::<f32>(&[0, 3], &[]).unwrap().shape(), &[0, 3]);
    }

    #[test]
    fn slicing_and_lowering_keep_the_dtype_and_values() {
        let values = ArrayD::from_shape_vec(IxDyn(&[1, 2, 3]), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        for dtype in DType::ALL {
            let t = Tensor::from_f64(dtype, &values);
            let cut = t.slice_along(2, 1, 3);
            assert_eq!(cut.dtype(), dtype);
            assert_eq!(cut.shape(), &[1, 2, 2]);
            let all = t.to_f64_vec();
            assert_eq!(cut.to_f64_vec(), vec![all[1], all[2], all[4], all[5]], "{dtype}");
            let lower = t.without_leading_unit_axis();
            assert_eq!(lower.shape(), &[2, 3]);
            assert_eq!(lower.to_f64_vec(), t.to_f64_vec(), "{dtype}");
            assert_eq!(t.prefix_along(1, 1).to_f64_vec(), all[..3].to_vec(), "{dtype}");
        }
    }

    #[test]
    fn every_dtype_round_trips_through_tensor_proto_bytes() {
        let values = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.0, 1.0, 2.0, 3.0, 100.0, 7.0]).unwrap();
        for dtype in DType::ALL {
            let t = Tensor::from_f64(dtype, &values);
            let bytes = t.to_proto("x").encode_to_vec();
            let back = Tensor::from_proto(&TensorProto::decode(bytes.as_slice()).unwrap()).unwrap();
            assert_eq!(back, t, "{dtype}");
            assert_eq!(back.dtype(), dtype);
        }
    }

    #[test]
    fn hostile_shapes_are_errors_not_panics() {
        let proto = TensorProto {
            dims: vec![i64::MAX, i64::MAX],
            data_type: data_type::FLOAT,
            raw_data: vec![0; 8],
            ..Default::default()
        };
        assert!(
            Tensor::from_proto(&proto)
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
        let proto = TensorProto {
            dims: vec![1 << 40, 1 << 40],
            data_type: data_type::FLOAT,
            ..Default::default()
        };
        assert!(Tensor::from_proto(&proto).is_err());
    }

    #[test]
    fn typed_fields_decode_like_raw_data() {
        let proto = TensorProto {
            dims: vec![2],
            data_type: data_type::FLOAT16,
            int32_data: vec![
                f16::from_f32(1.5).to_bits() as i32,
                f16::from_f32(-2.0).to_bits() as i32,
            ],
            ..Default::default()
        };
        let t = Tensor::from_proto(&proto).unwrap();
        assert_eq!(t.to_f64_vec(), vec![1.5, -2.0]);
    }

    #[test]
    fn float8_and_string_tensors_round_trip_through_tensor_proto() {
        let values = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.5, -2.0, 448.0]).unwrap();
        for dtype in DType::PASS_THROUGH {
            let t = Tensor::from_f64(dtype, &values);
            let back =
                Tensor::from_proto(&TensorProto::decode(t.to_proto("x").encode_to_vec().as_slice()).unwrap()).unwrap();
            assert_eq!(back, t, "{dtype}");
        }
        let t = Tensor::from_f64(DType::F8E4M3FN, &values);
        assert_eq!(t.to_f64_vec(), vec![0.5, -2.0, 448.0]);
    }

    #[test]
    fn wrong_length_and_unsupported_types_are_clear_errors() {
        let proto = TensorProto {
            name: "w".into(),
            dims: vec![3],
            data_type: data_type::FLOAT,
            float_data: vec![1.0],
            ..Default::default()
        };
        let err = Tensor::from_proto(&proto).unwrap_err().to_string();
        assert!(err.contains("'w'") && err.contains("3"), "{err}");
        let proto = TensorProto {
            name: "c".into(),
            dims: vec![1],
            data_type: data_type::COMPLEX64,
            ..Default::default()
        };
        assert!(
            Tensor::from_proto(&proto)
                .unwrap_err()
                .to_string()
                .contains("COMPLEX64")
        );
    }
}
