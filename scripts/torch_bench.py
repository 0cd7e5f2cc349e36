#!/usr/bin/env python3
"""PyTorch side of scripts/bench.sh: the same net, data and step as cnn-bench, timed the same way.

Usage: scripts/torch_bench.py NAME --spec SPEC [--batch-size B] [--threads T] [--steps N] [--warmup W] [--data DIR]
SPEC is a cnn-train layer spec (scripts/bench.sh passes each preset's, read from `cnn-train --help`); it is
built as torch.nn.Sequential in NCHW, layer for layer (bench_common.parse). Trains on consecutive real
MNIST batches (SGD, lr 0.01, momentum 0.9) after a warm-up, then evaluates the test set at batch 1000
in eval mode under no_grad. Prints one JSON object with the keys cnn-bench prints. About 10-120 s.
"""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch, torch.nn as nn
import bench_common


def build(layers):
    mods = []
    for l in layers:
        kind = l[0]
        if kind == "conv":
            _, c, f, k, s, p = l
            mods.append(nn.Conv2d(c, f, k, stride=s, padding=p))
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "maxpool":
            mods.append(nn.MaxPool2d(l[1], stride=l[2]))
        elif kind == "avgpool":
            mods.append(nn.AvgPool2d(l[1], stride=l[2]))
        elif kind == "bn":
            mods.append(nn.BatchNorm2d(l[1], eps=1e-5, momentum=0.1))
        elif kind == "drop":
            mods.append(nn.Dropout(l[1]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
        elif kind == "fc":
            mods.append(nn.Linear(l[1], l[2]))
    return nn.Sequential(*mods)


def main():
    a = bench_common.arguments(__doc__)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    xtr, ytr = bench_common.load(a.data, "train")
    xte, _ = bench_common.load(a.data, "t10k")
    xtr, ytr, xte = torch.from_numpy(xtr[:, None].copy()), torch.from_numpy(ytr), torch.from_numpy(xte[:, None].copy())
    model = build(bench_common.parse(a.spec))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lossf = nn.CrossEntropyLoss()

    def step(i):
        s = (i * a.batch_size) % (len(xtr) - a.batch_size)
        opt.zero_grad(set_to_none=True)
        lossf(model(xtr[s:s + a.batch_size]), ytr[s:s + a.batch_size]).backward()
        opt.step()

    def evaluate(start, end):
        model.eval()
        with torch.no_grad():
            model(xte[start:end])

    train_ips, eval_ips, rss = bench_common.timed(a, step, evaluate, len(xte))
    print(json.dumps({"arch": a.net, "batch_size": a.batch_size, "threads": a.threads, "steps": a.steps,
                      "train_images_per_second": round(train_ips, 1), "eval_images_per_second": round(eval_ips, 1),
                      "peak_rss_mb": round(rss, 1), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
