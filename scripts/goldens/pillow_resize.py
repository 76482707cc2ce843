#!/usr/bin/env python3
"""Golden outputs of the real Pillow for sysnoise's resize tests.

usage: pillow_resize.py IMAGE.npy OUT.npz
IMAGE.npy is height x width x 3 uint8; OUT.npz gets `<filter>_<w>x<h>` for every Pillow filter
and the sizes below (down, up, mixed, tiny). Pillow's version is pinned in
scripts/requirements.txt.
"""
import sys

import numpy as np
from PIL import Image

SIZES = [(13, 11), (64, 50), (37, 60), (20, 29), (5, 3), (224, 7), (60, 10), (38, 28), (10, 60), (100, 100)]
FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def main():
    image = Image.fromarray(np.load(sys.argv[1]))  # H x W x 3 uint8 is RGB
    out = {}
    for name, resample in FILTERS.items():
        for width, height in SIZES:
            out["%s_%dx%d" % (name, width, height)] = np.asarray(image.resize((width, height), resample))
    np.savez(sys.argv[2], **out)


if __name__ == "__main__":
    main()
