"""Write the PyTorch golden vectors the xraygen tests compare against.

Run from the repository root with Debian's Python (torch 1.13 CPU):
    /usr/bin/python3 test/reference/make_torch_vectors.py
It rewrites test/reference/vectors/ops.json and test/reference/vectors/adam_convnet.json.
Everything is seeded (torch.manual_seed(0)), so reruns with the same torch give the same files.

Tensor encoding (both files): {"shape": [d0, d1, ...], "data": [flat row-major values]};
a scalar has shape []. Float32 values are written with 9 significant digits, which round-trips
float32 exactly (Math.fround(parsed) is the original float32); float64 values use Python's repr.
An integer tensor carries "dtype": "int64" (else the dtype is the file's/run's float dtype).

ops.json:
  {"format": "xraygen-torch-ops-1", "torch_version": str, "dtype": "float32", "seed": 0,
   "cases": {CASE_NAME: CASE, ...}}
  CASE = {
    "op": str,            # conv2d, conv_transpose2d, linear, matmul, add, mul, scale, leaky_relu,
                          # prelu, tanh, sigmoid, batch_norm_train, batch_norm_eval, dropout,
                          # embedding, concat_channels, pixel_shuffle, global_avg_pool, sum, mean,
                          # sum_axes, bce_with_logits, mse, adam
    "config": {...},      # op hyperparameters, PyTorch names (stride, padding, output_padding, ...)
    "inputs": {name: TENSOR},        # everything fed in: activations, parameters, running stats,
                                     # integer indices, dropout keep-masks
    "outputs": {name: TENSOR},       # "output" plus op-specific extras (batch_norm_train:
                                     # "running_mean", "running_var" after the step, "batch_mean",
                                     # "batch_var" (biased))
    "grad_outputs": {name: TENSOR},  # random upstream gradient for each differentiable output
    "grads": {name: TENSOR}          # d sum(output * grad_output) / d input, per differentiable input
  }
  The "adam" op is a trajectory instead: inputs "param" [n] and "grads" [steps, n];
  outputs "params" [steps, n] (parameter after each step), "exp_avg" and "exp_avg_sq" (after the
  last step); config has lr, betas, eps, weight_decay, steps; no grad_outputs/grads.

adam_convnet.json: 5 Adam steps of a tiny conv net in train mode; see "description" in the file.
  {"format": "xraygen-adam-convnet-1", "torch_version": str, "description": {...},
   "input": TENSOR, "target": TENSOR, "initial_state_dict": {name: TENSOR},
   "runs": {"float32": RUN, "float64": RUN}}
  RUN = {"losses": [loss before step 1, ..., loss before step 5],
         "state_dict": {name: TENSOR}}   # after 5 steps, BN running stats included
  Both runs start from the same float32-representable state; the float64 run is there so a
  float64 reimplementation can be checked tightly, the float32 run is what the engine reproduces.
"""

import json
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "vectors")


def encode(tensor):
    tensor = tensor.detach()
    entry = {"shape": list(tensor.shape)}
    flat = tensor.reshape(-1).tolist()
    if not tensor.is_floating_point():
        entry["dtype"] = "int64"
        entry["data"] = [int(v) for v in flat]
    elif tensor.dtype == torch.float32:
        entry["data"] = [float("%.9g" % v) for v in flat]
    else:
        entry["data"] = flat
    return entry


def randn(*shape, scale=1.0, shift=0.0):
    return torch.randn(*shape) * scale + shift


def record(op, config, inputs, forward, no_grad=()):
    """Runs forward(**leaves) -> {name: tensor} and backprops random upstream gradients."""
    leaves = {}
    for name, value in inputs.items():
        leaf = value.detach().clone()
        if leaf.is_floating_point() and name not in no_grad:
            leaf.requires_grad_(True)
        leaves[name] = leaf
    before = {name: encode(leaf) for name, leaf in leaves.items()}
    outputs = forward(**leaves)
    differentiable = {name: out for name, out in outputs.items() if out.requires_grad}
    upstream = {name: torch.randn_like(out) for name, out in differentiable.items()}
    torch.autograd.backward(list(differentiable.values()), list(upstream.values()))
    grads = {name: encode(leaf.grad) for name, leaf in leaves.items() if leaf.grad is not None}
    return {
        "op": op,
        "config": config,
        "inputs": before,
        "outputs": {name: encode(out) for name, out in outputs.items()},
        "grad_outputs": {name: encode(g) for name, g in upstream.items()},
        "grads": grads,
    }


def conv_cases(cases):
    conv_configs = [  # name, x shape, weight shape, stride, padding, bias
        ("conv2d_k3_s1_p1", (2, 3, 5, 5), (4, 3, 3, 3), 1, 1, True),
        ("conv2d_k4_s2_p1", (2, 3, 8, 8), (5, 3, 4, 4), 2, 1, True),
        ("conv2d_k4_s2_p1_nobias_odd", (1, 3, 7, 7), (4, 3, 4, 4), 2, 1, False),
        ("conv2d_k4_s1_p0_to1x1", (2, 4, 4, 4), (1, 4, 4, 4), 1, 0, True),
        ("conv2d_k9_s1_p4", (1, 2, 10, 10), (3, 2, 9, 9), 1, 4, True),
        ("conv2d_k1", (2, 5, 3, 3), (6, 5, 1, 1), 1, 0, True),
        ("conv2d_k3_s2_p1", (1, 3, 7, 7), (2, 3, 3, 3), 2, 1, True),
        ("conv2d_k3_s2_p0_rect_input", (3, 1, 6, 5), (2, 1, 3, 3), 2, 0, False),
        ("conv2d_k2x3_s1_p1", (2, 2, 5, 6), (3, 2, 2, 3), 1, 1, True),
    ]
    for name, x_shape, w_shape, stride, padding, has_bias in conv_configs:
        inputs = {"x": randn(*x_shape), "weight": randn(*w_shape, scale=0.3)}
        if has_bias:
            inputs["bias"] = randn(w_shape[0], scale=0.1)
        cases[name] = record(
            "conv2d", {"stride": stride, "padding": padding, "bias": has_bias}, inputs,
            lambda x, weight, bias=None, s=stride, p=padding: {"output": F.conv2d(x, weight, bias, s, p)})
    convt_configs = [  # name, x shape, weight shape [Cin, Cout, kH, kW], stride, padding, output_padding, bias
        ("convT_k4_s2_p1", (2, 4, 3, 3), (4, 3, 4, 4), 2, 1, 0, False),
        ("convT_k4_s2_p1_bias", (1, 3, 4, 4), (3, 1, 4, 4), 2, 1, 0, True),
        ("convT_k4_s1_p0_from1x1", (3, 6, 1, 1), (6, 4, 4, 4), 1, 0, 0, False),
        ("convT_k3_s2_p1_op1", (2, 3, 4, 4), (3, 2, 3, 3), 2, 1, 1, True),
        ("convT_k3_s1_p1", (1, 2, 5, 5), (2, 3, 3, 3), 1, 1, 0, True),
        ("convT_k4_s2_p2_op1", (1, 2, 3, 3), (2, 2, 4, 4), 2, 2, 1, False),
        ("convT_k2x3_s3_p0", (1, 2, 3, 2), (2, 2, 2, 3), 3, 0, 0, True),
    ]
    for name, x_shape, w_shape, stride, padding, output_padding, has_bias in convt_configs:
        inputs = {"x": randn(*x_shape), "weight": randn(*w_shape, scale=0.3)}
        if has_bias:
            inputs["bias"] = randn(w_shape[1], scale=0.1)
        cases[name] = record(
            "conv_transpose2d",
            {"stride": stride, "padding": padding, "output_padding": output_padding, "bias": has_bias}, inputs,
            lambda x, weight, bias=None, s=stride, p=padding, o=output_padding:
                {"output": F.conv_transpose2d(x, weight, bias, s, p, o)})


def dense_and_pointwise_cases(cases):
    cases["linear"] = record("linear", {"bias": True},
                             {"x": randn(3, 5), "weight": randn(4, 5, scale=0.4), "bias": randn(4, scale=0.1)},
                             lambda x, weight, bias: {"output": F.linear(x, weight, bias)})
    cases["linear_batch1_nobias"] = record("linear", {"bias": False}, {"x": randn(1, 7), "weight": randn(2, 7)},
                                           lambda x, weight: {"output": F.linear(x, weight)})
    cases["matmul"] = record("matmul", {}, {"a": randn(3, 4), "b": randn(4, 5)},
                             lambda a, b: {"output": a @ b})
    cases["add"] = record("add", {}, {"a": randn(2, 3, 4), "b": randn(2, 3, 4)}, lambda a, b: {"output": a + b})
    cases["mul"] = record("mul", {}, {"a": randn(2, 3, 4), "b": randn(2, 3, 4)}, lambda a, b: {"output": a * b})
    cases["scale"] = record("scale", {"factor": 0.7}, {"x": randn(10)}, lambda x: {"output": x * 0.7})
    for slope in (0.2, 0.01):
        cases["leaky_relu_%g" % slope] = record(
            "leaky_relu", {"negative_slope": slope}, {"x": randn(2, 3, 4, 4)},
            lambda x, s=slope: {"output": F.leaky_relu(x, s)})
    cases["prelu"] = record("prelu", {}, {"x": randn(2, 3, 4), "weight": torch.tensor([0.25])},
                            lambda x, weight: {"output": F.prelu(x, weight)})
    cases["tanh"] = record("tanh", {}, {"x": randn(30, scale=2.0)}, lambda x: {"output": torch.tanh(x)})
    cases["sigmoid"] = record("sigmoid", {}, {"x": randn(30, scale=3.0)}, lambda x: {"output": torch.sigmoid(x)})
    x = randn(4, 25)
    kept = (F.dropout(torch.ones_like(x), 0.3, training=True) != 0).float()
    cases["dropout_p0.3"] = record("dropout", {"p": 0.3}, {"x": x, "keep_mask": kept},
                                   lambda x, keep_mask: {"output": x * keep_mask / (1 - 0.3)}, no_grad=("keep_mask",))


def norm_cases(cases):
    def batch_norm_train(x, weight, bias, running_mean, running_var):
        mean = running_mean.detach().clone()
        var = running_var.detach().clone()
        output = F.batch_norm(x, mean, var, weight, bias, training=True, momentum=0.1, eps=1e-5)
        dims = (0, 2, 3)
        return {"output": output, "running_mean": mean, "running_var": var,
                "batch_mean": x.detach().mean(dims), "batch_var": x.detach().var(dims, unbiased=False)}

    for name, shape in (("batchnorm_train", (4, 3, 3, 3)), ("batchnorm_train_n1", (1, 5, 2, 3))):
        channels = shape[1]
        cases[name] = record(
            "batch_norm_train", {"eps": 1e-5, "momentum": 0.1},
            {"x": randn(*shape, scale=2.0, shift=0.5), "weight": randn(channels, scale=0.1, shift=1.0),
             "bias": randn(channels, scale=0.1), "running_mean": randn(channels, scale=0.1),
             "running_var": torch.rand(channels) + 0.5},
            batch_norm_train, no_grad=("running_mean", "running_var"))
    cases["batchnorm_eval"] = record(
        "batch_norm_eval", {"eps": 1e-5},
        {"x": randn(2, 3, 4, 4), "weight": randn(3, scale=0.1, shift=1.0), "bias": randn(3, scale=0.1),
         "running_mean": randn(3, scale=0.3), "running_var": torch.rand(3) + 0.5},
        lambda x, weight, bias, running_mean, running_var: {
            "output": F.batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=1e-5)},
        no_grad=("running_mean", "running_var"))


def layout_and_loss_cases(cases):
    cases["embedding"] = record("embedding", {"num_embeddings": 5, "embedding_dim": 4},
                                {"indices": torch.tensor([3, 0, 3, 1, 4, 3]), "weight": randn(5, 4)},
                                lambda indices, weight: {"output": F.embedding(indices, weight)})
    cases["concat_channels"] = record("concat_channels", {},
                                      {"input0": randn(2, 1, 3, 3), "input1": randn(2, 2, 3, 3)},
                                      lambda input0, input1: {"output": torch.cat([input0, input1], 1)})
    for factor, shape in ((2, (2, 8, 3, 3)), (3, (1, 9, 2, 2))):
        cases["pixel_shuffle_r%d" % factor] = record(
            "pixel_shuffle", {"upscale_factor": factor}, {"x": randn(*shape)},
            lambda x, r=factor: {"output": F.pixel_shuffle(x, r)})
    cases["global_avg_pool"] = record("global_avg_pool", {}, {"x": randn(2, 3, 4, 5)},
                                      lambda x: {"output": F.adaptive_avg_pool2d(x, 1)})
    cases["sum"] = record("sum", {}, {"x": randn(3, 4)}, lambda x: {"output": x.sum()})
    cases["mean"] = record("mean", {}, {"x": randn(3, 4)}, lambda x: {"output": x.mean()})
    for axes, shape in (((0, 2, 3), (2, 3, 4, 5)), ((1,), (2, 3, 4))):
        cases["sum_axes_" + "_".join(map(str, axes))] = record(
            "sum_axes", {"axes": list(axes), "keepdim": True}, {"x": randn(*shape)},
            lambda x, a=axes: {"output": x.sum(dim=a, keepdim=True)})
    logits = randn(16, scale=3.0)
    logits[0], logits[1] = 40.0, -40.0  # the stable form must not overflow
    cases["bce"] = record("bce_with_logits", {"reduction": "mean"}, {"input": logits, "target": torch.rand(16)},
                          lambda input, target: {"output": F.binary_cross_entropy_with_logits(input, target)})
    cases["bce_hard_targets"] = record(
        "bce_with_logits", {"reduction": "mean"},
        {"input": randn(2, 1, 1, 1), "target": torch.tensor([1.0, 0.0]).reshape(2, 1, 1, 1)},
        lambda input, target: {"output": F.binary_cross_entropy_with_logits(input, target)})
    cases["mse"] = record("mse", {"reduction": "mean"}, {"input": randn(2, 3, 4, 4), "target": randn(2, 3, 4, 4)},
                          lambda input, target: {"output": F.mse_loss(input, target)})


def adam_case(lr, betas, weight_decay, steps=3, size=12):
    param = torch.nn.Parameter(randn(size))
    start = param.detach().clone()
    grads = randn(steps, size)
    optimizer = torch.optim.Adam([param], lr=lr, betas=betas, eps=1e-8, weight_decay=weight_decay)
    history = []
    for step in range(steps):
        param.grad = grads[step].clone()
        optimizer.step()
        history.append(param.detach().clone())
    state = optimizer.state[param]
    return {
        "op": "adam",
        "config": {"lr": lr, "betas": list(betas), "eps": 1e-8, "weight_decay": weight_decay, "steps": steps},
        "inputs": {"param": encode(start), "grads": encode(grads)},
        "outputs": {"params": encode(torch.stack(history)), "exp_avg": encode(state["exp_avg"]),
                    "exp_avg_sq": encode(state["exp_avg_sq"])},
    }


def make_ops():
    cases = {}
    conv_cases(cases)
    dense_and_pointwise_cases(cases)
    norm_cases(cases)
    layout_and_loss_cases(cases)
    cases["adam"] = adam_case(1e-3, (0.9, 0.999), 0.0)
    cases["adam_weight_decay"] = adam_case(1e-2, (0.5, 0.999), 0.01)
    return {"format": "xraygen-torch-ops-1", "torch_version": torch.__version__, "dtype": "float32", "seed": 0,
            "cases": cases}


CONVNET_DESCRIPTION = {
    "summary": "Conv2d -> BatchNorm2d -> LeakyReLU -> ConvTranspose2d -> Tanh, trained 5 Adam steps in train mode",
    "layers": [
        {"name": "conv", "type": "Conv2d", "in_channels": 2, "out_channels": 4, "kernel_size": 3, "stride": 1,
         "padding": 1, "bias": False, "params": ["conv.weight"]},
        {"name": "bn", "type": "BatchNorm2d", "num_features": 4, "eps": 1e-5, "momentum": 0.1,
         "params": ["bn.weight", "bn.bias"],
         "buffers": ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]},
        {"name": "act", "type": "LeakyReLU", "negative_slope": 0.2},
        {"name": "deconv", "type": "ConvTranspose2d", "in_channels": 4, "out_channels": 3, "kernel_size": 4,
         "stride": 2, "padding": 1, "output_padding": 0, "bias": True, "params": ["deconv.weight", "deconv.bias"]},
        {"name": "out", "type": "Tanh"},
    ],
    "why_conv_has_no_bias": "a bias right before BatchNorm has an exactly zero gradient; Adam turns the "
                            "rounding noise of that zero into lr-sized steps, which no two implementations share",
    "input_shape": [2, 2, 6, 6],
    "output_shape": [2, 3, 12, 12],
    "loss": "mse_loss(net(input), target), mean reduction",
    "optimizer": {"type": "Adam", "lr": 1e-2, "betas": [0.5, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                  "params_order": ["conv.weight", "bn.weight", "bn.bias", "deconv.weight", "deconv.bias"]},
    "steps": 5,
    "loop": "for each step: zero grads; loss = mse(net(input), target) (train mode, so BN uses batch statistics "
            "and updates its running stats); losses[step] = loss; loss.backward(); optimizer.step()",
    "init": "PyTorch default init from torch.manual_seed(1234); then bn.weight = 1 + 0.1 randn, bn.bias = 0.1 randn",
}


def build_convnet(dtype):
    return torch.nn.Sequential(OrderedDict([
        ("conv", torch.nn.Conv2d(2, 4, 3, 1, 1, bias=False)),
        ("bn", torch.nn.BatchNorm2d(4, eps=1e-5, momentum=0.1)),
        ("act", torch.nn.LeakyReLU(0.2)),
        ("deconv", torch.nn.ConvTranspose2d(4, 3, 4, 2, 1, bias=True)),
        ("out", torch.nn.Tanh()),
    ])).to(dtype)


def make_adam_convnet():
    torch.manual_seed(1234)
    template = build_convnet(torch.float32)
    with torch.no_grad():
        template.bn.weight.copy_(1 + 0.1 * torch.randn(4))
        template.bn.bias.copy_(0.1 * torch.randn(4))
    initial = {name: value.detach().clone() for name, value in template.state_dict().items()}
    net_input = torch.randn(2, 2, 6, 6)
    target = torch.rand(2, 3, 12, 12) * 2 - 1
    runs = {}
    for label, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        net = build_convnet(dtype)
        net.load_state_dict({name: value.clone() for name, value in initial.items()})
        net.train()
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999), eps=1e-8)
        losses = []
        for _ in range(CONVNET_DESCRIPTION["steps"]):
            optimizer.zero_grad()
            loss = F.mse_loss(net(net_input.to(dtype)), target.to(dtype))
            losses.append(loss.item())
            loss.backward()
            optimizer.step()
        runs[label] = {"losses": losses, "state_dict": {name: encode(v) for name, v in net.state_dict().items()}}
    return {"format": "xraygen-adam-convnet-1", "torch_version": torch.__version__,
            "description": CONVNET_DESCRIPTION, "input": encode(net_input), "target": encode(target),
            "initial_state_dict": {name: encode(v) for name, v in initial.items()}, "runs": runs}


def write(name, content):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as handle:
        json.dump(content, handle, separators=(",", ":"))
        handle.write("\n")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    write("ops.json", make_ops())
    write("adam_convnet.json", make_adam_convnet())
