#!/usr/bin/python3
"""Golden vectors for pipeline/evaluate/metrics.ts and upscale.ts, computed independently of the
TypeScript: numpy float64 for PSNR, the Fréchet distance (LAPACK's eigh for the matrix square root)
and feature covariances; OpenCV for SSIM's Gaussian window (cv2.GaussianBlur, then the window's
radius cropped from every side, as skimage.metrics.structural_similarity(gaussian_weights=True,
use_sample_covariance=False) does) and for bicubic / nearest resizing (cv2.resize INTER_CUBIC,
INTER_NEAREST on float32). Run with Debian's numpy and python3-opencv:
    /usr/bin/python3 test/reference/make_metric_vectors.py
Writes test/reference/vectors/metrics.json (arrays as flat row-major lists)."""
import json
import os

import cv2
import numpy as np


def image_pairs(rng):
    """Radiograph-like 8-bit images and degraded copies: noise, blur, shift, contrast, identical."""
    height, width = 40, 36
    yy, xx = np.mgrid[0:height, 0:width]
    base = 80 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 50 * (((yy - 20) ** 2 + (xx - 15) ** 2) < 64)
    base = np.clip(base + rng.normal(0, 6, (height, width)), 0, 255).round()
    variants = {
        "noise": np.clip(base + rng.normal(0, 12, base.shape), 0, 255).round(),
        "blur": cv2.GaussianBlur(base, (5, 5), 1.2).round(),
        "shift": np.roll(base, 2, axis=1),
        "contrast": np.clip(0.7 * base + 40, 0, 255).round(),
        "identical": base.copy(),
    }
    return base, variants


def psnr(a, b, data_range=255.0):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(data_range ** 2 / mse))


def ssim(a, b, data_range=255.0, sigma=1.5, truncate=3.5):
    radius = int(truncate * sigma + 0.5)
    size = 2 * radius + 1
    blur = lambda x: cv2.GaussianBlur(x, (size, size), sigma, borderType=cv2.BORDER_REFLECT)
    ux, uy = blur(a), blur(b)
    vx, vy, vxy = blur(a * a) - ux * ux, blur(b * b) - uy * uy, blur(a * b) - ux * uy
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return float(s[radius:-radius, radius:-radius].mean())


def sqrtm_psd(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet(mu1, s1, mu2, s2):
    root = sqrtm_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross)


def random_spd(rng, n, rank=None):
    factor = rng.normal(size=(n, rank or n))
    return factor @ factor.T / n + (0 if rank else 0.1 * np.eye(n))


def flat(array):
    return [float(v) for v in np.asarray(array, dtype=np.float64).ravel()]


def main():
    rng = np.random.default_rng(20240609)
    base, variants = image_pairs(rng)
    images = {"height": base.shape[0], "width": base.shape[1], "reference": flat(base), "cases": []}
    for name, other in variants.items():
        value = psnr(base, other)
        # JSON has no Infinity: identical images carry null, read as "infinite" by the test.
        images["cases"].append({"name": name, "image": flat(other), "psnr": None if value == float("inf") else value, "ssim": ssim(base, other)})

    low = (rng.random((10, 12)) * 255).astype(np.float32)
    resize = {"height": 10, "width": 12, "factor": 4, "input": flat(low),
              "bicubic": flat(cv2.resize(low, (48, 40), interpolation=cv2.INTER_CUBIC)),
              "nearest": flat(cv2.resize(low, (48, 40), interpolation=cv2.INTER_NEAREST))}

    frechet_cases = []
    for n, rank in [(2, None), (5, None), (16, None), (12, 4)]:
        mu1, mu2 = rng.normal(size=n), rng.normal(size=n)
        s1, s2 = random_spd(rng, n, rank), random_spd(rng, n)
        frechet_cases.append({"n": n, "rank": rank or n, "mean1": flat(mu1), "cov1": flat(s1), "mean2": flat(mu2), "cov2": flat(s2),
                              "distance": frechet(mu1, s1, mu2, s2), "sqrtm1": flat(sqrtm_psd(s1))})

    a = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(30, 6)) + 0.5
    features = {"dim": 6, "a": flat(a), "countA": 40, "b": flat(b), "countB": 30,
                "meanA": flat(a.mean(0)), "covA": flat(np.cov(a, rowvar=False)),
                "distance": frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)),
                "meanPairwiseA": float(np.mean([np.linalg.norm(a[i] - a[j]) for i in range(40) for j in range(i + 1, 40)]))}

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors", "metrics.json")
    with open(out, "w") as handle:
        json.dump({"generator": "test/reference/make_metric_vectors.py", "numpy": np.__version__, "opencv": cv2.__version__,
                   "images": images, "resize": resize, "frechet": frechet_cases, "features": features}, handle)
    print("wrote", out)


if __name__ == "__main__":
    main()
