#!/usr/bin/env python3
"""Exports a cnn checkpoint to ONNX with cnn-export and checks the model against cnn-eval.

For CHECKPOINT it runs `cnn-export CHECKPOINT --onnx` (and again with --softmax), onnx.checker.check_model
(full_check, with shape inference) on both files, ONNX Runtime (CPU) on all test images, and
`cnn-eval CHECKPOINT --logits`; then it compares the two sets of logits: argmax agreement (target 100%) and
the largest |logit difference| (target <= 1e-4), and the softmax model's probabilities with the softmax of
cnn-eval's logits. About 10-20 s per checkpoint after a release build.

Usage: scripts/onnx_check.py CHECKPOINT [--data DIR] [--bin DIR] [--keep DIR]
  --data DIR  MNIST IDX files (default Data)
  --bin DIR   where cnn-export and cnn-eval are (default .build/release; build with swift build -c release)
  --keep DIR  write model.onnx, model-softmax.onnx and logits.f32 there instead of a temporary folder
Needs: pip install numpy onnx onnxruntime.
Prints one JSON object; exit status 0 when both targets are met, 1 otherwise, 2 on a usage or tool error.
"""
import argparse, gzip, json, os, struct, subprocess, sys, tempfile
import numpy as np, onnx, onnxruntime as ort

def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)

def find(data, name):
    for p in (f"{data}/{name}.gz", f"{data}/{name}"):
        if os.path.exists(p):
            return p
    sys.exit(f"onnx_check.py: error: {data}: no {name}[.gz]")

def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        print(f"onnx_check.py: error: {' '.join(cmd)} exited with {r.returncode}", file=sys.stderr)
        sys.exit(2)
    return r.stdout

def main():
    ap = argparse.ArgumentParser(description="Check cnn-export's ONNX model against cnn-eval.")
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default="Data")
    ap.add_argument("--bin", default=".build/release")
    ap.add_argument("--keep")
    a = ap.parse_args()
    out = a.keep or tempfile.mkdtemp(prefix="onnx-check-")
    os.makedirs(out, exist_ok=True)
    plain, soft, logits_path = f"{out}/model.onnx", f"{out}/model-softmax.onnx", f"{out}/logits.f32"
    run([f"{a.bin}/cnn-export", a.checkpoint, "--onnx", plain])
    run([f"{a.bin}/cnn-export", a.checkpoint, "--onnx", soft, "--softmax"])
    run([f"{a.bin}/cnn-eval", a.checkpoint, "--data", a.data, "--logits", logits_path])

    for p in (plain, soft):
        onnx.checker.check_model(onnx.load(p), full_check=True)
    model = onnx.load(plain)

    x = idx(find(a.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255
    y = idx(find(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64)
    x = x[:, None]
    ours = np.fromfile(logits_path, dtype="<f4").reshape(len(x), -1)

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    def infer(path):
        s = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = s.get_inputs()[0].name
        return np.concatenate([s.run(None, {name: x[i:i + 1000]})[0] for i in range(0, len(x), 1000)])
    theirs = infer(plain)
    probabilities = infer(soft)

    z = ours.astype(np.float64)
    reference = np.exp(z - z.max(1, keepdims=True))
    reference /= reference.sum(1, keepdims=True)
    agreement = float((theirs.argmax(1) == ours.argmax(1)).mean())
    diff = float(np.abs(theirs.astype(np.float64) - z).max())
    result = {
        "checkpoint": a.checkpoint,
        "images": int(len(x)),
        "opset": int(model.opset_import[0].version),
        "nodes": [n.op_type for n in model.graph.node],
        "checker": "ok",
        "argmax_agreement": agreement,
        "max_abs_logit_diff": diff,
        "max_abs_probability_diff": float(np.abs(probabilities - reference).max()),
        "onnxruntime_accuracy": float((theirs.argmax(1) == y).mean()),
        "cnn_eval_accuracy": float((ours.argmax(1) == y).mean()),
        "onnxruntime": ort.__version__,
        "onnx": onnx.__version__,
        "pass": agreement == 1.0 and diff <= 1e-4,
    }
    print(json.dumps(result))
    sys.exit(0 if result["pass"] else 1)

if __name__ == "__main__":
    main()
