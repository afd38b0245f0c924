"""The CGAN training recipe in PyTorch (bench/torch_models.py): the reference for issue 5's learning check.

Trains on a prepared xraygen cache (the 'train' split of its shards) and writes a safetensors weights
file that `xraygen evaluate --weights FILE` and `xraygen generate` load, so the engine's own learning
run can be compared with PyTorch's on the same data, recipe and evaluation.

Usage: python3 bench/torch_cgan.py CACHE OUT.safetensors [--config mini] [--batch 32] [--steps 800]
                                   [--lr 2e-4] [--seed 2] [--noise S] [--mode-seeking L]
Not used by the product or its tests (PyTorch is an optional comparator).
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_models import CLASSES, CONFIGS, Z_DIM, Discriminator, Generator, initialize

def read_cache(cache_dir):
    """The 'train' split of an xraygen cache as (images in [-1, 1] [N,1,S,S], labels [N])."""
    manifest = json.load(open(os.path.join(cache_dir, "manifest.json")))
    images, labels = [], []
    for shard in manifest["shards"]:
        data = open(os.path.join(cache_dir, shard["file"]), "rb").read()
        assert data[:8] == b"XRGSHARD", f"{shard['file']}: not an xraygen shard"
        _, count, lr_size, _ = struct.unpack_from("<4I", data, 8)
        base = 64
        shard_labels = np.frombuffer(data, np.uint8, count, base)
        splits = np.frombuffer(data, np.uint8, count, base + count)
        lr = np.frombuffer(data, np.uint8, count * lr_size * lr_size, base + 2 * count).reshape(count, 1, lr_size, lr_size)
        keep = splits == 0
        images.append(lr[keep])
        labels.append(shard_labels[keep])
    x = torch.from_numpy(np.concatenate(images).astype(np.float32) / 127.5 - 1)
    return x, torch.from_numpy(np.concatenate(labels).astype(np.int64))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        array = t.detach().cpu().numpy()
        dtype = "I64" if array.dtype == np.int64 else "F32"
        array = array.astype(np.int64 if dtype == "I64" else np.float32)
        blob = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def state(generator, discriminator):
    tensors = {f"generator.{k}": v for k, v in generator.state_dict().items()}
    tensors.update({f"discriminator.{k}": v for k, v in discriminator.state_dict().items()})
    return tensors


def make(config, lr):
    g, d = Generator(CONFIGS[config]["generator"]), Discriminator(CONFIGS[config]["discriminator"])
    initialize(g)
    initialize(d)
    opt_g = torch.optim.Adam(g.parameters(), lr, betas=(0.5, 0.999), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr, betas=(0.5, 0.999), eps=1e-8)
    return g, d, opt_g, opt_d


def step(g, d, opt_g, opt_d, real, labels, noise=0.0, mode_seeking=0.0, joint=False):
    """One step of the paper's recipe, as pipeline/train/cgan-trainer.ts runs it. `noise`: std of
    instance noise added to D's inputs; `mode_seeking`: weight of the mode-seeking term (MSGAN)."""
    n = real.shape[0]
    half = n // 2
    fake_labels = torch.randint(0, CLASSES, (n,))
    if mode_seeking:
        fake_labels[half:2 * half] = fake_labels[:half]
    z = torch.randn(n, Z_DIM)
    fake = g(z, fake_labels)
    jitter = lambda t: t + noise * torch.randn_like(t) if noise else t
    opt_d.zero_grad()
    if joint:
        # One D pass over real and fake together: BatchNorm sees both, so a collapsed fake batch stands out.
        logits = d(torch.cat([jitter(real), jitter(fake.detach())]), torch.cat([labels, fake_labels]))
        real_logits, fake_logits = logits[:n], logits[n:]
    else:
        real_logits, fake_logits = d(jitter(real), labels), d(jitter(fake.detach()), fake_labels)
    loss_d = F.binary_cross_entropy_with_logits(real_logits, torch.ones(n)) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(n))
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad()
    if joint:
        fooled = d(torch.cat([jitter(real), jitter(fake)]), torch.cat([labels, fake_labels]))[n:]
    else:
        fooled = d(jitter(fake), fake_labels)
    loss_g = F.binary_cross_entropy_with_logits(fooled, torch.ones(n))
    if mode_seeking:
        ratio = (fake[:half] - fake[half:2 * half]).abs().mean() / (z[:half] - z[half:2 * half]).abs().mean()
        loss_g = loss_g + mode_seeking / (ratio + 1e-5)
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item(), torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()


def train(args):
    torch.manual_seed(args.seed)
    x, y = read_cache(args.cache)
    g, d, opt_g, opt_d = make(args.config, args.lr)
    start = time.time()
    order, position, epoch = torch.randperm(len(x)), 0, 0
    for i in range(1, args.steps + 1):
        if position + args.batch > len(x):
            order, position, epoch = torch.randperm(len(x)), 0, epoch + 1
        index = order[position:position + args.batch]
        position += args.batch
        noise = args.noise * max(0.0, 1 - i / args.steps)
        loss_d, loss_g, d_real, d_fake = step(g, d, opt_g, opt_d, x[index], y[index], noise, args.mode_seeking, args.joint)
        if i % 50 == 0 or i == args.steps:
            print(json.dumps(dict(step=i, epoch=epoch, loss_d=round(loss_d, 4), loss_g=round(loss_g, 4), d_real=round(d_real, 3),
                                  d_fake=round(d_fake, 3), seconds=round(time.time() - start, 1))), flush=True)
    write_safetensors(args.out, state(g, d))
    with torch.no_grad():
        for mode in ("train", "eval"):
            g.train(mode == "train")
            images = g(torch.randn(48, Z_DIM), torch.arange(48) % CLASSES).view(16, CLASSES, -1)
            print(f"{mode}-mode spread over z (mean per-pixel std within a class): {images.std(0).mean().item():.3f}")
    print(f"wrote {args.out} after {args.steps} steps in {time.time() - start:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache")
    parser.add_argument("out")
    parser.add_argument("--config", default="mini", choices=sorted(CONFIGS))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--noise", type=float, default=0.0, help="instance noise std, annealed to 0")
    parser.add_argument("--mode-seeking", type=float, default=0.0, help="weight of the MSGAN term")
    parser.add_argument("--joint", action="store_true", help="one D pass over real and fake images together")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    train(args)


if __name__ == "__main__":
    main()
