"""What scripts/torch_bench.py and scripts/jax_bench.py share: the spec grammar, MNIST, the timed loop.

The spec grammar is cnn-train's (`cnn-train --help`): layers joined by '-', each one of
conv<F>k<K>[s<S>][p<P>], relu, pool<K>[s<S>] (or maxpool), avgpool<K>[s<S>], bn, drop<P> (or dropout),
flatten, fc<M>; an fc after a convolution flattens first. `parse` turns a spec into a list of layer tuples
with the channel and feature counts filled in, as `Architecture.resolve` does, for a 1×28×28 input:
    ("conv", C, F, K, S, P), ("relu",), ("maxpool", K, S), ("avgpool", K, S), ("bn", C), ("drop", p),
    ("flatten",), ("fc", D, M)
"""
import gzip, os, re, resource, struct, time
import numpy as np


def parse(spec, input_shape=(1, 28, 28)):
    """Layer tuples for `spec` (see the module docstring); raises ValueError on a token it cannot read."""
    c, h, w = input_shape
    flat = None  # feature count once flattened
    layers = []
    for tok in spec.strip().lower().split("-"):
        m = re.fullmatch(r"conv(\d+)((?:[ksp]\d+)*)", tok)
        if m:
            fields = dict((f[0], int(f[1:])) for f in re.findall(r"[ksp]\d+", m.group(2)))
            f, k, s, p = int(m.group(1)), fields["k"], fields.get("s", 1), fields.get("p", 0)
            layers.append(("conv", c, f, k, s, p))
            c, h, w = f, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            continue
        m = re.fullmatch(r"(maxpool|avgpool|pool)(\d+)(?:s(\d+))?", tok)
        if m:
            k = int(m.group(2)); s = int(m.group(3) or k)
            layers.append(("avgpool" if m.group(1) == "avgpool" else "maxpool", k, s))
            h, w = (h - k) // s + 1, (w - k) // s + 1
            continue
        m = re.fullmatch(r"(?:dropout|drop)([0-9.]+)", tok)
        if m:
            layers.append(("drop", float(m.group(1))))
            continue
        m = re.fullmatch(r"fc(\d+)", tok)
        if m:
            if flat is None:
                layers.append(("flatten",))
                flat = c * h * w
            layers.append(("fc", flat, int(m.group(1))))
            flat = int(m.group(1))
            continue
        if tok == "relu":
            layers.append(("relu",))
        elif tok == "bn":
            layers.append(("bn", c))
        elif tok == "flatten":
            layers.append(("flatten",))
            flat = c * h * w
        else:
            raise ValueError(f"unknown spec token '{tok}'")
    return layers


def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load(data, prefix):
    """(images as float32 (N, 28, 28), normalised as cnn-train does; labels as int64 (N))"""
    x = (idx(os.path.join(data, f"{prefix}-images-idx3-ubyte.gz")).astype(np.float32) / 255 - 0.1307) / 0.3081
    y = idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def timed(a, train_step, evaluate, test_count):
    """Runs a.warmup untimed steps then a.steps timed ones of `train_step(i)`, then `evaluate(start, end)` once
    untimed and over the whole test set at batch 1000; returns (train img/s, eval img/s, peak RSS MB).
    Both callables must block until their result is computed."""
    for i in range(a.warmup):
        train_step(i)
    t = time.perf_counter()
    for i in range(a.steps):
        train_step(a.warmup + i)
    train_ips = a.steps * a.batch_size / (time.perf_counter() - t)
    evaluate(0, 1000)
    t = time.perf_counter()
    for s in range(0, test_count, 1000):
        evaluate(s, min(test_count, s + 1000))
    eval_ips = test_count / (time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return train_ips, eval_ips, rss


def arguments(description):
    import argparse
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("net", help="a name for the output's arch field (a preset name)")
    ap.add_argument("--spec", required=True, help="the layer spec (cnn-train's grammar)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--data", default="Data")
    return ap.parse_args()
