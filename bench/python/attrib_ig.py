"""Plain-PyTorch timing of the integrated-gradients call that
`go test -bench BenchmarkIGResNet18 ./attrib` times, for comparison.

The computation is Captum 0.8's IntegratedGradients.attribute(x, baselines=0,
target=t, n_steps=50, method="gausslegendre", internal_batch_size=50), written out
(Captum itself is not installable here): the 50 Gauss-Legendre nodes
alpha_k = (1 + x_k)/2 with weights w_k/2, the path points 0 + alpha_k * x laid out
step-major as Captum does, evaluated internal_batch_size // N steps at a time
(3 steps = 48 rows for a batch of 16), the gradient of the sum of the target
logits, and attr = x * sum_k w_k * grad_k. The model is the CIFAR-style ResNet18
of huyvnphan/PyTorch_CIFAR10 at width 1 (3x3 stride-1 stem conv, the 3x3/2
max-pool kept), 10 classes, random weights, evaluation mode.

Run with Debian's python3-torch (the same libtorch 1.13 as divres's default build),
outside the repository (its torch/ folder would shadow the Python package):

    cd /tmp && OMP_WAIT_POLICY=PASSIVE /usr/bin/time -v /usr/bin/python3 \
        /path/to/divres/bench/python/attrib_ig.py --threads 2 --repeat 1

It prints one JSON line: the median seconds per call over --repeat calls, after
one warm-up pass (as the Go benchmark).
"""
import argparse
import json
import statistics
import time

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idn = x if self.downsample is None else self.downsample(x)
        return F.relu(out + idn)


class ResNet18CIFAR(nn.Module):
    def __init__(self, classes=10, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, inplanes = [], 64
        for i, planes in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes, 1)))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def leggauss(n):
    """numpy.polynomial.legendre.leggauss(n) (Newton on P_n), without numpy."""
    def legendre(z):
        p0, p1 = 1.0, z
        for j in range(2, n + 1):
            p0, p1 = p1, ((2 * j - 1) * z * p1 - (j - 1) * p0) / j
        return p1, n * (z * p1 - p0) / (z * z - 1)
    xs, ws = [0.0] * n, [0.0] * n
    for i in range((n + 1) // 2):
        z = math.cos(math.pi * (i + 0.75) / (n + 0.5))
        for _ in range(100):
            p, dp = legendre(z)
            dz = p / dp
            z -= dz
            if abs(dz) < 1e-15:
                break
        _, dp = legendre(z)
        w = 2 / ((1 - z * z) * dp * dp)
        xs[n - 1 - i], ws[n - 1 - i] = z, w
        xs[i], ws[i] = -z, w
    return xs, ws


def integrated_gradients(model, x, target, n_steps, internal_batch):
    nodes, weights = leggauss(n_steps)
    alphas = [0.5 * (z + 1) for z in nodes]
    steps = [0.5 * w for w in weights]
    n = x.shape[0]
    per = max(1, internal_batch // n)
    total = torch.zeros_like(x)
    for k0 in range(0, n_steps, per):
        a = alphas[k0:k0 + per]
        w = steps[k0:k0 + per]
        pts = torch.cat([al * x for al in a], dim=0).requires_grad_(True)
        out = model(pts)
        sel = out.gather(1, target.repeat(len(a)).view(-1, 1)).sum()
        (g,) = torch.autograd.grad(sel, pts)
        g = g.view(len(a), n, *x.shape[1:])
        wt = torch.tensor(w, dtype=x.dtype).view(-1, *([1] * x.dim()))
        total += (g * wt).sum(0)
    return x * total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--internal-batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ResNet18CIFAR().eval()
    x = torch.rand(args.batch, 3, 32, 32)
    target = torch.arange(args.batch) % 10
    # Warm-up (oneDNN primitives, OpenMP threads): one pass of the row count used.
    integrated_gradients(model, x, target, max(1, args.internal_batch // args.batch), args.internal_batch)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        attr = integrated_gradients(model, x, target, args.steps, args.internal_batch)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "batch": args.batch, "steps": args.steps,
                      "internal_batch": args.internal_batch, "threads": args.threads,
                      "seconds_per_call": statistics.median(times), "calls": len(times),
                      "checksum": float(attr.abs().sum())}))


if __name__ == "__main__":
    main()
