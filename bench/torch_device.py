"""Where the PyTorch comparators run: TORCH_DEVICE=cpu (default) or cuda, and how they wait for it.

On CUDA the comparison is strict fp32 (TF32 off for matmul and cuDNN, since the engine computes in
fp32) with cuDNN's own autotuning on (the engine autotunes its kernels too).
"""
import os

import torch

DEVICE = os.environ.get("TORCH_DEVICE", "cpu")
# Calls per timed sample: GPU kernels take microseconds, so one synchronisation per call would dominate.
REPEATS = int(os.environ.get("TORCH_REPEATS", "1"))

if DEVICE == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True


def synchronize():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def describe():
    """The math library behind the convolutions, for the bench's label."""
    if DEVICE == "cuda":
        return f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}, fp32 (TF32 off)"
    config = torch.__config__.show()
    blas = next((line.split("=", 1)[1].strip(", ") for line in config.replace(",", "\n").splitlines() if "BLAS_INFO" in line), "unknown")
    return f"BLAS {blas}; oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}"
