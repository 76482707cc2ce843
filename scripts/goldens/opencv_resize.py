#!/usr/bin/env python3
"""Golden outputs of the real OpenCV (opencv-python-headless, pinned in
scripts/requirements.txt) for sysnoise's resize tests.

usage: opencv_resize.py IMAGE.npy OUT.npz
OUT.npz gets `<interpolation>_<w>x<h>` (height x width x channels, uint8) for INTER_NEAREST,
INTER_LINEAR, INTER_AREA, INTER_CUBIC and INTER_LANCZOS4 at the fixed sizes below plus the
image's own whole-number down- and upscales (2x, 3x, 4x, 2x1, 1x3 where the size divides; 2x and
3x up for small images). OpenCV's defaults are kept, so on x86 INTER_CUBIC goes through Intel IPP;
`cubic-noipp_<w>x<h>` is INTER_CUBIC with IPP switched off (`cv2.ipp.setUseIPP(False)`), i.e.
OpenCV's own resize.cpp code.
"""
import sys

import cv2
import numpy as np

SIZES = [(13, 11), (64, 50), (37, 60), (20, 29), (5, 3), (224, 7), (60, 10), (38, 28), (10, 60), (100, 100)]
INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "lanczos4": cv2.INTER_LANCZOS4,
}
DOWN_FACTORS = [(2, 2), (3, 3), (4, 4), (2, 1), (1, 3)]
UP_FACTORS = [(2, 2), (3, 3)]


def sizes_for(width, height):
    sizes = list(SIZES)
    if width >= 200:
        sizes += [(224, 224), (224, 300), (400, 180)]
    for fx, fy in DOWN_FACTORS:
        if width % fx == 0 and height % fy == 0:
            sizes.append((width // fx, height // fy))
    if width * height <= 64 * 64:
        sizes += [(width * fx, height * fy) for fx, fy in UP_FACTORS]
    return list(dict.fromkeys(s for s in sizes if s != (width, height)))


def resized(image, size, interpolation):
    out = cv2.resize(image, size, interpolation=interpolation)
    # cv2 drops a single channel axis; keep height x width x channels.
    return out.reshape(size[1], size[0], image.shape[2])


def main():
    image = np.load(sys.argv[1])
    height, width = image.shape[:2]
    sizes = sizes_for(width, height)
    out = {}
    for name, interpolation in INTERPOLATIONS.items():
        for w, h in sizes:
            out["%s_%dx%d" % (name, w, h)] = resized(image, (w, h), interpolation)
    use_ipp = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(False)
    try:
        for w, h in sizes:
            out["cubic-noipp_%dx%d" % (w, h)] = resized(image, (w, h), cv2.INTER_CUBIC)
    finally:
        cv2.ipp.setUseIPP(use_ipp)
    np.savez(sys.argv[2], **out)


if __name__ == "__main__":
    main()
