"""PyTorch timing of the joint NCL training step that ensemble's BenchmarkJointStep times.

Same step: three LeNets (kuangliu/pytorch-cifar's LeNet, widths 1, 2 and 0.5: conv
5x5 -> ReLU -> max-pool 2 twice, fc 120 -> 84 -> classes, every layer width scaled),
a 128x3x32x32 batch and labels drawn once, the objective M*L of ensemble.NCL with
lambda 0.5, gamma 0.1 for each heuristic (none, prediction, attribution, activation,
classic, gncl), backward (a double backward for attribution, create_graph=True), and
one SGD optimizer per member (lr 0.01, momentum 0.9, weight decay 5e-4),
zero_grad(set_to_none=True). Prints the median step time per heuristic.

Run with Debian's python3-torch (the same libtorch 1.13 as divres's default build),
from outside the repository (its torch/ folder would shadow the module), with the
thread count divres uses:

    cd /tmp && OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 /work/main/bench/python/ncl_step.py --threads 2

and, back to back,

    OMP_WAIT_POLICY=PASSIVE go test ./ensemble -run '^$' -bench JointStep -benchtime 20x
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self, width, in_ch=3, classes=10):
        super().__init__()

        def ch(c):
            return c if width == 1 else max(1, round(c * width))

        c1, c2 = ch(6), ch(16)
        self.conv1 = nn.Conv2d(in_ch, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * 5 * 5, ch(120))
        self.fc2 = nn.Linear(ch(120), ch(84))
        self.fc3 = nn.Linear(ch(84), classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        f = F.relu(self.fc2(x))
        return self.fc3(f), f


def cosine_diversity(ts):
    fs = [t.flatten(1) for t in ts]
    norms = [(f * f).sum(1).add(1e-12).sqrt() for f in fs]
    s, pairs = 0.0, 0
    for i in range(len(fs)):
        for j in range(i + 1, len(fs)):
            s = s + ((fs[i] * fs[j]).sum(1) / (norms[i] * norms[j])).mean()
            pairs += 1
    return 1 - s / pairs


def cka_diversity(feats):
    grams, norms = [], []
    for f in feats:
        f = f.flatten(1)
        f = f - f.mean(0, keepdim=True)
        g = f @ f.t()
        grams.append(g)
        norms.append((g * g).sum().add(1e-24).sqrt())
    s, pairs = 0.0, 0
    for i in range(len(grams)):
        for j in range(i + 1, len(grams)):
            s = s + (grams[i] * grams[j]).sum() / (norms[i] * norms[j])
            pairs += 1
    return 1 - s / pairs


def spread(ps, c):
    return sum(((p - c) ** 2).sum() for p in ps) / (len(ps) * ps[0].shape[0])


def gncl_penalty(logits):
    m = len(logits)
    fbar = sum(logits) / m
    p = fbar.softmax(1)
    q = 0.0
    for f in logits:
        d = f - fbar
        pd = (p * d).sum(1)
        q = q + ((p * d * d).sum(1) - pd * pd).sum()
    return q / (2 * m * logits[0].shape[0])


def objective(heuristic, lam, gamma, outs, x, y):
    """M*L of ensemble.NCL (see its documentation)."""
    m = len(outs)
    logits = [o[0] for o in outs]
    ind = sum(F.cross_entropy(l, y) for l in logits)
    if lam == 1 and gamma == 0:
        return ind
    loss = ind * lam
    ps = [l.softmax(1) for l in logits]
    pbar = sum(ps) / m
    if lam != 1:
        loss = loss + F.nll_loss(pbar.log(), y) * ((1 - lam) * m)
    if gamma == 0 or heuristic == "none":
        return loss
    if heuristic == "prediction":
        d = spread(ps, pbar)
    elif heuristic == "classic":
        d = spread(ps, pbar.detach()) * 0.5
    elif heuristic == "activation":
        d = cka_diversity([o[1] for o in outs])
    elif heuristic == "gncl":
        d = gncl_penalty(logits)
    elif heuristic == "attribution":
        gs = []
        for l in logits:
            z = l.gather(1, y.unsqueeze(1)).sum()
            (g,) = torch.autograd.grad(z, x, retain_graph=True, create_graph=True)
            gs.append(g)
        d = cosine_diversity(gs)
    else:
        raise SystemExit(f"unknown heuristic {heuristic}")
    return loss - d * (gamma * m)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--heuristics", default="none,prediction,attribution,activation,classic,gncl")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--lam", type=float, default=0.5)
    p.add_argument("--gamma", type=float, default=0.1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x0 = torch.randn(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    results = {}
    for h in a.heuristics.split(","):
        torch.manual_seed(0)
        nets = [LeNet(w) for w in (1, 2, 0.5)]
        opts = [torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4) for n in nets]
        gamma = 0.0 if h == "none" else a.gamma

        def step():
            for o in opts:
                o.zero_grad(set_to_none=True)
            x = x0.clone().requires_grad_(h == "attribution" and gamma != 0)
            outs = [n(x) for n in nets]
            loss = objective(h, a.lam, gamma, outs, x, y)
            ens = sum(o[0].softmax(1) for o in outs)
            (ens.argmax(1) == y).sum().item()
            loss.backward()
            for o in opts:
                o.step()
            return loss.item()

        for _ in range(a.warmup):
            step()
        ts = []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            step()
            ts.append((time.perf_counter() - t0) * 1000)
        results[h] = statistics.median(ts)
        if not a.json:
            print(f"pytorch ncl step {h:12s} median {results[h]:8.2f} ms  (threads {torch.get_num_threads()})")
    if a.json:
        print(json.dumps({"threads": torch.get_num_threads(), "median_ms": results}))


if __name__ == "__main__":
    main()
