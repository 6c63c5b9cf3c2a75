"""PyTorch timing of the corruption evaluation that `divres eval` and the study run,
for comparison with ensemble's BenchmarkEvalSlices.

Same models as divres's nets (LeNet of kuangliu/pytorch-cifar; the CIFAR-style
ResNet18 of huyvnphan/PyTorch_CIFAR10 with every channel count scaled by --width and
rounded, one input channel), random weights in evaluation mode, the same work: N
(250) 8-bit 1×32×32 images per slice, the clean slice and 15 corruptions × 5
severities (76 slices), each batch converted from uint8, normalised
((v/255 − mean)/std), run forward under torch.inference_mode and reduced to the
argmax per image. With --concat the batches run over the slices back to back (a
batch may span two slices), as divres does; without it each slice is batched on its
own. Prints the median, the extremes and the spread of images/s over --reps timed
evaluations after one warm-up, and the median CPU seconds (user + system, all
threads) per evaluation, which other processes on a shared machine disturb less
than the wall time. With --once the process runs one evaluation and nothing else,
for timing whole processes against `divres eval`.

Run with Debian's python3-torch (the same libtorch 1.13 as divres's default build),
from outside the repository (its torch/ directory would shadow the package):

    cd /tmp && OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 /work/main/bench/python/eval.py \
        --arch lenet --batch 1024 --concat --threads 2
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def ch(c, width):
    return c if width == 1 else max(1, int(round(c * width)))


class LeNet(nn.Module):
    def __init__(self, in_ch, classes, width):
        super().__init__()
        c1, c2 = ch(6, width), ch(16, width)
        self.conv1 = nn.Conv2d(in_ch, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * 5 * 5, ch(120, width))
        self.fc2 = nn.Linear(ch(120, width), ch(84, width))
        self.fc3 = nn.Linear(ch(84, width), classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, in_ch, classes, width):
        super().__init__()
        inp = ch(64, width)
        self.stem = nn.Sequential(nn.Conv2d(in_ch, inp, 3, 1, 1, bias=False), nn.BatchNorm2d(inp), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers = []
        for i, p in enumerate([64, 128, 256, 512]):
            planes = ch(p, width)
            stride = 1 if i == 0 else 2
            layers += [BasicBlock(inp, planes, stride), BasicBlock(planes, planes, 1)]
            inp = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(inp, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(x.mean((2, 3)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="lenet", choices=["lenet", "resnet18"])
    p.add_argument("--width", type=float, default=0)
    p.add_argument("--n", type=int, default=250, help="images per slice")
    p.add_argument("--slices", type=int, default=76, help="clean + corruptions × severities")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--concat", action="store_true", help="batch across slice boundaries")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--once", action="store_true", help="one evaluation, no warm-up, no report")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    width = a.width or (1.0 if a.arch == "lenet" else 0.25)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = (LeNet if a.arch == "lenet" else ResNet18)(1, 10, width).eval()
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, size=(a.slices, a.n, 1, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=a.n)
    mean, std = 0.286, 0.353

    def forward(u8):
        x = torch.from_numpy(u8).float().div_(255).sub_(mean).div_(std)
        return net(x).argmax(1).numpy()

    def evaluate():
        wrong = np.zeros(a.slices, dtype=np.int64)
        if a.concat:
            flat = images.reshape(a.slices * a.n, 1, 32, 32)
            preds = np.concatenate([forward(flat[i:i + a.batch]) for i in range(0, len(flat), a.batch)])
            wrong += (preds.reshape(a.slices, a.n) != labels).sum(1)
        else:
            for s in range(a.slices):
                preds = np.concatenate([forward(images[s, i:i + a.batch]) for i in range(0, a.n, a.batch)])
                wrong[s] = (preds != labels).sum()
        return wrong

    with torch.inference_mode():
        evaluate()
        if a.once:
            return
        rates, cpus = [], []
        for _ in range(a.reps):
            t, c = time.perf_counter(), time.process_time()
            evaluate()
            rates.append(a.slices * a.n / (time.perf_counter() - t))
            cpus.append(time.process_time() - c)
    med = statistics.median(rates)
    res = {"arch": a.arch, "width": width, "batch": a.batch, "concat": a.concat, "threads": a.threads,
           "images_per_s_median": med, "min": min(rates), "max": max(rates),
           "spread_pct": 100 * (max(rates) - min(rates)) / med, "cpu_s_per_eval_median": statistics.median(cpus)}
    if a.json:
        print(json.dumps(res))
    else:
        print(f"eval {a.arch} w{width:g} batch {a.batch}{' concat' if a.concat else ''} threads {a.threads}: "
              f"median {med:.0f} images/s  min {min(rates):.0f}  max {max(rates):.0f}  "
              f"cpu {res['cpu_s_per_eval_median']:.3f} s/eval  ({a.reps} reps)")


if __name__ == "__main__":
    main()
