"""Write ``panorama.jpg`` next to this script: ``python data/large/make_panorama.py``.

A 12000 x 900 JPEG: the sample photos of ``data/`` (CC0 and public domain, see
``data/ATTRIBUTION.md``), each scaled to 900 pixels high, side by side, repeated until the
strip is 12000 pixels wide. It is wider than the 10000 pixels a side that Rekognition's
DetectLabels takes, so notebook 07 uses it to show a large image uploaded straight to S3 and
downscaled for analysis while the original is kept. JPEG encoders differ in their last bits
between Pillow builds, so the committed file is the reference, not a rebuild of it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 12_000, 900


def panorama() -> Image.Image:
    photos = sorted(p for p in HERE.parent.iterdir() if p.suffix in (".png", ".jpg"))
    strip = Image.new("RGB", (WIDTH, HEIGHT))
    x = 0
    for path in itertools.cycle(photos):
        if x >= WIDTH:
            return strip
        with Image.open(path) as photo:
            scaled = photo.convert("RGB").resize((photo.width * HEIGHT // photo.height, HEIGHT), Image.LANCZOS)
        strip.paste(scaled, (x, 0))
        x += scaled.width


if __name__ == "__main__":
    panorama().save(HERE / "panorama.jpg", "JPEG", quality=80, optimize=True)
