#!/usr/bin/env python3
"""JAX side of scripts/bench.sh: the same net, data and step as cnn-bench, channels last, under jax.jit.

Usage: taskset -c 0-1 scripts/jax_bench.py NAME --spec SPEC [--batch-size B] [--steps N] [--warmup W] [--data DIR]
SPEC is a cnn-train layer spec, mirrored layer for layer (bench_common.parse) in NHWC with HWIO kernels
(XLA's preferred CPU layout): lax.conv_general_dilated, reduce_window pooling, batch norm with batch
statistics in training (running statistics updated with the unbiased variance, momentum 0.1) and the
running ones in evaluation, inverted dropout, PyTorch's default initialisation. One jitted step is the
forward, backward and optax.sgd(0.01, momentum 0.9); evaluation is one jitted forward at batch 1000.
--threads is only reported: XLA's CPU thread pool follows the cores it may run on, so bench.sh limits it
with taskset. The warm-up includes the compilation. Prints one JSON object with cnn-bench's keys.
"""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import jax, jax.numpy as jnp, optax
from jax import lax
import bench_common


def init(layers, key):
    """Parameters (a list, one dict per layer) and batch-norm state (a list of dicts or None)."""
    params, state = [], []
    for l in layers:
        key, k1, k2 = jax.random.split(key, 3)
        if l[0] == "conv":
            _, c, f, k, s, p = l
            bound = 1 / np.sqrt(c * k * k)
            params.append({"w": jax.random.uniform(k1, (k, k, c, f), jnp.float32, -bound, bound),
                           "b": jax.random.uniform(k2, (f,), jnp.float32, -bound, bound)})
            state.append(None)
        elif l[0] == "fc":
            _, d, m = l
            bound = 1 / np.sqrt(d)
            params.append({"w": jax.random.uniform(k1, (d, m), jnp.float32, -bound, bound),
                           "b": jax.random.uniform(k2, (m,), jnp.float32, -bound, bound)})
            state.append(None)
        elif l[0] == "bn":
            params.append({"g": jnp.ones((l[1],)), "b": jnp.zeros((l[1],))})
            state.append({"mean": jnp.zeros((l[1],)), "var": jnp.ones((l[1],))})
        else:
            params.append({})
            state.append(None)
    return params, state


def forward(layers, params, state, x, training, key):
    """x (N, H, W, C) → logits (N, classes), and the new batch-norm state."""
    new_state = []
    for i, l in enumerate(layers):
        p, st = params[i], state[i]
        kind = l[0]
        if kind == "conv":
            _, c, f, k, s, pad = l
            x = lax.conv_general_dilated(x, p["w"], (s, s), [(pad, pad), (pad, pad)],
                                         dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["b"]
        elif kind == "relu":
            x = jnp.maximum(x, 0)
        elif kind == "maxpool":
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, l[1], l[1], 1), (1, l[2], l[2], 1), "VALID")
        elif kind == "avgpool":
            x = lax.reduce_window(x, 0.0, lax.add, (1, l[1], l[1], 1), (1, l[2], l[2], 1), "VALID") / (l[1] * l[1])
        elif kind == "bn":
            if training:
                mean = x.mean(axis=(0, 1, 2))
                var = ((x - mean) ** 2).mean(axis=(0, 1, 2))
                m = x.shape[0] * x.shape[1] * x.shape[2]
                st = {"mean": 0.9 * st["mean"] + 0.1 * mean, "var": 0.9 * st["var"] + 0.1 * var * m / max(1, m - 1)}
            else:
                mean, var = st["mean"], st["var"]
            x = (x - mean) * lax.rsqrt(var + 1e-5) * p["g"] + p["b"]
        elif kind == "drop":
            if training and l[1] > 0:
                key, sub = jax.random.split(key)
                keep = jax.random.bernoulli(sub, 1 - l[1], x.shape)
                x = jnp.where(keep, x / (1 - l[1]), 0)
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "fc":
            x = x @ p["w"] + p["b"]
        new_state.append(st)
    return x, new_state


def main():
    a = bench_common.arguments(__doc__)
    xtr, ytr = bench_common.load(a.data, "train")
    xte, _ = bench_common.load(a.data, "t10k")
    xtr, xte = xtr[..., None], xte[..., None]   # NHWC
    layers = bench_common.parse(a.spec)
    params, state = init(layers, jax.random.PRNGKey(0))
    opt = optax.sgd(0.01, momentum=0.9)
    opt_state = opt.init(params)

    def loss(params, state, x, y, key):
        logits, new_state = forward(layers, params, state, x, True, key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), new_state

    @jax.jit
    def train_step(params, state, opt_state, x, y, key):
        (_, new_state), g = jax.value_and_grad(loss, has_aux=True)(params, state, x, y, key)
        updates, opt_state = opt.update(g, opt_state, params)
        return optax.apply_updates(params, updates), new_state, opt_state

    @jax.jit
    def infer(params, state, x):
        return forward(layers, params, state, x, False, None)[0]

    box = {"params": params, "state": state, "opt": opt_state}
    key = jax.random.PRNGKey(1)

    def step(i):
        s = (i * a.batch_size) % (len(xtr) - a.batch_size)
        p, st, o = train_step(box["params"], box["state"], box["opt"], xtr[s:s + a.batch_size],
                              ytr[s:s + a.batch_size], jax.random.fold_in(key, i))
        jax.block_until_ready(p)
        box.update(params=p, state=st, opt=o)

    def evaluate(start, end):
        jax.block_until_ready(infer(box["params"], box["state"], xte[start:end]))

    train_ips, eval_ips, rss = bench_common.timed(a, step, evaluate, len(xte))
    print(json.dumps({"arch": a.net, "batch_size": a.batch_size, "threads": a.threads, "steps": a.steps,
                      "train_images_per_second": round(train_ips, 1), "eval_images_per_second": round(eval_ips, 1),
                      "peak_rss_mb": round(rss, 1), "jax": jax.__version__}))


if __name__ == "__main__":
    main()
