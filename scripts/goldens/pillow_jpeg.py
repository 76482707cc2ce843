#!/usr/bin/env python3
"""JPEG test files and libjpeg-turbo's decodes of them, from the real Pillow.

usage: pillow_jpeg.py IMAGE.npy OUTDIR
Writes OUTDIR/<name>.jpg for quality 90 and 4:2:0 / 4:4:4 chroma, quality 50 4:2:0, and
OUTDIR/decoded.npz with Pillow's decode (libjpeg-turbo, ISLOW IDCT, fancy upsampling) of each.
"""
import os
import sys

import numpy as np
from PIL import Image

VARIANTS = {"q90_420": (90, 2), "q90_444": (90, 0), "q50_420": (50, 2)}


def main():
    image = Image.fromarray(np.load(sys.argv[1]))  # H x W x 3 uint8 is RGB
    out = sys.argv[2]
    decoded = {}
    for name, (quality, subsampling) in VARIANTS.items():
        path = os.path.join(out, name + ".jpg")
        image.save(path, "JPEG", quality=quality, subsampling=subsampling)
        with Image.open(path) as jpeg:
            decoded[name] = np.asarray(jpeg.convert("RGB"))
    np.savez(os.path.join(out, "decoded.npz"), **decoded)


if __name__ == "__main__":
    main()
