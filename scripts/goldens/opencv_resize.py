#!/usr/bin/env python3
"""Golden outputs of the real OpenCV (opencv-python-headless, pinned in
scripts/requirements.txt) for sysnoise's resize tests.

usage: opencv_resize.py IMAGE.npy OUT.npz
OUT.npz gets `<interpolation>_<w>x<h>` for INTER_NEAREST and INTER_LINEAR at the sizes below,
plus the exact 2x reduction (which OpenCV routes to INTER_AREA) when the image allows it.
"""
import sys

import cv2
import numpy as np

SIZES = [(13, 11), (64, 50), (37, 60), (20, 29), (5, 3), (224, 7), (60, 10), (38, 28), (10, 60), (100, 100)]
INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR}


def main():
    image = np.load(sys.argv[1])
    height, width = image.shape[:2]
    sizes = list(SIZES)
    if width % 2 == 0 and height % 2 == 0:
        sizes.append((width // 2, height // 2))
    out = {}
    for name, interpolation in INTERPOLATIONS.items():
        for w, h in sizes:
            out["%s_%dx%d" % (name, w, h)] = cv2.resize(image, (w, h), interpolation=interpolation)
    np.savez(sys.argv[2], **out)


if __name__ == "__main__":
    main()
