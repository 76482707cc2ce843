"""Write the ONNX backend *node* tests of the installed `onnx` package to disk.

onnx >= 1.23 no longer ships onnx/backend/test/data/node; the cases are generated in memory by
onnx.backend.test.loader.load_node_model_tests(). This writes them in the classic layout that
`sysnoise conformance` reads:
    OUT/<case>/model.onnx
    OUT/<case>/test_data_set_<k>/{input,output}_<i>.pb   (serialised TensorProto, or a
                                                          Sequence/Optional/Map proto)
    OUT/tolerances.json                                   {case: [rtol, atol]}
"""
import json
import os
import sys

import onnx
from onnx import TensorProto, numpy_helper
from onnx.backend.test.loader import load_node_model_tests


def serialise(value, value_type, name):
    if value_type.HasField("map_type"):
        return numpy_helper.from_dict(value, name).SerializeToString()
    if value_type.HasField("sequence_type"):
        return numpy_helper.from_list(value, name).SerializeToString()
    if value_type.HasField("optional_type"):
        return numpy_helper.from_optional(value, name).SerializeToString()
    if isinstance(value, TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(value, name).SerializeToString()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main(out):
    os.makedirs(out, exist_ok=True)
    tolerances = {}
    cases = load_node_model_tests()
    for case in cases:
        case_dir = os.path.join(out, case.name)
        os.makedirs(case_dir, exist_ok=True)
        write(os.path.join(case_dir, "model.onnx"), case.model.SerializeToString())
        graph = case.model.graph
        for k, (inputs, outputs) in enumerate(case.data_sets):
            data_dir = os.path.join(case_dir, f"test_data_set_{k}")
            os.makedirs(data_dir, exist_ok=True)
            for i, value in enumerate(inputs):
                info = graph.input[i]
                write(os.path.join(data_dir, f"input_{i}.pb"), serialise(value, info.type, info.name))
            for i, value in enumerate(outputs):
                info = graph.output[i]
                write(os.path.join(data_dir, f"output_{i}.pb"), serialise(value, info.type, info.name))
        tolerances[case.name] = [case.rtol, case.atol]
    with open(os.path.join(out, "tolerances.json"), "w") as f:
        json.dump(tolerances, f, indent=0, sort_keys=True)
    print(f"{len(cases)} ONNX {onnx.__version__} node tests written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
