#!/usr/bin/env python3
"""The table of scripts/speedrun.sh, from the time-stamped logs it leaves in DIR.

Usage: scripts/speedrun_summary.py DIR SEEDS

DIR/ours-S.log and DIR/torch-S.log hold "<epoch seconds> <line>" for each line a run printed, then
"<t> start" and "<t> exit" (the process's launch and exit). Prints, per seed, test accuracy and whole-process
seconds of both sides and their ratio; then mean, minimum and median, the ratio of the medians; the time to
99.0, 99.3 and 99.5% (seconds from launch to the end of the first epoch whose test accuracy reached it,
median over the seeds that reached it); and the medians of our --timings phases. Writes DIR/summary.json.
"""
import json, os, statistics, sys


def read(path):
    if not os.path.exists(path):
        return None
    epochs, timings, start, end = [], None, None, None
    for line in open(path):
        stamp, _, rest = line.rstrip("\n").partition(" ")
        t = float(stamp)
        if rest == "start":
            start = t
        elif rest == "exit":
            end = t
        elif rest.startswith("{"):
            row = json.loads(rest)
            if "timings" in row:
                timings = row["timings"]
            elif "epoch" in row:
                epochs.append((t, row["test_accuracy"]))
    if start is None or end is None or not epochs:
        return None
    return {"seconds": end - start, "accuracy": epochs[-1][1],
            "epochs": [(t - start, a) for t, a in epochs], "timings": timings}


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    rows = [(s, read(f"{out}/ours-{s}.log"), read(f"{out}/torch-{s}.log")) for s in range(1, n + 1)]
    has_torch = any(t for _, _, t in rows)
    pct = lambda r: "-" if r is None else f"{100 * r['accuracy']:.2f}"
    sec = lambda r: "-" if r is None else f"{r['seconds']:.2f}"
    print(f"{'seed':>4}  {'ours %':>7} {'ours s':>7}  {'torch %':>7} {'torch s':>7}  {'torch/ours':>10}")
    for s, o, t in rows:
        ratio = f"{t['seconds'] / o['seconds']:.2f}" if o and t else "-"
        print(f"{s:>4}  {pct(o):>7} {sec(o):>7}  {pct(t):>7} {sec(t):>7}  {ratio:>10}")

    def column(side):
        return [r for r in (o if side == "ours" else t for _, o, t in rows) if r]

    summary = {}
    for name, f in (("mean", statistics.mean), ("min", min), ("median", statistics.median)):
        cells = []
        for side in ("ours", "torch"):
            runs = column(side)
            if runs:
                a, sec_ = f([r["accuracy"] for r in runs]), f([r["seconds"] for r in runs])
                summary.setdefault(side, {})[name] = {"accuracy": a, "seconds": sec_}
                cells += [f"{100 * a:.2f}", f"{sec_:.2f}"]
            else:
                cells += ["-", "-"]
        print(f"{name:>6}{cells[0]:>7} {cells[1]:>7}  {cells[2]:>7} {cells[3]:>7}")
    if has_torch and column("ours"):
        ratio = summary["torch"]["median"]["seconds"] / summary["ours"]["median"]["seconds"]
        paired = [t["seconds"] / o["seconds"] for _, o, t in rows if o and t]
        summary["ratio_of_medians"] = ratio
        summary["median_of_ratios"] = statistics.median(paired)
        print(f"PyTorch's median time / ours: {ratio:.2f} (per seed: median {statistics.median(paired):.2f}, "
              f"{min(paired):.2f}–{max(paired):.2f})")

    print("time to accuracy (s from launch to the end of the first epoch reaching it; median over the seeds that did):")
    summary["time_to_accuracy"] = {}
    for goal in (0.990, 0.993, 0.995):
        cells = []
        for side in ("ours", "torch"):
            runs = column(side)
            hits = [next((t for t, a in r["epochs"] if a >= goal), None) for r in runs]
            reached = [h for h in hits if h is not None]
            summary["time_to_accuracy"].setdefault(f"{100 * goal:.1f}", {})[side] = \
                statistics.median(reached) if reached else None
            cells.append(f"{statistics.median(reached):.2f} ({len(reached)}/{len(runs)})" if reached
                         else f"- (0/{len(runs)})" if runs else "-")
        print(f"  {100 * goal:.1f}%   ours {cells[0]:>14}   PyTorch {cells[1]:>14}")

    timings = [r["timings"] for r in column("ours") if r["timings"]]
    if timings:
        keys = list(timings[0])
        medians = {k: statistics.median([t[k] for t in timings]) for k in keys}
        summary["timings"] = medians
        print("our --timings, medians: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in medians.items()))
    json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
    print(f"(runs and logs in {out})")


if __name__ == "__main__":
    main()
