"""Renders the text lines of the benchmark's OCR task (`sysnoise bench sysnoise --tasks pp-ocr-rec`).

Usage: render_ocr_lines.py OUT_DIR [COUNT]

Writes OUT_DIR/line_0000.jpeg ... (one single line of black text on white each, JPEG quality 90
with 4:2:0 chroma subsampling, so decoder and colour noise apply as on photos) and
OUT_DIR/labels.txt (`filename<TAB>text` per line). Everything is drawn from random.Random(0)
with three fonts of Debian's fonts-dejavu-core at six sizes, so the same Pillow and FreeType give the same
bytes on every run.
"""

import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
]
WORDS = """
hello world runtime tensor resize decode model accuracy offline python image pixel kernel
layer batch float integer quantise export server camera colour filter sample vector matrix
signal noise system binary engine output input label score metric table report graph node
search token buffer memory thread cache driver device vision photo frame stream video shape
weight scale bias round error value random seed linear nearest cubic area bilinear channel
""".split()
# Font sizes (px): lines from ~27 to ~80 px tall, so the recogniser's resize to height 48
# enlarges some and shrinks others — the resize kernel matters in both directions.
SIZES = (20, 26, 32, 40, 52, 64)
MARGIN = 8
DEFAULT_COUNT = 600


def line_text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.3:
        words[0] = words[0].capitalize()
    number = rng.choice(
        [
            str(rng.randint(0, 999)),
            f"{rng.randint(0, 99)}.{rng.randint(0, 99):02d}",
            f"v{rng.randint(1, 9)}.{rng.randint(0, 9)}",
        ]
    )
    words.insert(rng.randint(0, len(words)), number)
    return " ".join(words)


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) == 3 else DEFAULT_COUNT
    out.mkdir(parents=True, exist_ok=True)
    fonts = {(path, size): ImageFont.truetype(path, size) for path in FONTS for size in SIZES}
    rng = random.Random(0)
    labels = []
    for i in range(count):
        text = line_text(rng)
        font = fonts[(FONTS[rng.randrange(len(FONTS))], SIZES[rng.randrange(len(SIZES))])]
        left, top, right, bottom = font.getbbox(text)
        image = Image.new("RGB", (right - left + 2 * MARGIN, bottom - top + 2 * MARGIN), "white")
        ImageDraw.Draw(image).text((MARGIN - left, MARGIN - top), text, font=font, fill="black")
        name = f"line_{i:04d}.jpeg"
        image.save(out / name, format="JPEG", quality=90, subsampling=2)
        labels.append(f"{name}\t{text}\n")
    (out / "labels.txt").write_text("".join(labels), encoding="utf-8")


if __name__ == "__main__":
    main()
