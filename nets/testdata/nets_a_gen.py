#!/usr/bin/python3
"""Reference data for the nets-A families (resnet, vgg, densenet, lenet, preact_resnet).

Run from the repository root with Debian's python3-torch 1.13 and
python3-torchvision 0.14:

    /usr/bin/python3 nets/testdata/nets_a_gen.py          # parity files
    /usr/bin/python3 nets/testdata/nets_a_gen.py counts   # parameter counts only

For each parity case it builds a small model in PyTorch (seeded), puts it in eval
mode and writes, under nets/testdata/<family>/:

    <case>.safetensors      the state_dict (float32 parameters and running
                            statistics, int64 num_batches_tracked)
    <case>_io.safetensors   "input" (2, C, H, W), "logits" and "features" in eval
                            mode, and "train_logits": the logits of one
                            training-mode forward of the same input (batch
                            statistics) made after the eval outputs

The safetensors files are written by hand (8-byte little-endian header length,
JSON header, raw little-endian data), there is no safetensors package here.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import resnet as tvr
from torchvision.models import vgg as tvv

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
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
    """Channel scaling as nets.Builder.Ch: round half away from zero, at least 1."""
    if w == 1:
        return c
    return max(1, int(math.floor(c * w + 0.5)))


# ---------------------------------------------------------------- ResNet (torchvision blocks)

class ScaledResNet(tvr.ResNet):
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


# ---------------------------------------------------------------- counts

def nparams(m):
    return sum(p.numel() for p in m.parameters())


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
    for k, v in out.items():
        print("%-30s %d" % (k, v))


# ---------------------------------------------------------------- parity files

def parity(family, case, model, feats, head, size, in_ch=3, seed=1, train=True):
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
                io["after_train:" + k] = v
                if k.endswith("num_batches_tracked"):
                    break  # the first BatchNorm is enough
    write_safetensors(os.path.join(d, case + "_io.safetensors"), io)
    print("%s/%s: %d parameters, logits %s" % (family, case, nparams(model), tuple(logits.shape)))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "counts":
        counts()
        return
    torch.manual_seed(0)
    parity("resnet", "resnet18_cifar_w0.0625", ScaledResNet(tvr.BasicBlock, [2, 2, 2, 2], 0.0625, True),
           resnet_features, lambda m: m.fc, 32)
    torch.manual_seed(0)
    parity("resnet", "resnet50_imagenet_w0.0625", ScaledResNet(tvr.Bottleneck, [3, 4, 6, 3], 0.0625, False),
           resnet_features, lambda m: m.fc, 64)
    torch.manual_seed(0)
    parity("lenet", "lenet_cifar", LeNet(), lambda m, x: m.features(x), lambda m: m.fc3, 32)
    torch.manual_seed(0)
    parity("vgg", "vgg11_bn_cifar_w0.0625", scaled_vgg("vgg11_bn", 0.0625, True), vgg_features, lambda m: m.classifier[6], 32,
           train=False)
    torch.manual_seed(0)
    parity("densenet", "densenet121_cifar_w0.0625", scaled_densenet("densenet121", 0.0625, True),
           densenet_features, lambda m: m.classifier, 32)
    torch.manual_seed(0)
    parity("preact_resnet", "preact_resnet18_cifar_w0.0625", PreActNet(False, 0.0625),
           lambda m, x: m.features(x), lambda m: m.linear, 32)
    torch.manual_seed(0)
    parity("preact_resnet", "wide_resnet28_10_cifar_w0.05", PreActNet(True, 0.05),
           lambda m, x: m.features(x), lambda m: m.fc, 32)


if __name__ == "__main__":
    main()
