"""PyTorch timings of full training steps with the engine's architectures (bench/torch_models.py): the
comparator of `npm run bench`'s steps section (bench/kernels.ts). CPU, or CUDA with TORCH_DEVICE=cuda
(bench/torch_device.py).

Prints one JSON object {"torch", "device", "backend", "threads", "steps": {"cgan": ms, "srgan": ms}}: medians
of 3 steps (11 on CUDA) after a warm-up, on random data. CGAN: paper config, batch 64, D update then G update (the paper's eqs. 2-4),
D frozen in the G update as in the engine.
SRGAN: paper config, batch 16, 24 -> 96 px crops, the adversarial step (D update, then G update with
MSE + 1e-3 BCE), as pipeline/train/srgan-trainer.ts runs it.
"""
import contextlib
import json
import os
import time

import torch
import torch.nn.functional as F

from torch_device import DEVICE, describe, synchronize
from torch_models import CLASSES, CONFIGS, SRGAN_CONFIGS, Z_DIM, Discriminator, Generator, SrDiscriminator, SrGenerator, initialize


def adam(module, lr, betas):
    return torch.optim.Adam(module.parameters(), lr, betas=betas, eps=1e-8)


@contextlib.contextmanager
def frozen(module):
    """D as a constant of G's loss, as the engine's trainers take it (ParameterGroup.frozen): no
    weight gradients for D in the G update."""
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in module.parameters():
            p.requires_grad_(True)


def cgan_step_fn(batch=64):
    g, d = Generator(CONFIGS["paper"]["generator"]), Discriminator(CONFIGS["paper"]["discriminator"])
    initialize(g)
    initialize(d)
    g, d = g.to(DEVICE), d.to(DEVICE)
    opt_g, opt_d = adam(g, 2e-4, (0.5, 0.999)), adam(d, 2e-4, (0.5, 0.999))
    real, labels = torch.rand(batch, 1, 128, 128, device=DEVICE) * 2 - 1, torch.randint(0, CLASSES, (batch,), device=DEVICE)
    ones, zeros = torch.ones(batch, device=DEVICE), torch.zeros(batch, device=DEVICE)

    def step():
        fake_labels = torch.randint(0, CLASSES, (batch,), device=DEVICE)
        fake = g(torch.randn(batch, Z_DIM, device=DEVICE), fake_labels)
        opt_d.zero_grad()
        loss_d = F.binary_cross_entropy_with_logits(d(real, labels), ones) + F.binary_cross_entropy_with_logits(d(fake.detach(), fake_labels), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        with frozen(d):
            F.binary_cross_entropy_with_logits(d(fake, fake_labels), ones).backward()
        opt_g.step()
    return step


def srgan_step_fn(batch=16, hr_size=96):
    g, d = SrGenerator(SRGAN_CONFIGS["paper"]).to(DEVICE), SrDiscriminator(SRGAN_CONFIGS["paper"]).to(DEVICE)
    opt_g, opt_d = adam(g, 1e-4, (0.9, 0.999)), adam(d, 1e-4, (0.9, 0.999))
    hr = torch.rand(batch, 1, hr_size, hr_size, device=DEVICE) * 2 - 1
    lr = F.avg_pool2d(hr, 4)
    ones, zeros = torch.ones(batch, device=DEVICE), torch.zeros(batch, device=DEVICE)

    def step():
        sr = g(lr)
        opt_d.zero_grad()
        loss_d = F.binary_cross_entropy_with_logits(d(hr), ones) + F.binary_cross_entropy_with_logits(d(sr.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        with frozen(d):
            (F.mse_loss(sr, hr) + 1e-3 * F.binary_cross_entropy_with_logits(d(sr), ones)).backward()
        opt_g.step()
    return step


def median_ms(step, runs=3):
    step()
    synchronize()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        synchronize()
        samples.append((time.perf_counter() - start) * 1000)
    return sorted(samples)[runs // 2]


def main():
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(0)
    # CUDA steps take milliseconds: more of them for a steady median.
    runs = 11 if DEVICE == "cuda" else 3
    steps = {"cgan": median_ms(cgan_step_fn(), runs), "srgan": median_ms(srgan_step_fn(), runs)}
    print(json.dumps({"torch": torch.__version__, "device": DEVICE, "backend": describe(), "threads": torch.get_num_threads(), "steps": steps}))


if __name__ == "__main__":
    main()
