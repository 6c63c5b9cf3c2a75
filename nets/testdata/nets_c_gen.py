#!/usr/bin/python3
"""Reference data for the nets-C families (vit, mixer, convnext).

Run from the repository root with Debian's python3-torch 1.13 and
python3-torchvision 0.14:

    /usr/bin/python3 nets/testdata/nets_c_gen.py

For each case it builds a small model in PyTorch (seeded), replaces every parameter
by random values (so that zero-initialised heads and tiny layer scales do not hide
anything), puts it in eval mode and writes, under nets/testdata/<family>/:

    <case>.safetensors      the state_dict (float32)
    <case>_io.safetensors   "input" (2, C, H, W), "logits" and "features" (the
                            input of the final classifier layer) in eval mode

Cases (the Go tests build the same network at the width given in the name):

    vit/vit_small_cifar_w0.125      torchvision's VisionTransformer with the
                                    vit_small configuration at width 1/8: patch 4,
                                    7 layers, 4 heads, hidden 32, MLP 64, 32×32
    convnext/convnext_tiny_imagenet_w0.0625
                                    torchvision's ConvNeXt, convnext_tiny stages at
                                    width 1/16 (6, 12, 24, 48 channels), 32×32
    convnext/convnext_tiny_cifar_w0.03125
                                    the same at width 1/32 (3, 6, 12, 24) with the
                                    CIFAR 2×2 stride-2 stem, 32×32
    mixer/mlp_mixer_cifar_w0.125    an MLP-Mixer written here from torch.nn modules
                                    with timm's key names: patch 4, hidden 32,
                                    token MLP 16, channel MLP 128, 8 blocks, 32×32

The safetensors files are written by hand (8-byte little-endian header length,
JSON header, raw little-endian data): there is no safetensors package here.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.vision_transformer import VisionTransformer

HERE = os.path.dirname(os.path.abspath(__file__))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def randomize(model, gen):
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


def run_case(family, case, model, head, in_channels=3, size=32):
    gen = torch.Generator().manual_seed(1234)
    randomize(model, gen)
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


def main():
    torch.manual_seed(0)
    vit = VisionTransformer(image_size=32, patch_size=4, num_layers=7, num_heads=4, hidden_dim=32, mlp_dim=64,
                            num_classes=10)
    run_case("vit", "vit_small_cifar_w0.125", vit, vit.heads)

    cn = convnext([6, 12, 24, 48], 10)
    run_case("convnext", "convnext_tiny_imagenet_w0.0625", cn, cn.classifier[2])

    cn = convnext([3, 6, 12, 24], 10)
    cn.features[0][0] = nn.Conv2d(3, 3, kernel_size=2, stride=2)
    run_case("convnext", "convnext_tiny_cifar_w0.03125", cn, cn.classifier[2])

    mx = Mixer(32, 4, 32, 8, 10)
    run_case("mixer", "mlp_mixer_cifar_w0.125", mx, mx.head)


if __name__ == "__main__":
    main()
