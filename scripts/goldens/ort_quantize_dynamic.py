"""onnxruntime.quantization.quantize_dynamic on MODEL with its defaults (QInt8 weights per
tensor, MatMulConstBOnly) restricted to MatMul, written to OUT: the golden for
src/noise/quantise_dynamic.rs (tests/noise_bench_text.rs).

usage: python ort_quantize_dynamic.py MODEL.onnx OUT.onnx
"""
import logging
import sys

from onnxruntime.quantization import QuantType, quantize_dynamic

logging.disable(logging.WARNING)
quantize_dynamic(sys.argv[1], sys.argv[2], op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
