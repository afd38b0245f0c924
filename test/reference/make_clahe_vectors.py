#!/usr/bin/python3
"""Golden vectors for pipeline/data/clahe.ts: deterministic numpy inputs run through
OpenCV's createCLAHE(2.0, (8, 8)).apply. Run with Debian's python3-opencv:
    /usr/bin/python3 test/reference/make_clahe_vectors.py
Writes test/reference/vectors/clahe.json (inputs and outputs as base64 uint8, row-major)."""
import base64
import json
import os

import cv2
import numpy as np


def smooth_field(rng, height, width, cells):
    """Bilinearly upsampled random grid: the slow shading of a radiograph."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)


def radiograph_like(rng, height, width):
    base = 60 + 120 * smooth_field(rng, height, width, 4)
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(5):
        cy, cx, radius = rng.random() * height, rng.random() * width, 5 + rng.random() * width / 6
        base += 40 * (((yy - cy) ** 2 + (xx - cx) ** 2) < radius ** 2)
    base += rng.normal(0, 4, (height, width))
    return np.clip(base, 0, 255).astype(np.uint8)


def make_inputs():
    rng = np.random.default_rng(20240611)
    cases = []
    cases.append(("uniform-noise-64x64", rng.integers(0, 256, (64, 64), dtype=np.uint8)))
    cases.append(("flat-100-64x64", np.full((64, 64), 100, np.uint8)))
    cases.append(("flat-0-40x48", np.zeros((40, 48), np.uint8)))
    half = np.zeros((64, 64), np.uint8)
    half[:, 32:] = 255
    cases.append(("half-black-white-64x64", half))
    checker = ((np.indices((72, 72)).sum(axis=0) // 9) % 2 * 255).astype(np.uint8)
    cases.append(("checkerboard-72x72", checker))
    cases.append(("low-contrast-80x80", rng.integers(100, 111, (80, 80), dtype=np.uint8)))
    cases.append(("radiograph-like-256x256", radiograph_like(rng, 256, 256)))
    cases.append(("radiograph-like-512x512", radiograph_like(rng, 512, 512)))
    cases.append(("radiograph-like-53x37", radiograph_like(rng, 53, 37)))
    cases.append(("radiograph-like-130x96", radiograph_like(rng, 130, 96)))
    cases.append(("radiograph-like-96x130", radiograph_like(rng, 96, 130)))
    cases.append(("noise-100x75", rng.integers(0, 256, (100, 75), dtype=np.uint8)))
    cases.append(("tiny-12x11", rng.integers(0, 256, (12, 11), dtype=np.uint8)))
    gradient = np.tile(np.linspace(0, 255, 120).astype(np.uint8), (88, 1))
    cases.append(("gradient-88x120", gradient))
    return cases


def main():
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    vectors = []
    for name, image in make_inputs():
        output = clahe.apply(np.ascontiguousarray(image))
        vectors.append({
            "name": name,
            "height": int(image.shape[0]),
            "width": int(image.shape[1]),
            "input": base64.b64encode(image.tobytes()).decode("ascii"),
            "expected": base64.b64encode(output.tobytes()).decode("ascii"),
        })
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "vectors", "clahe.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump({"generator": "make_clahe_vectors.py", "opencv": cv2.__version__, "numpy": np.__version__,
                   "clipLimit": 2.0, "tileGridSize": [8, 8], "vectors": vectors}, handle, indent=1)
        handle.write("\n")
    print(f"wrote {len(vectors)} vectors to {path}")


if __name__ == "__main__":
    main()
