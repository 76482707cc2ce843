#!/usr/bin/env python3
"""JPEG test files and libjpeg-turbo's decodes of them, from the real Pillow.

usage: pillow_jpeg.py IMAGE.npy OUTDIR
Writes OUTDIR/<name>.jpg for each variant below (quality, chroma subsampling, progressive,
grayscale) and OUTDIR/decoded.npz with Pillow's decode of each, as RGB (libjpeg-turbo with its
defaults: ISLOW IDCT, fancy upsampling; a grayscale JPEG comes out with the value repeated).
"""
import os
import sys

import numpy as np
from PIL import Image

# name: (quality, subsampling (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0), progressive, grayscale)
VARIANTS = {
    "q90_420": (90, 2, False, False),
    "q90_444": (90, 0, False, False),
    "q50_420": (50, 2, False, False),
    "q75_422": (75, 1, False, False),
    "q75_420p": (75, 2, True, False),
    "q90_gray": (90, 0, False, True),
}


def main():
    image = Image.fromarray(np.load(sys.argv[1]))  # H x W x 3 uint8 is RGB
    out = sys.argv[2]
    decoded = {}
    for name, (quality, subsampling, progressive, gray) in VARIANTS.items():
        path = os.path.join(out, name + ".jpg")
        source = image.convert("L") if gray else image
        options = {"quality": quality, "progressive": progressive}
        if not gray:
            options["subsampling"] = subsampling
        source.save(path, "JPEG", **options)
        with Image.open(path) as jpeg:
            assert jpeg.mode == ("L" if gray else "RGB"), (name, jpeg.mode)
            decoded[name] = np.asarray(jpeg.convert("RGB"))
    np.savez(os.path.join(out, "decoded.npz"), **decoded)


if __name__ == "__main__":
    main()
