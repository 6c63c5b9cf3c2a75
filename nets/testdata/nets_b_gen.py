#!/usr/bin/python3
"""Reference data for the nets-B families (inception, googlenet, mobilenet,
shufflenet, efficientnet, regnet, squeezenet, mnasnet).

Run from the repository root with Debian's python3-torch 1.13 and
python3-torchvision 0.14:

    /usr/bin/python3 nets/testdata/nets_b_gen.py           # parity files
    /usr/bin/python3 nets/testdata/nets_b_gen.py counts    # facts printed for the Go constants

Every model is torchvision's own class at a small width (its width_mult/alpha
argument where it has one, otherwise its constructor arguments or block factories
with every channel count c replaced by max(1, floor(c*w + 0.5)), the rule of
nets.Builder.Ch). The CIFAR-style variants are the same torchvision modules with
the strides/paddings/pools changed as documented in the Go files (for googlenet and
inception_v3 the stem replaced as huyvnphan/PyTorch_CIFAR10 does).

For each case it writes, under nets/testdata/<family>/:

    <case>.safetensors     the state_dict after randomising the BatchNorm affine
                           parameters and running statistics (float32, int64
                           num_batches_tracked)
    <case>_io.safetensors  "input" (2, C, H, W); eval mode: "logits", "features"
                           (the input of the final classifier layer, see the Go
                           doc comments); then one training-mode forward of the
                           same input: "train_features" (before any dropout; not
                           for efficientnet, whose stochastic depth is random) and
                           "after_train.<name>" for every BatchNorm buffer after it

The safetensors format is written by hand (8-byte little-endian header length,
JSON header, raw little-endian data).
"""
import json
import math
import os
import struct
import sys

import functools
import importlib

import torch
import torch.nn as nn
import torchvision.models as tvm

# the modules (torchvision.models re-exports functions with some of these names)
tve = importlib.import_module("torchvision.models.efficientnet")
tvg = importlib.import_module("torchvision.models.googlenet")
tvi = importlib.import_module("torchvision.models.inception")
tvr = importlib.import_module("torchvision.models.regnet")
tvs = importlib.import_module("torchvision.models.shufflenetv2")
tvq = importlib.import_module("torchvision.models.squeezenet")

HERE = os.path.dirname(os.path.abspath(__file__))
CODES = {torch.float32: "F32", torch.int64: "I64"}


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def ch(c, w):
    return max(1, int(math.floor(c * w + 0.5)))


def randomise(model, gen):
    """Random BatchNorm affine parameters and running statistics, and classifier
    layers with std 1/sqrt(fan-in) so that the logits are of order 1 (the
    torchvision initialisations give tiny logits, which would make an absolute
    tolerance meaningless)."""
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if isinstance(model, tvq.SqueezeNet):
        heads.append(model.classifier[1])
    for m in heads:
        with torch.no_grad():
            m.weight.normal_(0, 1 / math.sqrt(m.weight[0].numel()), generator=gen)
            m.bias.normal_(0, 0.1, generator=gen)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(3)
    if isinstance(model, tvr.RegNet):
        # 22 residual additions: damp the residual branches so the logits stay
        # of order 1
        for m in model.modules():
            if isinstance(m, tvr.BottleneckTransform):
                with torch.no_grad():
                    m.c[1].weight.mul_(0.2)


# ---- builders: (model, the layer whose input is the features: the dropout before
# the final Linear where there is one, else the final Linear) ----

def mobilenet_v2(style, w):
    m = tvm.mobilenet_v2(num_classes=10, width_mult=w)
    if style == "cifar":
        m.features[0][0].stride = (1, 1)
        # second setting (t=6, c=24): its first block is features[2]; the depthwise
        # conv is conv[1][0]
        m.features[2].conv[1][0].stride = (1, 1)
        # with stride 1 the block rule adds the skip connection when the channels
        # agree (at small widths 16 and 24 both round to 8)
        m.features[2].use_res_connect = m.features[2].conv[0][0].in_channels == m.features[2].out_channels
    return m, m.classifier[0]


def mobilenet_v3_small(style, w):
    m = tvm.mobilenet_v3_small(num_classes=10, width_mult=w)
    if style == "cifar":
        m.features[0][0].stride = (1, 1)
        m.features[1].block[0][0].stride = (1, 1)  # C1 block: no expansion, depthwise first
        m.features[1].use_res_connect = True  # stride 1 and 16 -> 16 channels now
    return m, m.classifier[2]


def shufflenet_channels(w):
    even = lambda c: 2 * max(1, int(math.floor(c * w / 2 + 0.5)))
    return [ch(24, w), even(116), even(232), even(464), ch(1024, w)]


def shufflenet_v2_x1_0(style, w):
    m = tvs.ShuffleNetV2([4, 8, 4], shufflenet_channels(w), num_classes=10)
    if style == "cifar":
        m.conv1[0].stride = (1, 1)
        m.maxpool = nn.Identity()
    return m, m.fc


def efficientnet_b0(style, w):
    setting, last = tve._efficientnet_conf("efficientnet_b0", width_mult=w, depth_mult=1.0)
    m = tve.EfficientNet(setting, 0.2, num_classes=10, last_channel=last)
    if style == "cifar":
        m.features[0][0].stride = (1, 1)
        m.features[2][0].block[1][0].stride = (1, 1)  # expansion at block[0], depthwise at block[1]
        blk = m.features[2][0]
        blk.use_res_connect = blk.block[0][0].in_channels == blk.out_channels  # see mobilenet_v2
    return m, m.classifier[0]


def regnet_widths(w):
    widths = [ch(c, w) for c in [32, 64, 160, 400]]
    return tvr.BlockParams._adjust_widths_groups_compatibilty(widths, [1.0] * 4, [16] * 4)


def regnet_x_400mf(style, w):
    widths, groups = regnet_widths(w)
    params = tvr.BlockParams(depths=[1, 2, 7, 12], widths=widths, group_widths=groups,
                             bottleneck_multipliers=[1.0] * 4, strides=[2] * 4)
    m = tvr.RegNet(params, num_classes=10, stem_width=ch(32, w))
    if style == "cifar":
        m.stem[0].stride = (1, 1)
        first = m.trunk_output.block1[0]
        first.proj[0].stride = (1, 1)
        first.f.b[0].stride = (1, 1)
    return m, m.fc


def squeezenet1_1(style, w):
    orig = tvq.Fire
    tvq.Fire = lambda i, s, e1, e3: orig(ch(i, w), ch(s, w), ch(e1, w), ch(e3, w))
    try:
        m = tvq.SqueezeNet("1_1", num_classes=10)
    finally:
        tvq.Fire = orig
    m.features[0] = nn.Conv2d(3, ch(64, w), kernel_size=3, stride=2)
    m.classifier[1] = nn.Conv2d(ch(512, w), 10, kernel_size=1)
    if style == "cifar":
        m.features[0].stride = (1, 1)
        m.features[0].padding = (1, 1)
    return m, None  # features: the pooled output of m.features


def mnasnet1_0(style, w):
    m = tvm.MNASNet(w, num_classes=10)
    if style == "cifar":
        m.layers[0].stride = (1, 1)
        m.layers[8][0].layers[3].stride = (1, 1)
        blk = m.layers[8][0]
        blk.apply_residual = blk.layers[0].in_channels == blk.layers[6].out_channels  # see mobilenet_v2
    return m, m.classifier[0]


def scaled_basic_conv(w, module):
    def make(i, o, **kw):
        return module.BasicConv2d(i if i == 3 else ch(i, w), ch(o, w), **kw)
    return make


def googlenet(style, w):
    conv = scaled_basic_conv(w, tvg)
    # the Inception modules get unscaled channel counts: the BasicConv2d factory
    # scales them
    inception = functools.partial(tvg.Inception, conv_block=conv)
    m = tvg.GoogLeNet(num_classes=10, aux_logits=False, init_weights=False, blocks=[conv, inception, tvg.InceptionAux])
    m.fc = nn.Linear(ch(1024, w), 10)
    if style == "cifar":
        m.conv1 = conv(3, 192, kernel_size=3, stride=1, padding=1)
        m.maxpool1 = m.conv2 = m.conv3 = m.maxpool2 = nn.Identity()
        m.maxpool3 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=False)
        m.maxpool4 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=False)
    return m, m.dropout


def inception_v3(style, w):
    conv = scaled_basic_conv(w, tvi)
    # every block gets unscaled channel counts (including InceptionA's
    # pool_features and InceptionC's channels_7x7): the BasicConv2d factory scales
    # all of them
    blocks = [conv] + [functools.partial(c, conv_block=conv) for c in
                       (tvi.InceptionA, tvi.InceptionB, tvi.InceptionC, tvi.InceptionD, tvi.InceptionE)]
    blocks.append(tvi.InceptionAux)
    m = tvi.Inception3(num_classes=10, aux_logits=False, init_weights=False, inception_blocks=blocks)
    m.fc = nn.Linear(ch(2048, w), 10)
    if style == "cifar":
        m.Conv2d_1a_3x3 = conv(3, 192, kernel_size=3, stride=1, padding=1)
        m.Conv2d_2a_3x3 = m.Conv2d_2b_3x3 = m.Conv2d_3b_1x1 = m.Conv2d_4a_3x3 = nn.Identity()
        m.maxpool1 = m.maxpool2 = nn.Identity()
    return m, m.dropout


# family dir, arch, builder, width, {style: input side}, whether both styles have
# the same state_dict (then one weights file serves both)
CASES = [
    ("mobilenet", "mobilenet_v2", mobilenet_v2, 0.1, {"cifar": 32, "imagenet": 64}, True),
    ("mobilenet", "mobilenet_v3_small", mobilenet_v3_small, 0.25, {"cifar": 32, "imagenet": 64}, True),
    ("shufflenet", "shufflenet_v2_x1_0", shufflenet_v2_x1_0, 0.25, {"cifar": 32, "imagenet": 64}, True),
    ("efficientnet", "efficientnet_b0", efficientnet_b0, 0.1, {"cifar": 32, "imagenet": 64}, True),
    ("regnet", "regnet_x_400mf", regnet_x_400mf, 0.0625, {"cifar": 32, "imagenet": 64}, True),
    ("squeezenet", "squeezenet1_1", squeezenet1_1, 0.25, {"cifar": 32, "imagenet": 64}, True),
    ("mnasnet", "mnasnet1_0", mnasnet1_0, 0.1, {"cifar": 32, "imagenet": 64}, True),
    ("googlenet", "googlenet", googlenet, 0.125, {"cifar": 32, "imagenet": 64}, False),
    ("inception", "inception_v3", inception_v3, 0.0625, {"cifar": 32, "imagenet": 107}, False),
]


def run_case(family, arch, build, w, style, size, seed, shared):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model, last = build(style, w)
    randomise(model, gen)
    model.eval()
    x = torch.randn(2, 3, size, size, generator=gen)
    captured = {}
    if last is not None:
        hook = last.register_forward_pre_hook(lambda mod, inp: captured.__setitem__("f", inp[0].detach().flatten(1).clone()))
    else:
        hook = model.features.register_forward_hook(
            lambda mod, inp, out: captured.__setitem__("f", out.detach().mean([2, 3]).clone()))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        logits = model(x)
    io = {"input": x, "logits": logits, "features": captured["f"]}
    model.train()
    with torch.no_grad():
        model(x)
    if arch != "efficientnet_b0":
        io["train_features"] = captured["f"]
    hook.remove()
    for k, v in model.state_dict().items():
        if "running_" in k or "num_batches_tracked" in k:
            io["after_train." + k] = v
    case = f"{arch}_{style}_w{w}"
    weights = f"{arch}_w{w}" if shared else case
    d = os.path.join(HERE, family)
    os.makedirs(d, exist_ok=True)
    save_safetensors(os.path.join(d, weights + ".safetensors"), state)
    save_safetensors(os.path.join(d, case + "_io.safetensors"), io)
    n = sum(p.numel() for p in model.parameters())
    print(f"{case}: {n} parameters, |logits| max {logits.abs().max():.3g}, |features| max "
          f"{io['features'].abs().max():.3g}, weights {os.path.getsize(os.path.join(d, weights + '.safetensors'))} bytes")


def macs(model, size):
    """Multiply-accumulates of convolutions and Linear layers for one image, counted
    the way nets.Meter does."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            total[0] += out[0].numel() * mod.weight[0].numel()
        else:
            total[0] += inp[0][0].numel() // mod.in_features * mod.in_features * mod.out_features

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return total[0]


def counts():
    for family, arch, build, w, sizes, shared in CASES:
        for style, size in [("cifar", 32), ("imagenet", 224)]:
            model, _ = build(style, 1.0)
            print(f"MACs {arch} {style} {size}: {macs(model, size)}")
    m = tvm.inception_v3(weights=None, num_classes=10, aux_logits=False, init_weights=False)
    sd = m.state_dict()
    print("inception_v3 imagenet:", sum(p.numel() for p in m.parameters()), "parameters,", len(sd), "entries")
    rows = [[k, list(v.shape), "buffer" if ("running_" in k or "num_batches" in k) else "param"] for k, v in sd.items()]
    path = os.path.join(HERE, "inception", "inception_v3_imagenet_state_dict.json")
    with open(path + ".tmp", "w") as f:
        json.dump({"constructor": "torchvision.models.inception_v3(num_classes=10, aux_logits=False)",
                   "total_params": sum(p.numel() for p in m.parameters()), "state_dict": rows}, f, separators=(",", ":"))
    os.replace(path + ".tmp", path)
    for name, side in [("googlenet", 15), ("inception_v3", 75), ("squeezenet1_1", 17)]:
        print(name, "torchvision min_size meta:", tvm.get_model_weights(name).DEFAULT.meta["min_size"])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "counts":
        counts()
        return
    for i, (family, arch, build, w, sizes, shared) in enumerate(CASES):
        for j, (style, size) in enumerate(sizes.items()):
            # shared weights: the same seed builds the same parameters in both styles
            seed = 100 * i + (0 if shared else 10 * j)
            run_case(family, arch, build, w, style, size, seed, shared)


if __name__ == "__main__":
    main()
