"""The two GANs of ../shared/ARCHITECTURE.md in PyTorch, with the spec's parameter names and init:
the reference architecture for bench/torch_cgan.py (training) and bench/torch_steps.py (timing).
Not used by the product or its tests (PyTorch is an optional comparator)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "paper": dict(generator=[512, 256, 128, 64, 32], discriminator=[32, 64, 128, 256, 512]),
    "small": dict(generator=[256, 128, 64, 32, 16], discriminator=[16, 32, 64, 128, 256]),
    "mini": dict(generator=[64, 32, 16, 8, 8], discriminator=[8, 8, 16, 32, 64]),
}
Z_DIM, EMBED_DIM, CLASSES, SLOPE, DROPOUT = 100, 50, 3, 0.2, 0.3


class Block(nn.Module):
    """A `blocks.{i}` slot: its conv under `name` ('deconv' or 'conv') and an optional `bn`."""

    def __init__(self, conv, bn):
        super().__init__()
        name, module = conv
        setattr(self, name, module)
        if bn is not None:
            self.bn = bn


class Generator(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.label_embed = nn.Embedding(CLASSES, EMBED_DIM)
        blocks, cin = [], Z_DIM + EMBED_DIM
        for i, c in enumerate(channels):
            stride, pad = (1, 0) if i == 0 else (2, 1)
            blocks.append(Block(("deconv", nn.ConvTranspose2d(cin, c, 4, stride, pad, bias=False)), nn.BatchNorm2d(c)))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.to_image = nn.ConvTranspose2d(cin, 1, 4, 2, 1)

    def forward(self, z, y):
        h = torch.cat([z, self.label_embed(y)], 1)[:, :, None, None]
        for block in self.blocks:
            h = F.leaky_relu(block.bn(block.deconv(h)), SLOPE)
        return torch.tanh(self.to_image(h))


class Discriminator(nn.Module):
    def __init__(self, channels, size=128):
        super().__init__()
        self.size = size
        self.label_embed = nn.Embedding(CLASSES, size * size)
        blocks, cin = [], 2
        for i, c in enumerate(channels):
            blocks.append(Block(("conv", nn.Conv2d(cin, c, 4, 2, 1, bias=(i == 0))), None if i == 0 else nn.BatchNorm2d(c)))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.to_logit = nn.Conv2d(cin, 1, 4, 1, 0)

    def forward(self, x, y):
        h = torch.cat([x, self.label_embed(y).view(-1, 1, self.size, self.size)], 1)
        for i, block in enumerate(self.blocks):
            h = block.conv(h)
            if i > 0:
                h = F.dropout(F.leaky_relu(block.bn(h), SLOPE), DROPOUT, self.training)
            else:
                h = F.leaky_relu(h, SLOPE)
        return self.to_logit(h).view(-1)


def initialize(module):
    # The spec's init: conv/deconv N(0, 0.02), BN weight N(1, 0.02), biases 0, embeddings N(0, 1).
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0, 1)


SRGAN_CONFIGS = {
    "paper": dict(channels=64, residual_blocks=16, upsample_blocks=2, discriminator=[64, 64, 128, 128, 256, 256, 512, 512], hidden=1024),
}


class Conv(nn.Module):
    """A named conv (+ optional BN) slot, so state_dict names read `features.{k}.conv` / `.bn`."""

    def __init__(self, cin, cout, k, stride, bias, bn):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)
        if bn:
            self.bn = nn.BatchNorm2d(cout)


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c)
        self.act = nn.PReLU()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c)

    def forward(self, x):
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, 4 * c, 3, 1, 1)
        self.act = nn.PReLU()

    def forward(self, x):
        return self.act(F.pixel_shuffle(self.conv(x), 2))


class SrGenerator(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = config["channels"]
        self.head, self.head_act = nn.Conv2d(1, c, 9, 1, 4), nn.PReLU()
        self.res = nn.ModuleList([Residual(c) for _ in range(config["residual_blocks"])])
        self.trunk = Conv(c, c, 3, 1, True, True)
        self.up = nn.ModuleList([Upsample(c) for _ in range(config["upsample_blocks"])])
        self.tail = nn.Conv2d(c, 1, 9, 1, 4)

    def forward(self, x):
        head = self.head_act(self.head(x))
        h = head
        for block in self.res:
            h = block(h)
        h = head + self.trunk.bn(self.trunk.conv(h))
        for block in self.up:
            h = block(h)
        return torch.tanh(self.tail(h))


class SrDiscriminator(nn.Module):
    def __init__(self, config):
        super().__init__()
        features, cin = [], 1
        for k, c in enumerate(config["discriminator"]):
            features.append(Conv(cin, c, 3, 1 if k % 2 == 0 else 2, k == 0, k > 0))
            cin = c
        self.features = nn.ModuleList(features)
        self.head = nn.Module()
        self.head.fc1 = nn.Conv2d(cin, config["hidden"], 1)
        self.head.fc2 = nn.Conv2d(config["hidden"], 1, 1)

    def forward(self, x):
        h = x
        for k, layer in enumerate(self.features):
            h = layer.conv(h)
            if k > 0:
                h = layer.bn(h)
            h = F.leaky_relu(h, SLOPE)
        h = F.adaptive_avg_pool2d(h, 1)
        return self.head.fc2(F.leaky_relu(self.head.fc1(h), SLOPE)).view(-1)
