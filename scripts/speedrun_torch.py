#!/usr/bin/env python3
"""The PyTorch side of scripts/speedrun.sh: the run a cnn-train config.json describes, in PyTorch.

Usage: scripts/speedrun_torch.py CONFIG_JSON [--seed S] [--threads T] [--data DIR] [--out DIR]

Reads a cnn-train run's config.json and trains the same thing: the same layers (its "architecture", with
PyTorch's constructor arguments), initialisation (PyTorch's default, or He-normal with zero biases for
"he"), optimizer (SGD with momentum, Nesterov and L2 decay, Adam, or AdamW, with its betas and epsilon),
learning-rate (and one-cycle momentum) schedule per step, batch size, epochs, label smoothing
(nn.CrossEntropyLoss's) and augmentation: with "shift", "rotate" or "scale", every training batch is warped
image by image with torch's affine_grid and grid_sample (bilinear, the background outside), drawn from the
same distribution as Sources/Training/Augmentation.swift's but from torch's generator, on the training
thread (elastic distortions are not mirrored: such a config is refused). The data are read from the
gzipped IDX files and held in memory as normalised tensors; every epoch is a fresh torch.randperm order, the
last batch may be smaller, and the test set is evaluated after every epoch at batch 1000. Like cnn-train it
saves the model and optimizer state after every epoch and the model at the end. torch.set_num_threads(T).

Prints one JSON line per epoch ({"epoch", "train_loss", "test_loss", "test_accuracy"}, flushed at once, so
speedrun.sh can time-stamp them as they come) and a last {"done": true, "test_accuracy"} line. Takes what
the run takes: seconds to minutes.
"""
import argparse, gzip, json, math, os, struct, sys

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load(data, prefix, mean, std):
    x = idx(os.path.join(data, f"{prefix}-images-idx3-ubyte.gz")).astype(np.float32)
    x = (x * np.float32(1 / (255 * std)) + np.float32(-mean / std))[:, None]
    y = idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


MAKE = {"conv2d": nn.Conv2d, "linear": nn.Linear, "batchnorm2d": nn.BatchNorm2d, "dropout": nn.Dropout,
        "maxpool2d": nn.MaxPool2d, "avgpool2d": nn.AvgPool2d, "relu": nn.ReLU, "flatten": nn.Flatten}


def network(architecture, init):
    model = nn.Sequential(*[MAKE[l["type"]](**{k: v for k, v in l.items() if k != "type"}) for l in architecture])
    if init == "he":
        for m in model:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
    return model


def warp(x, c, background):
    """x (N, 1, H, W), normalised: each image under its own random affine map, Augmentation.swift's draw:
    θ ~ U(−rotate, rotate)°, s ~ U(1 − scale, 1 + scale), t ~ U(−shift, shift)² pixels. An output point p is
    read at the input point R(−θ)(p − t)/s about the centre, bilinearly, with the background outside."""
    n, _, h, w = x.shape
    u = lambda: torch.rand(n) * 2 - 1
    theta, s = u() * math.radians(c.get("rotate", 0)), 1 + u() * c.get("scale", 0)
    tx, ty = u() * c.get("shift", 0) * 2 / w, u() * c.get("shift", 0) * 2 / h  # pixels to [-1, 1] units
    cos, sin = torch.cos(theta) / s, torch.sin(theta) / s
    m = torch.stack([torch.stack([cos, sin, -(cos * tx + sin * ty)], 1),
                     torch.stack([-sin, cos, -(-sin * tx + cos * ty)], 1)], 1)  # (N, 2, 3)
    grid = nn.functional.affine_grid(m, list(x.shape), align_corners=False)
    return nn.functional.grid_sample(x - background, grid, mode="bilinear", padding_mode="zeros",
                                     align_corners=False) + background


def plan(c, steps_per_epoch):
    """(rate, momentum or None) for step t: Sources/CNN/Optim/LearningRateSchedule.swift's formulas."""
    base, total = c["lr"], max(1, steps_per_epoch * c["epochs"])
    schedule = c["schedule"]
    warmup = 0 if schedule == "onecycle" else min(max(0, c.get("warmup_steps", 0)), total // 10)

    def anneal(a, b, x):
        return b + (a - b) / 2 * (math.cos(math.pi * x) + 1)

    def cycle(t, rising, falling):
        peak, end = c.get("pct_start", 0.3) * total - 1, total - 1
        s = min(t, total - 1)
        if s <= peak:
            return rising(s / peak if peak > 0 else 1)
        return falling((s - peak) / (end - peak) if end > peak else 1)

    def rate(t):
        if t < warmup:
            return base * (t + 1) / warmup
        if schedule == "constant":
            return base
        if schedule == "step":
            return base * c["step_gamma"] ** (t // (max(1, c["step_epochs"]) * steps_per_epoch))
        if schedule == "exponential":
            return base * c["step_gamma"] ** (t // steps_per_epoch)
        if schedule == "cosine":
            return 0.5 * base * (1 + math.cos(math.pi * min(1, (t - warmup) / max(1, total - warmup))))
        if schedule == "onecycle":
            initial = base / c.get("div_factor", 25.0)
            final = initial / c.get("final_div_factor", 1e4)
            return cycle(t, lambda x: anneal(initial, base, x), lambda x: anneal(base, final, x))
        raise SystemExit(f"speedrun_torch.py: unknown schedule {schedule}")

    def momentum(t):
        if schedule != "onecycle" or not c.get("cycle_momentum", True):
            return None
        return cycle(t, lambda x: anneal(0.95, 0.85, x), lambda x: anneal(0.85, 0.95, x))

    return rate, momentum


def optimizer(c, params):
    kind = c.get("optimizer", "sgd")
    if kind == "sgd":
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"], nesterov=c["nesterov"],
                               weight_decay=c["weight_decay"])
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(params, lr=c["lr"], betas=(c["momentum"], c.get("beta2", 0.999)), eps=c.get("adam_epsilon", 1e-8),
               weight_decay=c["weight_decay"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        whole = json.load(f)
    c = whole["configuration"]
    seed = a.seed if a.seed is not None else whole["seed"]
    torch.manual_seed(seed)
    data = a.data or c["data"]
    mean, std = c["mean"], c["std"]
    xtr, ytr = load(data, "train", mean, std)
    if c.get("limit"):
        xtr, ytr = xtr[:c["limit"]], ytr[:c["limit"]]
    xte, yte = load(data, "t10k", mean, std)
    model = network(whole["architecture"], c["initialization"])
    opt = optimizer(c, model.parameters())
    lossf = nn.CrossEntropyLoss(label_smoothing=c.get("label_smoothing", 0))
    if c.get("elastic_alpha", 0):
        sys.exit("speedrun_torch.py: elastic distortions are not mirrored in PyTorch")
    augments = any(c.get(k, 0) for k in ("shift", "rotate", "scale"))
    background = -mean / std
    batch = c["batch_size"]
    steps_per_epoch = (len(xtr) + batch - 1) // batch
    rate, momentum = plan(c, steps_per_epoch)
    os.makedirs(os.path.join(a.out, "checkpoints"), exist_ok=True)
    t, acc = 0, 0.0
    for epoch in range(1, c["epochs"] + 1):
        model.train()
        order = torch.randperm(len(xtr))
        loss_sum = 0.0
        for s in range(0, len(xtr), batch):
            i = order[s:s + batch]
            for g in opt.param_groups:
                g["lr"] = rate(t)
                m = momentum(t)
                if m is not None:
                    if "betas" in g:
                        g["betas"] = (m, g["betas"][1])
                    else:
                        g["momentum"] = m
            opt.zero_grad(set_to_none=True)
            xb = warp(xtr[i], c, background) if augments else xtr[i]
            loss = lossf(model(xb), ytr[i])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(i)
            t += 1
        model.eval()
        correct, test_loss = 0, 0.0
        with torch.no_grad():
            for s in range(0, len(xte), 1000):
                z = model(xte[s:s + 1000])
                test_loss += nn.functional.cross_entropy(z, yte[s:s + 1000], reduction="sum").item()
                correct += (z.argmax(1) == yte[s:s + 1000]).sum().item()
        acc = correct / len(xte)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch},
                   os.path.join(a.out, "checkpoints", f"epoch-{epoch:04d}.pt"))
        print(json.dumps({"epoch": epoch, "train_loss": round(loss_sum / len(xtr), 6),
                          "test_loss": round(test_loss / len(xte), 6), "test_accuracy": acc}), flush=True)
    torch.save(model.state_dict(), os.path.join(a.out, "model.pt"))
    print(json.dumps({"done": True, "test_accuracy": acc}), flush=True)


if __name__ == "__main__":
    main()
