#!/usr/bin/env python3
"""Handwriting that is not MNIST: a test set rendered the way users photograph digits, and its evaluation.

  scripts/photo_digits.py make OUT [--data Data] [--per-style 40] [--seed 1] [--styles clean,letters,...]
  scripts/photo_digits.py eval OUT CHECKPOINT [--bin .build/release] [--min-confidence X]

make: renders MNIST *test* digits (never trained on) as dark ink on light paper, in styles:
  clean      dark ink on even paper, 1200x1600 PNG
  thick      a marker: the stroke dilated, 1200x1600 PNG
  thin       a fine pen: the stroke thinned, 1200x1600 PNG
  offcentre  small and away from the centre, 1200x1600 PNG
  shadow     a shadow gradient across the paper (down to a third of its brightness) and paper grain, PNG
  jpeg       blue ballpoint on paper, JPEG quality 70, stored rotated with EXIF orientation 6, 1200x1600
  photo      3024x4032 JPEG (a 12-megapixel phone photo): shadow, grain, a slight tilt and blur, off-centre
and non-digits, which an honest classifier should flag as uncertain:
  letters    letters (A E K M R W x ...) in DejaVu fonts, PNG
  blank      paper with a shadow and grain, no ink, PNG
  scribble   random pen scribbles, PNG
  number     2- and 3-digit numbers written from MNIST digits side by side, PNG (for --number)
labels.csv: file, style, label (0-9; "-" for a non-digit; the digits of a number).
Time: about a minute for the default 40 images per style. Needs numpy and pillow.

eval: runs cnn-predict --json over the folder (and --number on the numbers), prints per style the accuracy
and how many answers were flagged uncertain, as a Markdown table, and one JSON line.
"""
import argparse, csv, gzip, json, math, os, struct, subprocess, sys
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DIGIT_STYLES = ["clean", "thick", "thin", "offcentre", "shadow", "jpeg", "photo"]
OTHER_STYLES = ["letters", "blank", "scribble"]

def idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)

def paper(rng, w, h, shadow=False, grain=4.0):
    base = rng.uniform(215, 245)
    p = np.full((h, w), base, np.float32)
    if shadow:
        # A linear shadow at a random angle, from full brightness down to 30-45%, plus a soft blob.
        a = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = (np.cos(a) * (xx / w - 0.5) + np.sin(a) * (yy / h - 0.5)) + 0.5
        t = np.clip(t, 0, 1)
        p *= 1 - rng.uniform(0.55, 0.7) * t
    p += rng.normal(0, grain, (h, w)).astype(np.float32)
    return p

def ink_mask(digit, size, rng, stroke=0):
    """The 28x28 digit scaled to size x size, in [0, 1]; stroke > 0 thickens, < 0 thins (pixels of size)."""
    img = Image.fromarray(digit).resize((size, size), Image.BICUBIC)
    if stroke > 0:
        img = img.filter(ImageFilter.MaxFilter(2 * stroke + 1))
    elif stroke < 0:
        img = img.filter(ImageFilter.MinFilter(2 * -stroke + 1))
    m = np.asarray(img, np.float32) / 255
    return np.clip((m - 0.15) / 0.7, 0, 1) if stroke < 0 else np.clip(m, 0, 1)

def place(page, mask, x, y, ink):
    h, w = mask.shape
    region = page[y:y + h, x:x + w]
    page[y:y + h, x:x + w] = region * (1 - mask) + ink * mask
    return page

def save(rgb_or_gray, path, fmt="PNG", quality=90, orientation=None):
    img = Image.fromarray(np.clip(rgb_or_gray, 0, 255).astype(np.uint8))
    if orientation == 6:
        # Stored rotated: a viewer turns it 90 degrees clockwise to show it upright.
        img = img.transpose(Image.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        img.save(path, fmt, quality=quality, exif=exif.tobytes())
    elif fmt == "JPEG":
        img.save(path, fmt, quality=quality)
    else:
        img.save(path, fmt)

def make(a):
    rng = np.random.default_rng(a.seed)
    x = idx(f"{a.data}/t10k-images-idx3-ubyte.gz")
    y = idx(f"{a.data}/t10k-labels-idx1-ubyte.gz")
    os.makedirs(a.out, exist_ok=True)
    rows = []
    picks = rng.permutation(len(x))
    k = 0
    def next_digit():
        nonlocal k
        i = picks[k]; k += 1
        return x[i], int(y[i])
    styles = set(a.styles.split(",")) if a.styles else set(DIGIT_STYLES + OTHER_STYLES + ["number"])
    for style in DIGIT_STYLES:
        for n in range(a.per_style if style in styles else 0):
            digit, label = next_digit()
            if style == "photo":
                w, h = 3024, 4032
            else:
                w, h = 1200, 1600
            page = paper(rng, w, h, shadow=style in ("shadow", "photo"), grain=6 if style in ("shadow", "photo") else 3)
            size = int(min(w, h) * (rng.uniform(0.2, 0.3) if style in ("offcentre", "photo") else rng.uniform(0.35, 0.5)))
            stroke = {"thick": max(2, size // 28), "thin": -max(1, size // 45)}.get(style, 0)
            mask = ink_mask(digit, size, rng, stroke)
            if style in ("offcentre", "photo"):
                px, py = int(rng.uniform(0.05, 0.95) * (w - size)), int(rng.uniform(0.05, 0.95) * (h - size))
            else:
                px, py = (w - size) // 2 + int(rng.normal(0, w * 0.03)), (h - size) // 2 + int(rng.normal(0, h * 0.03))
            if style in ("jpeg",):
                ink = np.array([35, 45, 120], np.float32)   # blue ballpoint
                rgb = np.stack([page] * 3, -1) * np.array([1.0, 0.98, 0.93], np.float32)
                m = np.zeros((h, w), np.float32); m[py:py + size, px:px + size] = mask
                rgb = rgb * (1 - m[..., None]) + ink * m[..., None]
                name = f"{style}-{n:03d}.jpg"
                save(rgb, f"{a.out}/{name}", "JPEG", quality=70, orientation=6)
            elif style == "photo":
                page = place(page, mask, px, py, rng.uniform(20, 60) * page[py:py + size, px:px + size] / 230)
                img = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).rotate(rng.uniform(-8, 8), resample=Image.BILINEAR, fillcolor=int(page.mean()))
                img = img.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.5)))
                rgb = np.stack([np.asarray(img, np.float32)] * 3, -1) * np.array([1.0, 0.97, 0.92], np.float32)
                name = f"{style}-{n:03d}.jpg"
                save(rgb, f"{a.out}/{name}", "JPEG", quality=85)
            else:
                ink = rng.uniform(15, 50) * (page[py:py + size, px:px + size] / 230 if style == "shadow" else 1)
                page = place(page, mask, px, py, ink)
                name = f"{style}-{n:03d}.png"
                save(page, f"{a.out}/{name}")
            rows.append((name, style, str(label)))
    fonts = [f for f in ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
                         "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"] if os.path.exists(f)]
    letters = "AEKMRWXHNxkawmh"
    for n in range(a.per_style if "letters" in styles else 0):
        w, h = 1200, 1600
        page = paper(rng, w, h, shadow=n % 2 == 1)
        img = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(img)
        if fonts:
            font = ImageFont.truetype(fonts[n % len(fonts)], int(rng.uniform(300, 600)))
            d.text((w // 2, h // 2), letters[n % len(letters)], fill=int(rng.uniform(15, 50)), font=font, anchor="mm")
        name = f"letters-{n:03d}.png"
        img.save(f"{a.out}/{name}")
        rows.append((name, "letters", "-"))
    for n in range(a.per_style if "blank" in styles else 0):
        page = paper(rng, 1200, 1600, shadow=n % 2 == 0, grain=5)
        name = f"blank-{n:03d}.png"
        save(page, f"{a.out}/{name}")
        rows.append((name, "blank", "-"))
    for n in range(a.per_style if "scribble" in styles else 0):
        w, h = 1200, 1600
        img = Image.fromarray(np.clip(paper(rng, w, h), 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(2, 6))):
            pts = [(float(rng.uniform(0.15, 0.85) * w), float(rng.uniform(0.15, 0.85) * h)) for _ in range(int(rng.integers(4, 12)))]
            d.line(pts, fill=int(rng.uniform(15, 60)), width=int(rng.uniform(8, 30)), joint="curve")
        name = f"scribble-{n:03d}.png"
        img.save(f"{a.out}/{name}")
        rows.append((name, "scribble", "-"))
    for n in range(a.per_style if "number" in styles else 0):
        count = 2 + n % 2
        w, h = 1600, 1000
        page = paper(rng, w, h)
        size = int(h * 0.45)
        gap = size * 0.85
        x0 = (w - gap * (count - 1) - size) / 2
        label = ""
        for j in range(count):
            digit, l = next_digit()
            label += str(l)
            page = place(page, ink_mask(digit, size, rng), int(x0 + j * gap + rng.normal(0, 8)), int((h - size) / 2 + rng.normal(0, 20)), rng.uniform(15, 50))
        name = f"number-{n:03d}.png"
        save(page, f"{a.out}/{name}")
        rows.append((name, "number", label))
    with open(f"{a.out}/labels.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["file", "style", "label"])
        wr.writerows(rows)
    print(f"{len(rows)} images in {a.out}/ (labels.csv)")

def evaluate(a):
    with open(f"{a.out}/labels.csv") as f:
        rows = list(csv.DictReader(f))
    singles = [r for r in rows if r["style"] != "number"]
    numbers = [r for r in rows if r["style"] == "number"]
    extra = ["--min-confidence", str(a.min_confidence)] if a.min_confidence is not None else []
    def predict(files, flags):
        r = subprocess.run([f"{a.bin}/cnn-predict", a.checkpoint, *files, "--json", *flags], capture_output=True, text=True)
        if r.returncode not in (0, 65):
            sys.exit(f"photo_digits.py: cnn-predict exited with {r.returncode}: {r.stderr.strip()}")
        return {e["file"]: e for e in json.loads(r.stdout)["images"]}
    got = predict([f"{a.out}/{r['file']}" for r in singles], extra)
    table = {}
    for r in singles:
        e = got[f"{a.out}/{r['file']}"]
        s = table.setdefault(r["style"], {"images": 0, "correct": 0, "flagged": 0, "correct_unflagged": 0, "unflagged": 0})
        s["images"] += 1
        flagged = bool(e.get("uncertain", "error" in e))
        s["flagged"] += flagged
        predicted = e.get("prediction")
        if r["label"] != "-":
            ok = predicted is not None and str(predicted) == r["label"]
            s["correct"] += ok
            if not flagged:
                s["unflagged"] += 1
                s["correct_unflagged"] += ok
    if numbers:
        got = predict([f"{a.out}/{r['file']}" for r in numbers], extra + ["--number"])
        s = table["number"] = {"images": 0, "correct": 0, "flagged": 0, "correct_unflagged": 0, "unflagged": 0}
        for r in numbers:
            e = got[f"{a.out}/{r['file']}"]
            s["images"] += 1
            flagged = bool(e.get("uncertain", "error" in e))
            s["flagged"] += flagged
            ok = e.get("number") == r["label"]
            s["correct"] += ok
            if not flagged:
                s["unflagged"] += 1
                s["correct_unflagged"] += ok
    print("| style | images | correct | flagged uncertain | correct among unflagged |")
    print("|---|---|---|---|---|")
    for style, s in table.items():
        digit = style not in OTHER_STYLES
        correct = f"{s['correct']} ({100 * s['correct'] / s['images']:.0f}%)" if digit else "-"
        unflagged = f"{s['correct_unflagged']}/{s['unflagged']}" if digit else "-"
        print(f"| {style} | {s['images']} | {correct} | {s['flagged']} ({100 * s['flagged'] / s['images']:.0f}%) | {unflagged} |")
    print(json.dumps({"checkpoint": a.checkpoint, "styles": table}))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--data", default="Data")
    m.add_argument("--per-style", type=int, default=40)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--styles", help="comma-separated styles to make (default: all)")
    e = sub.add_parser("eval")
    e.add_argument("out")
    e.add_argument("checkpoint")
    e.add_argument("--bin", default=".build/release")
    e.add_argument("--min-confidence", type=float)
    a = ap.parse_args()
    make(a) if a.command == "make" else evaluate(a)

if __name__ == "__main__":
    main()
