"""Reference timing of the small conv net of divres's binding benchmark in PyTorch.

Same model, data shapes and optimizer as torch/bench_test.go (BenchmarkSmallNet*):
conv(1→32,3,p1)-relu-maxpool2-conv(32→64,3,p1)-relu-maxpool2-fc(3136→128)-relu-fc(128→10),
input 1×28×28, SGD lr 0.01 momentum 0.9. Prints median ms per training step at batch
256 and median µs per batch-1 inference forward.

Run with Debian's python3-torch:  /usr/bin/python3 bench/python/smallnet.py [threads]
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


net = SmallNet()
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(256, 1, 28, 28)
y = torch.randint(0, 10, (256,))


def step():
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()


for _ in range(5):
    step()
times = []
for _ in range(40):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
print(f"train step batch 256: median {statistics.median(times)*1e3:.2f} ms  min {min(times)*1e3:.2f}  max {max(times)*1e3:.2f}")

net.eval()
x1 = torch.randn(1, 1, 28, 28)
with torch.no_grad():
    for _ in range(50):
        net(x1)
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        net(x1)
        times.append(time.perf_counter() - t)
print(f"inference batch 1: median {statistics.median(times)*1e6:.1f} us  min {min(times)*1e6:.1f}")

# Per-operation overhead: a tiny MLP (4 × Linear(32→32)+ReLU) at batch 1, where the
# arithmetic is negligible and the time is the framework's call overhead.
mlp = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(32, 32), nn.ReLU())]).eval()
xt = torch.randn(1, 32)
with torch.inference_mode():
    for _ in range(200):
        mlp(xt)
    times = []
    for _ in range(20000):
        t = time.perf_counter()
        mlp(xt)
        times.append(time.perf_counter() - t)
print(f"tiny mlp batch 1: median {statistics.median(times)*1e6:.1f} us  min {min(times)*1e6:.1f}")
