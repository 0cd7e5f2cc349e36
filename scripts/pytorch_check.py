#!/usr/bin/env python3
"""Loads a cnn checkpoint into torch.nn.Sequential with load_state_dict(strict=True) and evaluates it on the
MNIST test set, so its accuracy can be compared with cnn-eval's. Takes a few seconds.

Usage: scripts/pytorch_check.py CHECKPOINT [DATA_DIR]   (needs: pip install torch safetensors numpy)
Prints one JSON object: torch_accuracy, torch_loss, torch version.
"""
import json, sys, gzip, struct, numpy as np, torch, torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file
path = sys.argv[1]
data = sys.argv[2] if len(sys.argv) > 2 else "Data"
meta = safe_open(path, "pt").metadata()
make = {"conv2d": nn.Conv2d, "linear": nn.Linear, "batchnorm2d": nn.BatchNorm2d, "dropout": nn.Dropout,
        "maxpool2d": nn.MaxPool2d, "avgpool2d": nn.AvgPool2d, "relu": nn.ReLU, "flatten": nn.Flatten}
model = nn.Sequential(*[make[l.pop("type")](**l) for l in json.loads(meta["architecture"])])
model.load_state_dict(load_file(path), strict=True)
model.eval()
inp = json.loads(meta["input"])
def idx(p):
    b = gzip.open(p).read(); nd = b[3]
    dims = struct.unpack(">" + "I"*nd, b[4:4+4*nd]); return np.frombuffer(b, np.uint8, offset=4+4*nd).reshape(dims)
x = (idx(data + "/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255 - inp["mean"]) / inp["std"]
y = idx(data + "/t10k-labels-idx1-ubyte.gz").astype(np.int64)
with torch.no_grad():
    logits = model(torch.from_numpy(x[:, None].copy()))
acc = (logits.argmax(1).numpy() == y).mean()
loss = nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()
print(json.dumps({"torch_accuracy": float(acc), "torch_loss": loss, "torch": torch.__version__}))
