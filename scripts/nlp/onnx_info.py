"""Print opset, inputs/outputs, op histogram, initializer dtypes/size of an ONNX model."""
import sys, collections, onnx
from onnx import TensorProto
for p in sys.argv[1:]:
    m = onnx.load(p, load_external_data=False)
    print("==", p)
    print("ir", m.ir_version, "opset", [(o.domain or "ai.onnx", o.version) for o in m.opset_import], "producer", m.producer_name, m.producer_version)
    def shp(v):
        t = v.type.tensor_type
        return TensorProto.DataType.Name(t.elem_type), [d.dim_param or d.dim_value for d in t.shape.dim]
    for i in m.graph.input: print(" in ", i.name, *shp(i))
    for o in m.graph.output: print(" out", o.name, *shp(o))
    h = collections.Counter(n.op_type if not n.domain else n.domain + "::" + n.op_type for n in m.graph.node)
    print(" nodes", sum(h.values()), dict(sorted(h.items(), key=lambda x: -x[1])))
    dt = collections.Counter(TensorProto.DataType.Name(t.data_type) for t in m.graph.initializer)
    print(" initializers", len(m.graph.initializer), dict(dt))
