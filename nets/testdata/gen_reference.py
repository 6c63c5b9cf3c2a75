#!/usr/bin/python3
"""Reference outputs of PyTorch for the parity tests of package nets.

Needs Debian's python3-torch 1.13 and python3-torchvision 0.14 (the Go tests do
not: they read what this script wrote under nets/testdata/). Run from the
repository root:

    /usr/bin/python3 nets/testdata/gen_reference.py [FAMILY ...]   # parity files
    /usr/bin/python3 nets/testdata/gen_reference.py counts         # facts for archTable

Every parity case is a small (reduced-width) PyTorch model, seeded, whose state
and outputs go to nets/testdata/<family>/:

    <weights>.safetensors   the state_dict (float32 parameters and running
                            statistics, int64 num_batches_tracked)
    <case>_io.safetensors   "input" (2, C, H, W); in evaluation mode "logits" and
                            "features" (the input of the final classifier layer);
                            then, for models with BatchNorm, after one
                            training-mode forward of the same input:
                            "train_logits" or "train_features" (not where dropout
                            or stochastic depth makes them random) and
                            "after_train.<name>" for the BatchNorm buffers

archTable (nets/archtable_test.go) names the files of each architecture. The
models come in three recipes, by how their parameters are made non-trivial:

  - bn_uniform (resnet, vgg, densenet, lenet, preact_resnet): torchvision's
    blocks or the reference definitions below at a reduced width; BatchNorm
    affine parameters and running statistics drawn from the global generator,
    counters at 7; "train_logits" and the first BatchNorm's buffers.
  - bn_generator (mobilenet, shufflenet, efficientnet, regnet, squeezenet,
    mnasnet, googlenet, inception): torchvision's own classes at a small width
    (width_mult/alpha, or every channel count c replaced by
    max(1, floor(c*w + 0.5)), the rule of nets.Builder.Ch); BatchNorm and
    classifier layers drawn from a seeded torch.Generator, counters at 3;
    "train_features" and every BatchNorm buffer. The CIFAR variants change
    strides, paddings and pools as the Go files document (googlenet and
    inception_v3: huyvnphan's stem).
  - all_params (vit, convnext, mixer): every parameter replaced by random values
    of a sensible scale, so that zero-initialised heads and tiny layer scales
    hide nothing; evaluation mode only (no BatchNorm).

`counts` prints the parameter counts and the multiply-accumulates (forward hooks
on Conv2d and Linear, counted the way nets.Meter does) that archTable quotes, and
writes nets/testdata/inception/inception_v3_imagenet_state_dict.json, the
ordered state_dict of torchvision's inception_v3(num_classes=10,
aux_logits=False), which ../shared/nets lacks.

The safetensors files are written by hand (8-byte little-endian header length,
JSON header, raw little-endian data): there is no safetensors package here.
"""
import functools
import importlib
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.models as tvm
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.vision_transformer import VisionTransformer

# the modules (torchvision.models re-exports functions with some of these names)
tvres = importlib.import_module("torchvision.models.resnet")
tvv = importlib.import_module("torchvision.models.vgg")
tve = importlib.import_module("torchvision.models.efficientnet")
tvg = importlib.import_module("torchvision.models.googlenet")
tvi = importlib.import_module("torchvision.models.inception")
tvreg = importlib.import_module("torchvision.models.regnet")
tvs = importlib.import_module("torchvision.models.shufflenetv2")
tvq = importlib.import_module("torchvision.models.squeezenet")

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors):
    """Writes tensors (a dict) to path atomically, names sorted."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def ch(c, w):
    """Channel scaling as nets.Builder.Ch: round half away from zero, at least 1."""
    if w == 1:
        return c
    return max(1, int(math.floor(c * w + 0.5)))


def nparams(m):
    return sum(p.numel() for p in m.parameters())


# ================================================================ recipe bn_uniform

# ---------------------------------------------------------------- ResNet (torchvision blocks)

class ScaledResNet(tvres.ResNet):
    """torchvision's ResNet with scaled stage widths (its __init__ fixes 64..512),
    built from torchvision's own blocks and _make_layer. cifar: huyvnphan's stem
    (3×3/1 conv, max-pool kept)."""

    def __init__(self, block, layers, width, cifar, num_classes=10, in_ch=3, width_per_group=64):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = ch(64, width)
        self.dilation = 1
        self.groups = 1
        self.base_width = width_per_group
        if cifar:
            self.conv1 = nn.Conv2d(in_ch, self.inplanes, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_ch, self.inplanes, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, ch(64, width), layers[0])
        self.layer2 = self._make_layer(block, ch(128, width), layers[1], stride=2)
        self.layer3 = self._make_layer(block, ch(256, width), layers[2], stride=2)
        self.layer4 = self._make_layer(block, ch(512, width), layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(ch(512, width) * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def resnet_features(m, x):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
    return torch.flatten(m.avgpool(x), 1)


# ---------------------------------------------------------------- pre-activation ResNets

class PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride, shortcut_name, dropout=0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.dropout = dropout
        self.sc_name = None
        if stride != 1 or cin != cout:
            self.sc_name = shortcut_name
            setattr(self, shortcut_name, nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False)))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        sc = getattr(self, self.sc_name)(out) if self.sc_name else x
        out = self.conv1(out)
        out = F.relu(self.bn2(out))
        out = F.dropout(out, self.dropout, self.training)
        return self.conv2(out) + sc


class PreActNet(nn.Module):
    """kuangliu's PreActResNet18 (wrn=False) or WRN-28-k (wrn=True)."""

    def __init__(self, wrn, width, num_classes=10, in_ch=3, widen=10, depth=28):
        super().__init__()
        if wrn:
            stem, widths, strides, n = 16, [16 * widen, 32 * widen, 64 * widen], [1, 2, 2], (depth - 4) // 6
            scn, head = "downsample", "fc"
        else:
            stem, widths, strides, n = 64, [64, 128, 256, 512], [1, 2, 2, 2], 2
            scn, head = "shortcut", "linear"
        c = ch(stem, width)
        self.conv1 = nn.Conv2d(in_ch, c, 3, 1, 1, bias=False)
        for s, (w, st) in enumerate(zip(widths, strides)):
            blocks = []
            for i in range(n):
                blocks.append(PreActBlock(c, ch(w, width), st if i == 0 else 1, scn))
                c = ch(w, width)
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        self.nstages = len(widths)
        self.wrn = wrn
        if wrn:
            self.bn = nn.BatchNorm2d(c)
        self.head_name = head
        setattr(self, head, nn.Linear(c, num_classes))
        if wrn:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.Linear):
                    m.bias.data.zero_()

    def features(self, x):
        x = self.conv1(x)
        for s in range(self.nstages):
            x = getattr(self, "layer%d" % (s + 1))(x)
        if self.wrn:
            x = F.relu(self.bn(x))
        return x.mean((2, 3))

    def forward(self, x):
        return getattr(self, self.head_name)(self.features(x))


# ---------------------------------------------------------------- LeNet (kuangliu)

class LeNet(nn.Module):
    def __init__(self, in_ch=3, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return F.relu(self.fc2(x))

    def forward(self, x):
        return self.fc3(self.features(x))


# ---------------------------------------------------------------- VGG / DenseNet (torchvision)

VGG_CFGS = {"vgg11_bn": "A", "vgg13_bn": "B", "vgg16_bn": "D", "vgg19_bn": "E"}


def scaled_vgg(name, width, cifar, num_classes=10):
    cfg = [v if v == "M" else ch(v, width) for v in tvv.cfgs[VGG_CFGS[name]]]
    m = tvv.VGG(tvv.make_layers(cfg, batch_norm=True), num_classes=num_classes)
    c, h = cfg[-2], ch(4096, width)
    p = 1 if cifar else 7
    m.avgpool = nn.AdaptiveAvgPool2d((p, p))
    m.classifier = nn.Sequential(
        nn.Linear(c * p * p, h), nn.ReLU(True), nn.Dropout(),
        nn.Linear(h, h), nn.ReLU(True), nn.Dropout(), nn.Linear(h, num_classes))
    for l in m.classifier:
        if isinstance(l, nn.Linear):
            nn.init.normal_(l.weight, 0, 0.01)
            nn.init.constant_(l.bias, 0)
    return m


def vgg_features(m, x):
    x = torch.flatten(m.avgpool(m.features(x)), 1)
    return m.classifier[:6](x)


DENSENETS = {"densenet121": (32, (6, 12, 24, 16), 64), "densenet161": (48, (6, 12, 36, 24), 96),
             "densenet169": (32, (6, 12, 32, 32), 64)}


def scaled_densenet(name, width, cifar, num_classes=10):
    g, blocks, init = DENSENETS[name]
    m = torchvision.models.DenseNet(ch(g, width), blocks, ch(init, width), num_classes=num_classes)
    if cifar:
        m.features.conv0 = nn.Conv2d(3, ch(init, width), 3, 1, 1, bias=False)
        nn.init.kaiming_normal_(m.features.conv0.weight)
    return m


def densenet_features(m, x):
    return torch.flatten(F.adaptive_avg_pool2d(F.relu(m.features(x)), 1), 1)


def bn_uniform(family, case, model, feats, head, size, in_ch=3, seed=1, train=True):
    """The bn_uniform recipe: feats(model, x) gives the features, head(model) the
    final layer."""
    torch.manual_seed(seed)
    model.eval()
    for m in model.modules():  # non-trivial running statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.num_batches_tracked.fill_(7)
        if isinstance(m, nn.Linear) and m.weight.std() < 0.02:  # VGG's N(0, 0.01): give the
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5))   # logits a useful size
            nn.init.uniform_(m.bias, -0.1, 0.1)
    x = torch.randn(2, in_ch, size, size)
    with torch.no_grad():
        logits = model(x)
        f = feats(model, x)
        assert torch.allclose(head(model)(f), logits, atol=1e-5), case
    sd = {k: v for k, v in model.state_dict().items()}
    d = os.path.join(HERE, family)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, case + ".safetensors"), sd)
    io = {"input": x, "logits": logits, "features": f}
    if train:  # only for models without dropout (its random mask cannot match)
        model.train()
        with torch.no_grad():
            io["train_logits"] = model(x)
        for k, v in model.state_dict().items():
            if k.endswith("running_mean") or k.endswith("running_var") or k.endswith("num_batches_tracked"):
                io["after_train." + k] = v
                if k.endswith("num_batches_tracked"):
                    break  # the first BatchNorm is enough
    write_safetensors(os.path.join(d, case + "_io.safetensors"), io)
    print("%s/%s: %d parameters, logits %s" % (family, case, nparams(model), tuple(logits.shape)))


# ================================================================ recipe bn_generator


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
    if isinstance(model, tvreg.RegNet):
        # 22 residual additions: damp the residual branches so the logits stay
        # of order 1
        for m in model.modules():
            if isinstance(m, tvreg.BottleneckTransform):
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
    return tvreg.BlockParams._adjust_widths_groups_compatibilty(widths, [1.0] * 4, [16] * 4)


def regnet_x_400mf(style, w):
    widths, groups = regnet_widths(w)
    params = tvreg.BlockParams(depths=[1, 2, 7, 12], widths=widths, group_widths=groups,
                             bottleneck_multipliers=[1.0] * 4, strides=[2] * 4)
    m = tvreg.RegNet(params, num_classes=10, stem_width=ch(32, w))
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


def bn_generator(family, arch, build, w, style, size, seed, shared):
    """The bn_generator recipe: build(style, w) gives the model and the layer whose
    input is the features (None: the pooled output of model.features); shared:
    both styles have the same state_dict, and one weights file serves both."""
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
    write_safetensors(os.path.join(d, weights + ".safetensors"), state)
    write_safetensors(os.path.join(d, case + "_io.safetensors"), io)
    n = sum(p.numel() for p in model.parameters())
    print(f"{case}: {n} parameters, |logits| max {logits.abs().max():.3g}, |features| max "
          f"{io['features'].abs().max():.3g}, weights {os.path.getsize(os.path.join(d, weights + '.safetensors'))} bytes")


# ================================================================ recipe all_params


def randomize_all(model, gen):
    """Random parameters of a sensible scale: weights ~ N(0, 1/fan_in), norm weights
    ~ 1 + N(0, 0.1²), biases ~ N(0, 0.1²), layer scales ~ U(0.5, 1), embeddings and
    tokens ~ N(0, 0.5²)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen)
            if name.endswith("layer_scale"):
                p.copy_(0.5 + 0.5 * torch.rand(p.shape, generator=gen))
            elif name.endswith(("class_token", "pos_embedding")):
                p.copy_(0.5 * r)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(r / math.sqrt(fan_in))
            elif "ln" in name or "norm" in name or name.startswith("classifier.0"):
                p.copy_(1 + 0.1 * r if name.endswith("weight") else 0.1 * r)
            else:
                p.copy_(0.1 * r)


def all_params(family, case, model, head, in_channels=3, size=32):
    """The all_params recipe: head is the final layer, whose input is the
    features."""
    gen = torch.Generator().manual_seed(1234)
    randomize_all(model, gen)
    model.eval()
    captured = {}

    def keep_input(module, inputs, output):
        captured["features"] = inputs[0].detach().clone()  # returns None: the output is kept

    hook = head.register_forward_hook(keep_input)
    x = torch.randn(2, in_channels, size, size, generator=gen)
    with torch.no_grad():
        logits = model(x)
    hook.remove()
    sd = model.state_dict()
    write_safetensors(os.path.join(HERE, family, case + ".safetensors"), sd)
    write_safetensors(os.path.join(HERE, family, case + "_io.safetensors"),
                      {"input": x, "logits": logits, "features": captured["features"]})
    print(f"{family}/{case}: {sum(p.numel() for p in model.parameters())} parameters, logits {tuple(logits.shape)}")


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class MixerBlock(nn.Module):
    def __init__(self, dim, tokens, tokens_dim, channels_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens = Mlp(tokens, tokens_dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = Mlp(dim, channels_dim)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, in_channels, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, patch, stride=patch)


class Mixer(nn.Module):
    def __init__(self, image, patch, dim, depth, classes, in_channels=3):
        super().__init__()
        tokens = (image // patch) ** 2
        self.stem = PatchEmbed(in_channels, dim, patch)
        self.blocks = nn.Sequential(*[MixerBlock(dim, tokens, dim // 2, 4 * dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.stem.proj(x).flatten(2).transpose(1, 2)
        x = self.norm(self.blocks(x))
        return self.head(x.mean(1))


def convnext(channels, classes):
    c = channels
    setting = [CNBlockConfig(c[0], c[1], 3), CNBlockConfig(c[1], c[2], 3),
               CNBlockConfig(c[2], c[3], 9), CNBlockConfig(c[3], None, 3)]
    return ConvNeXt(setting, stochastic_depth_prob=0.1, num_classes=classes)


# ================================================================ counts


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
    tv = torchvision.models
    out = {}
    for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2"]:
        m = getattr(tv, name)(num_classes=10)
        out[name + "/imagenet"] = nparams(m)
        m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)  # huyvnphan stem
        out[name + "/cifar"] = nparams(m)
    for name in VGG_CFGS:
        out[name + "/imagenet"] = nparams(getattr(tv, name)(num_classes=10))
        out[name + "/cifar"] = nparams(scaled_vgg(name, 1, True))
    for name in DENSENETS:
        out[name + "/imagenet"] = nparams(getattr(tv, name)(num_classes=10))
        out[name + "/cifar"] = nparams(scaled_densenet(name, 1, True))
    out["preact_resnet18/cifar"] = nparams(PreActNet(False, 1))
    out["preact_resnet18/cifar/in1"] = nparams(PreActNet(False, 1, in_ch=1))
    out["wide_resnet28_10/cifar"] = nparams(PreActNet(True, 1))
    out["wide_resnet28_10/cifar/100"] = nparams(PreActNet(True, 1, num_classes=100))
    out["lenet/cifar"] = nparams(LeNet())
    out["lenet/cifar/in1"] = nparams(LeNet(in_ch=1))
    # vit_small: torchvision's VisionTransformer in the CIFAR configuration
    out["vit_small/cifar"] = nparams(VisionTransformer(image_size=32, patch_size=4, num_layers=7, num_heads=4,
                                                       hidden_dim=256, mlp_dim=512, num_classes=10))
    m = VisionTransformer(image_size=32, patch_size=4, num_layers=7, num_heads=4, hidden_dim=256, mlp_dim=512,
                          num_classes=100)
    m.conv_proj = nn.Conv2d(1, 256, 4, 4)
    out["vit_small/cifar/in1/100"] = nparams(m)
    # convnext_tiny in the CIFAR style: a 2×2 stride-2 stem
    for in_ch in (3, 1):
        m = tv.convnext_tiny(num_classes=10)
        m.features[0][0] = nn.Conv2d(in_ch, 96, kernel_size=2, stride=2)
        out["convnext_tiny/cifar/in%d" % in_ch] = nparams(m)
    out["mlp_mixer/imagenet"] = nparams(Mixer(224, 16, 768, 12, 10))
    for k, v in out.items():
        print("%-30s %d" % (k, v))
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


# ================================================================ cases


def bn_uniform_cases(families):
    # (family, case, model factory, features, final layer, input side, train)
    cases = [
        ("resnet", "resnet18_cifar_w0.0625", lambda: ScaledResNet(tvres.BasicBlock, [2, 2, 2, 2], 0.0625, True),
         resnet_features, lambda m: m.fc, 32, True),
        ("resnet", "resnet50_imagenet_w0.0625", lambda: ScaledResNet(tvres.Bottleneck, [3, 4, 6, 3], 0.0625, False),
         resnet_features, lambda m: m.fc, 64, True),
        ("lenet", "lenet_cifar", LeNet, lambda m, x: m.features(x), lambda m: m.fc3, 32, True),
        # no training-mode references: the classifier's dropout is random
        ("vgg", "vgg11_bn_cifar_w0.0625", lambda: scaled_vgg("vgg11_bn", 0.0625, True), vgg_features,
         lambda m: m.classifier[6], 32, False),
        ("densenet", "densenet121_cifar_w0.0625", lambda: scaled_densenet("densenet121", 0.0625, True),
         densenet_features, lambda m: m.classifier, 32, True),
        ("preact_resnet", "preact_resnet18_cifar_w0.0625", lambda: PreActNet(False, 0.0625),
         lambda m, x: m.features(x), lambda m: m.linear, 32, True),
        ("preact_resnet", "wide_resnet28_10_cifar_w0.05", lambda: PreActNet(True, 0.05),
         lambda m, x: m.features(x), lambda m: m.fc, 32, True),
    ]
    for family, case, make, feats, head, size, train in cases:
        if family in families:
            torch.manual_seed(0)  # the model's own initialisation
            bn_uniform(family, case, make(), feats, head, size, train=train)


def bn_generator_cases(families):
    for i, (family, arch, build, w, sizes, shared) in enumerate(CASES):
        if family not in families:
            continue
        for j, (style, size) in enumerate(sizes.items()):
            # shared weights: the same seed builds the same parameters in both styles
            seed = 100 * i + (0 if shared else 10 * j)
            bn_generator(family, arch, build, w, style, size, seed, shared)


def all_params_cases(families):
    if "vit" in families:
        vit = VisionTransformer(image_size=32, patch_size=4, num_layers=7, num_heads=4, hidden_dim=32, mlp_dim=64,
                                num_classes=10)
        all_params("vit", "vit_small_cifar_w0.125", vit, vit.heads)
    if "convnext" in families:
        cn = convnext([6, 12, 24, 48], 10)
        all_params("convnext", "convnext_tiny_imagenet_w0.0625", cn, cn.classifier[2])
        cn = convnext([3, 6, 12, 24], 10)
        cn.features[0][0] = nn.Conv2d(3, 3, kernel_size=2, stride=2)
        all_params("convnext", "convnext_tiny_cifar_w0.03125", cn, cn.classifier[2])
    if "mixer" in families:
        mx = Mixer(32, 4, 32, 8, 10)
        all_params("mixer", "mlp_mixer_cifar_w0.125", mx, mx.head)


BN_UNIFORM = {"resnet", "lenet", "vgg", "densenet", "preact_resnet"}
ALL_PARAMS = {"vit", "convnext", "mixer"}


def main():
    args = sys.argv[1:]
    if args == ["counts"]:
        counts()
        return
    known = BN_UNIFORM | ALL_PARAMS | {c[0] for c in CASES}
    families = set(args) or known
    if families - known:
        sys.exit("unknown families %s (known: %s)" % (sorted(families - known), ", ".join(sorted(known))))
    bn_uniform_cases(families)
    bn_generator_cases(families)
    all_params_cases(families)


if __name__ == "__main__":
    main()
