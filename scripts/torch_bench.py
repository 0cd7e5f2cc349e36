#!/usr/bin/env python3
"""PyTorch side of scripts/bench.sh: the same nets, data and step as cnn-bench, timed the same way.

Usage: scripts/torch_bench.py NET [--batch-size B] [--threads T] [--steps N] [--warmup W] [--data DIR]
Trains on consecutive real MNIST batches (SGD, lr 0.01, momentum 0.9) after a warm-up, then evaluates the
test set at batch 1000 under no_grad. Prints one JSON object with the keys cnn-bench prints. About 10-60 s.
"""
import argparse, gzip, json, os, resource, struct, time
import numpy as np, torch, torch.nn as nn

NETS = {
    "cs231n": lambda: nn.Sequential(nn.Conv2d(1, 32, 7, padding=3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                    nn.Linear(32 * 14 * 14, 100), nn.ReLU(), nn.Linear(100, 10)),
    "lenet5": lambda: nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)),
    "pytorch-example": lambda: nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(),
                                             nn.Linear(128, 10)),
}

def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)

def load(data, prefix):
    x = (idx(os.path.join(data, f"{prefix}-images-idx3-ubyte.gz")).astype(np.float32) / 255 - 0.1307) / 0.3081
    y = idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    return torch.from_numpy(x[:, None].copy()), torch.from_numpy(y)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("net", choices=sorted(NETS))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--data", default="Data")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    xtr, ytr = load(a.data, "train")
    xte, _ = load(a.data, "t10k")
    model = NETS[a.net]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lossf = nn.CrossEntropyLoss()

    def step(i):
        s = (i * a.batch_size) % (len(xtr) - a.batch_size)
        opt.zero_grad(set_to_none=True)
        lossf(model(xtr[s:s + a.batch_size]), ytr[s:s + a.batch_size]).backward()
        opt.step()

    for i in range(a.warmup):
        step(i)
    t = time.perf_counter()
    for i in range(a.steps):
        step(a.warmup + i)
    train_ips = a.steps * a.batch_size / (time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        model(xte[:1000])
        t = time.perf_counter()
        for s in range(0, len(xte), 1000):
            model(xte[s:s + 1000])
        eval_ips = len(xte) / (time.perf_counter() - t)
    print(json.dumps({"arch": a.net, "batch_size": a.batch_size, "threads": a.threads, "steps": a.steps,
                      "train_images_per_second": round(train_ips, 1), "eval_images_per_second": round(eval_ips, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "torch": torch.__version__}))

if __name__ == "__main__":
    main()
