"""PyTorch timings of the conv layers of bench/kernels.ts (the optional comparator): CPU by default,
CUDA with TORCH_DEVICE=cuda (strict fp32: TF32 off, cuDNN autotuning on, as the engine autotunes).

Reads the layer list as JSON on stdin ([{name, transposed, batch, inChannels, outChannels, inSize,
kernel, stride, padding}]) and prints one JSON object: {"blas": ..., "threads": N, "layers":
{name: {"fwd_ms", "dx_ms", "dw_ms"}}}, each the median of 5 samples after one warm-up, like the engine;
a sample is TORCH_REPEATS calls (default 1) then one synchronisation, divided by TORCH_REPEATS.
Forward is F.conv2d / F.conv_transpose2d; dx and dw are autograd's backward of one recorded forward,
each timed alone (what a training step runs).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

from torch_device import DEVICE, REPEATS, describe, synchronize


def median_ms(fn):
    fn()
    synchronize()
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(REPEATS):
            fn()
        synchronize()
        samples.append((time.perf_counter() - start) * 1000 / REPEATS)
    samples.sort()
    return samples[2]


def passes(layer):
    n, cin, cout, size, k = layer["batch"], layer["inChannels"], layer["outChannels"], layer["inSize"], layer["kernel"]
    s, p = layer["stride"], layer["padding"]
    x = torch.randn(n, cin, size, size, device=DEVICE)
    if layer["transposed"]:
        w = torch.randn(cin, cout, k, k, device=DEVICE)
        forward = lambda xx, ww: F.conv_transpose2d(xx, ww, stride=s, padding=p)
    else:
        w = torch.randn(cout, cin, k, k, device=DEVICE)
        forward = lambda xx, ww: F.conv2d(xx, ww, stride=s, padding=p)
    y = forward(x, w)
    dy = torch.randn_like(y)
    xg = x.clone().requires_grad_(True)
    wg = w.clone().requires_grad_(True)

    # One recorded forward; each backward pass is timed alone on the retained graph.
    out = forward(xg, wg)
    grad_of = lambda target: torch.autograd.grad(out, target, dy, retain_graph=True)

    with torch.no_grad():
        fwd = median_ms(lambda: forward(x, w))
    return {"fwd_ms": fwd, "dx_ms": median_ms(lambda: grad_of(xg)), "dw_ms": median_ms(lambda: grad_of(wg))}


# Both cores, as the engine gets (a distribution may default torch to fewer threads).
torch.set_num_threads(os.cpu_count() or 1)
layers = json.load(sys.stdin)
print(json.dumps({"torch": torch.__version__, "device": DEVICE, "blas": describe(), "threads": torch.get_num_threads(), "layers": {l["name"]: passes(l) for l in layers}}))
