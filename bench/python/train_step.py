"""PyTorch timing of the step that `divres bench train|infer` times, for comparison.

Same model, data shapes, loss and optimizer: a CIFAR-style torchvision ResNet
(huyvnphan/PyTorch_CIFAR10: the stem conv is 3x3 stride 1 padding 1, the 3x3/2
max-pool is kept) or the torchvision ImageNet-style model, random inputs drawn once,
cross-entropy, backward, SGD (lr 0.01, momentum 0.9, weight decay 5e-4),
zero_grad(set_to_none=True). Prints the median, quartiles and extremes of the step
time and the images/s at the median, in the format of `divres bench`.

Run with Debian's python3-torch (the same libtorch 1.13 as divres's default build):

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/python/train_step.py \
        --arch resnet18 --batch 128 --steps 20 --threads 2

(divres sets OMP_WAIT_POLICY=PASSIVE itself unless the variable is set; pass the
same to Python for a fair comparison.)
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def build(arch, style, classes, in_channels):
    m = getattr(torchvision.models, arch)(num_classes=classes)
    if arch.startswith("resnet") or arch.startswith("wide_resnet"):
        stem_out = m.conv1.out_channels
        if style == "cifar":
            m.conv1 = nn.Conv2d(in_channels, stem_out, 3, 1, 1, bias=False)
        elif in_channels != 3:
            m.conv1 = nn.Conv2d(in_channels, stem_out, 7, 2, 3, bias=False)
    elif style == "cifar" or in_channels != 3:
        raise SystemExit(f"only the ResNet family has a CIFAR/channel variant here, not {arch}")
    return m


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--style", default="cifar", choices=["cifar", "imagenet"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--in-channels", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--infer", action="store_true", help="time an inference forward pass instead")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    size = a.size or (32 if a.style == "cifar" else 224)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    net = build(a.arch, a.style, a.classes, a.in_channels).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, a.in_channels, size, size, device=dev)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    if a.infer:
        net.eval()

        def step():
            with torch.inference_mode():
                net(x)
            sync()
    else:
        net.train()

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()
            sync()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    t = np.array(sorted(times))
    med = float(np.quantile(t, 0.5))
    r = dict(arch=a.arch, mode="infer" if a.infer else "train", batch=a.batch, size=size,
             threads=torch.get_num_threads(), device=str(dev), steps=a.steps, median_ms=med,
             min_ms=float(t[0]), p25_ms=float(np.quantile(t, 0.25)), p75_ms=float(np.quantile(t, 0.75)),
             max_ms=float(t[-1]), images_per_sec=a.batch / (med / 1e3))
    if a.json:
        print(json.dumps(r))
        return
    print("{arch} {mode} batch {batch} {size}x{size} threads {threads} {device}: median {median_ms:.2f} ms/step "
          "(min {min_ms:.2f}, p25 {p25_ms:.2f}, p75 {p75_ms:.2f}, max {max_ms:.2f}; {steps} steps) "
          "{images_per_sec:.1f} images/s (python {torch})".format(torch=torch.__version__, **r))


if __name__ == "__main__":
    main()
