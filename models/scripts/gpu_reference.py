#!/usr/bin/env python3
"""PyTorch eager reference for models/examples/gpu_bench.rs: the same Caffe-layout ResNet-50
(stride on the first 1x1 of a block, un-padded ceil-mode max-pool, 12-class head), random
weights, eval, no grad, batch 64, 5 warm-ups then --iters timed iterations bracketed by
torch.cuda.synchronize(); fp32 and bf16."""
import argparse
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c_in, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.conv3 = nn.Conv2d(c, 4 * c, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * c)
        self.down = None
        if stride != 1 or c_in != 4 * c:
            self.down = nn.Sequential(nn.Conv2d(c_in, 4 * c, 1, stride=stride, bias=False), nn.BatchNorm2d(4 * c))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class CaffeResNet50(nn.Module):
    def __init__(self, n_classes=12):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True))
        blocks, c_in = [], 64
        for c, n, s in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(n):
                blocks.append(Block(c_in, c, s if i == 0 else 1))
                c_in = 4 * c
        self.body = nn.Sequential(*blocks)
        self.fc = nn.Linear(2048, n_classes)

    def forward(self, x):
        y = nn.functional.avg_pool2d(self.body(self.stem(x)), 7, stride=1)
        return self.fc(y.flatten(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--cpu", action="store_true")
    a = ap.parse_args()
    dev = torch.device("cpu" if a.cpu or not torch.cuda.is_available() else "cuda")
    batch = 4 if dev.type == "cpu" else 64
    print(f"torch {torch.__version__} on {dev} ({torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'})")
    for dtype in (torch.float32, torch.bfloat16):
        m = CaffeResNet50().to(dev, dtype).eval()
        x = torch.randn(batch, 3, 224, 224, device=dev, dtype=dtype)
        with torch.no_grad():
            for _ in range(5):
                m(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(a.iters):
                m(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            s = time.perf_counter() - t
        print(f"pytorch resnet50-caffe {dtype} batch {batch}: {batch * a.iters / s:.0f} images/s ({1000 * s / a.iters:.2f} ms each)")


if __name__ == "__main__":
    main()
