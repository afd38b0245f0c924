"""Makes the PyTorch-written safetensors vector the engine's reader is tested against, and checks files the engine wrote.

torch 1.13 has no safetensors package, so the format (8-byte little-endian header length, JSON header, raw
little-endian tensor bytes) is written and read by hand here; the read-back check below keeps that honest.

    /usr/bin/python3 test/reference/make_safetensors_vector.py           # writes vectors/torch_small.{safetensors,json}
    /usr/bin/python3 test/reference/make_safetensors_vector.py --check F # prints F's tensors; loads them into the module
"""
import json
import struct
import sys
from pathlib import Path

import torch
from torch import nn

VECTORS = Path(__file__).resolve().parent / "vectors"
DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
    torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
DTYPES = {name: dtype for dtype, name in DTYPE_NAMES.items()}


class Small(nn.Module):
    """A Conv2d + BatchNorm2d like the models' blocks, plus buffers in the other dtypes the reader must handle."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        # Half values include a subnormal, the largest finite half and negative zero.
        self.register_buffer("half_table", torch.tensor([0.1, -2.5, 6e-8, 65504.0, -0.0, 1 / 3]).half())
        self.register_buffer("bfloat_table", torch.randn(4).bfloat16())
        self.register_buffer("int32_table", torch.arange(-3, 3, dtype=torch.int32).reshape(2, 3))
        # Three bytes, so every tensor after it starts unaligned and readers must copy, not view.
        self.register_buffer("uint8_table", torch.tensor([0, 127, 255], dtype=torch.uint8))
        # Beyond 2**53, so a reader that goes through float64 would get it wrong.
        self.register_buffer("int64_table", torch.tensor([2**62 + 1, -5], dtype=torch.int64))

    def forward(self, x):
        return self.bn(self.conv(x))


def tensor_bytes(tensor):
    tensor = tensor.detach().contiguous().cpu()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16; the bits are the same as int16's
        tensor = tensor.view(torch.int16)
    return tensor.numpy().tobytes()


def write_safetensors(path, state, metadata):
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in state.items():
        data = tensor_bytes(tensor)
        header[name] = {"dtype": DTYPE_NAMES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data section starts 8-byte aligned, as the safetensors library does
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def read_safetensors(path):
    raw = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + length:]
    tensors = {}
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        if begin == end:
            tensors[name] = torch.empty(entry["shape"], dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(entry["shape"])
    return tensors, metadata


def expected_values(tensor):
    if tensor.dtype == torch.int64:  # strings: JSON numbers lose int64 precision in JavaScript
        return [str(value) for value in tensor.flatten().tolist()]
    if tensor.dtype.is_floating_point:
        return tensor.float().flatten().tolist()
    return tensor.flatten().tolist()


def make_vector():
    assert sys.byteorder == "little"
    torch.manual_seed(0)
    model = Small()
    model.train()
    with torch.no_grad():
        for _ in range(3):  # non-trivial running stats and num_batches_tracked == 3
            model(torch.randn(4, 2, 5, 5))
    state = model.state_dict()
    metadata = {"format": "pt", "producer": "make_safetensors_vector.py"}
    VECTORS.mkdir(exist_ok=True)
    path = VECTORS / "torch_small.safetensors"
    write_safetensors(path, state, metadata)

    tensors, read_metadata = read_safetensors(path)
    assert read_metadata == metadata and list(tensors) == list(state)
    for name, tensor in state.items():
        assert tensors[name].dtype == tensor.dtype and torch.equal(tensors[name], tensor), name
    Small().load_state_dict(tensors, strict=True)

    expected = {"metadata": metadata, "tensors": {
        name: {"dtype": DTYPE_NAMES[tensor.dtype], "shape": list(tensor.shape), "values": expected_values(tensor)}
        for name, tensor in state.items()}}
    (VECTORS / "torch_small.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes) and torch_small.json")


def check(path):
    tensors, metadata = read_safetensors(path)
    print(f"metadata: {metadata}")
    for name, tensor in tensors.items():
        values = tensor.flatten()[:6].tolist()
        print(f"{name}: {DTYPE_NAMES[tensor.dtype]} {list(tensor.shape)} {values}{' ...' if tensor.numel() > 6 else ''}")
    model = Small()
    if set(tensors) != set(model.state_dict()):
        return
    model.load_state_dict(tensors, strict=True)
    print("load_state_dict(strict=True) into the reference module: ok")
    expected = json.loads((VECTORS / "torch_small.json").read_text())["tensors"]
    for name, tensor in model.state_dict().items():
        same = expected_values(tensor) == expected[name]["values"] and DTYPE_NAMES[tensor.dtype] == expected[name]["dtype"]
        print(f"  {name}: {'matches' if same else 'DIFFERS from'} torch_small.json")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        make_vector()
    else:
        sys.exit(__doc__)
