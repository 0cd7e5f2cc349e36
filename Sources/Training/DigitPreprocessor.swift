//  DigitPreprocessor.swift
//
//  Any picture of one digit (a scan, a phone photo, a drawing) → the input an MNIST network expects, the way
//  MNIST itself was made (LeCun et al.: "size-normalized to fit in a 20x20 pixel box while preserving their
//  aspect ratio ... centered in a 28x28 image by computing the center of mass of the pixels"):
//
//    1. level     gray, polarity, background levelled and binarised by Otsu (`InkLevels`, at most 800 px)
//    2. marks     the connected components of the ink (`InkComponents`); the digit is the largest one and
//                 every mark of at least 5% of its size whose box touches its box grown by 15% of its side.
//                 Marks covering over a quarter of a side of the picture (the paper's edge, the desk, a
//                 corner filled by a rotation: `edgeMarks`) are passed over when the largest other mark spans
//                 at least 3% of the picture's longer side
//    3. strokes   stroke width w ≈ 2·area / boundary pixels; below half of 10% of the digit's longer side (a
//                 fine pen on a large photo) the strokes are thickened by a square dilation to that 10%
//    4. contrast  s = min(1, L / L₉₀), L₉₀ the 90th percentile of the levelled ink on the digit's marks; 0 off
//                 the marks (grown by max(1, side/20) px, an output pixel, for their soft edges) and below
//                 `inkThreshold`
//    5. crop      to the marks' bounding box;
//    6. scale     to fit a B×B box keeping the aspect ratio, B = round(20/28 · H) (20 for 28×28):
//                 area averaging when shrinking, bilinear when enlarging;
//    7. centre    paste into H×W so the centre of mass (Σ x·v / Σ v, in pixel indices) lands on (W/2, H/2),
//                 rounded to whole pixels, shifted back inside if it would stick out;
//    8. normalise x = (v − mean) / std with the checkpoint's mean and std.

import Foundation
import Images

/// A picture's ink and its marks, with the marks that make the digit: what the preprocessing saw.
public struct InkAnalysis: Sendable {
    public let levels: InkLevels
    public let marks: InkComponents
    /// Indices into `marks.components` of the marks taken for the digit (the main one first); empty when
    /// the picture has no ink.
    public let digit: [Int]
    /// Marks passed over as the picture's edge (step 2): the paper's edge, the desk, a corner a rotation filled.
    public let edge: Set<Int>

    /// Ink pixels of the digit's marks.
    public var digitPixels: Int { digit.reduce(0) { $0 + marks.components[$1].pixels } }

    /// The length of the strokes of `chosen` marks over the longer side of their box: boundary pixels (ink with
    /// a 4-neighbour that is not, or on the picture's edge) / 2 / side; 0 for no marks.
    public func strokeLength(of chosen: [Int]) -> Double {
        let (w, h) = (levels.width, levels.height)
        let set = Set(chosen.map(Int32.init))
        let labels = marks.labels
        func inside(_ i: Int) -> Bool { set.contains(labels[i]) }
        var boundary = 0, x0 = w, y0 = h, x1 = -1, y1 = -1
        for y in 0..<h {
            for x in 0..<w where inside(y * w + x) {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
                let i = y * w + x
                if x == 0 || y == 0 || x == w - 1 || y == h - 1 || !inside(i - 1) || !inside(i + 1) || !inside(i - w) || !inside(i + w) { boundary += 1 }
            }
        }
        guard x1 >= x0 else { return 0 }
        return Double(boundary) / 2 / Double(max(x1 - x0 + 1, y1 - y0 + 1))
    }

    /// The marks not taken for the digit that are at least `fraction` of its size.
    public func otherMarks(atLeast fraction: Double) -> [InkComponent] {
        let size = Double(digitPixels)
        return marks.components.indices.filter { !digit.contains($0) && !edge.contains($0) && Double(marks.components[$0].pixels) >= fraction * size }
            .map { marks.components[$0] }
    }
}

/// Turns pictures of single digits into network inputs; see the file header for the steps.
public struct DigitPreprocessor: Sendable {
    /// Target height and width, mean and std (from the checkpoint).
    public var input: InputDescriptor
    /// After the contrast stretch, values below this are background (step 4).
    public var inkThreshold: Double

    public init(input: InputDescriptor = InputDescriptor(), inkThreshold: Double = 0.1) {
        self.input = input
        self.inkThreshold = inkThreshold
    }

    /// B, the side of the box the digit is scaled to fit: 20 for 28×28 inputs.
    public var boxSize: Int { max(1, Int((20.0 / 28.0 * Double(min(input.height, input.width))).rounded())) }

    /// Steps 1 and 2.
    public func analyse(_ bitmap: Bitmap) -> InkAnalysis {
        let levels = InkLevels(bitmap)
        let marks = InkComponents(mask: levels.mask, width: levels.width, height: levels.height)
        let all = marks.components
        guard !all.isEmpty else { return InkAnalysis(levels: levels, marks: marks, digit: [], edge: []) }
        // Marks along the edge, passed over when a mark of a digit's size is left without them.
        let along = Self.edgeMarks(marks, width: levels.width, height: levels.height)
        let sizeable = Double(max(levels.width, levels.height)) * Self.edgeFallbackSide
        let first = all.indices.first { !along.contains($0) }.flatMap { Double(max(all[$0].width, all[$0].height)) >= sizeable ? $0 : nil }
        let edge: Set<Int> = first == nil ? [] : along
        let m = first ?? 0, main = all[m]
        let grow = Int((0.15 * Double(max(main.width, main.height))).rounded())
        let (gx0, gy0, gx1, gy1) = (main.x0 - grow, main.y0 - grow, main.x1 + grow, main.y1 + grow)
        let minimum = 0.05 * Double(main.pixels)
        let parts = all.indices.filter { (i: Int) -> Bool in
            let c = all[i]
            guard i != m, !edge.contains(i), Double(c.pixels) >= minimum else { return false }
            return c.x0 <= gx1 && c.x1 >= gx0 && c.y0 <= gy1 && c.y1 >= gy0
        }
        return InkAnalysis(levels: levels, marks: marks, digit: [m] + parts, edge: edge)
    }

    /// The side, as a fraction of the picture's longer side, that a mark off the edge needs for the marks
    /// along the edge to be passed over (as `DigitReader.littleInkSide`).
    public static let edgeFallbackSide = 0.03
    /// A mark is along the edge when it covers more than this fraction of one side of the picture.
    public static let edgeRun = 0.25

    /// The marks that cover more than `edgeRun` of the pixels of one side of the picture (its outermost row
    /// or column): a paper's edge, the desk, a shadow's rim, a corner filled by a rotation. A digit cropped
    /// tightly touches the edge only where its strokes end.
    public static func edgeMarks(_ marks: InkComponents, width w: Int, height h: Int) -> Set<Int> {
        var found: Set<Int> = []
        let sides: [(count: Int, index: (Int) -> Int)] = [(w, { $0 }), (w, { (h - 1) * w + $0 }), (h, { $0 * w }), (h, { $0 * w + w - 1 })]
        for side in sides {
            var run: [Int32: Int] = [:]
            for k in 0..<side.count {
                let label = marks.labels[side.index(k)]
                if label >= 0 { run[label, default: 0] += 1 }
            }
            for (label, n) in run where Double(n) > edgeRun * Double(side.count) { found.insert(Int(label)) }
        }
        return found
    }

    /// Steps 1–7 for a picture of one digit: H·W intensities in [0, 1], 0 background, row-major.
    ///
    /// - Throws: ``InferenceError/blankImage(file:)`` when nothing stands out from the background.
    public func intensities(of bitmap: Bitmap, file: String = "<image>") throws -> [Double] {
        let analysis = analyse(bitmap)
        guard let values = render(analysis, marks: analysis.digit) else { throw InferenceError.blankImage(file: file) }
        return values
    }

    /// All eight steps: H·W values ready for the network, (v − mean) / std.
    public func networkInput(of bitmap: Bitmap, file: String = "<image>") throws -> [Float] {
        let mean = input.mean, std = input.std
        return try intensities(of: bitmap, file: file).map { Float(($0 - mean) / std) }
    }

    /// The digits of a written number, left to right: the marks of at least 15% of the largest one's size,
    /// grouped when their columns overlap by more than half of the narrower one (the parts of one digit),
    /// each group rendered by steps 3–7. Empty when there is no ink.
    public func digitsLeftToRight(_ analysis: InkAnalysis) -> [[Double]] {
        let all = analysis.marks.components
        guard let main = analysis.digit.first else { return [] }
        let largest = all[main]
        var groups: [(x0: Int, x1: Int, marks: [Int])] = []
        for i in all.indices where !analysis.edge.contains(i) && Double(all[i].pixels) >= 0.15 * Double(largest.pixels) {
            let c = all[i]
            if let g = groups.firstIndex(where: { min($0.x1, c.x1) - max($0.x0, c.x0) + 1 > min($0.x1 - $0.x0, c.width - 1) / 2 }) {
                groups[g].x0 = min(groups[g].x0, c.x0); groups[g].x1 = max(groups[g].x1, c.x1); groups[g].marks.append(i)
            } else {
                groups.append((c.x0, c.x1, [i]))
            }
        }
        return groups.sorted { $0.x0 < $1.x0 }.compactMap { render(analysis, marks: $0.marks) }
    }

    /// Steps 3–7 for the given marks; nil when they hold no ink.
    public func render(_ analysis: InkAnalysis, marks chosen: [Int]) -> [Double]? {
        let levels = analysis.levels, labels = analysis.marks.labels
        let (w, h) = (levels.width, levels.height)
        guard !chosen.isEmpty else { return nil }
        let chosenSet = Set(chosen.map(Int32.init))
        var selected = labels.map { chosenSet.contains($0) }
        var x0 = w, y0 = h, x1 = -1, y1 = -1
        var area = 0, boundary = 0
        var inkValues: [Double] = []
        for y in 0..<h {
            for x in 0..<w where selected[y * w + x] {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
                area += 1
                inkValues.append(levels.levelled[y * w + x])
                let edge = x == 0 || y == 0 || x == w - 1 || y == h - 1
                    || !selected[y * w + x - 1] || !selected[y * w + x + 1] || !selected[(y - 1) * w + x] || !selected[(y + 1) * w + x]
                if edge { boundary += 1 }
            }
        }
        guard area > 0 else { return nil }
        // 3. Strokes: thicken a fine pen's strokes to a tenth of the digit's longer side.
        let side = Double(max(x1 - x0 + 1, y1 - y0 + 1))
        let strokeWidth = 2 * Double(area) / Double(max(1, boundary)), target = 0.1 * side
        var values = [Double](repeating: 0, count: w * h)
        if strokeWidth < 0.5 * target {
            let r = Int(((target - strokeWidth) / 2).rounded())
            selected = InkLevels.dilate(selected, width: w, height: h, radius: r)
            for i in values.indices where selected[i] { values[i] = 1 }
            x0 = max(0, x0 - r); y0 = max(0, y0 - r); x1 = min(w - 1, x1 + r); y1 = min(h - 1, y1 + r)
        } else {
            // 4. Contrast on the marks and their soft edges.
            let reference = max(1e-6, InkLevels.quantile(&inkValues, 0.9))
            let halo = max(1, Int(side / 20))
            let near = InkLevels.dilate(selected, width: w, height: h, radius: halo)
            for i in values.indices where near[i] {
                let s = min(1, levels.levelled[i] / reference)
                values[i] = s < inkThreshold ? 0 : s
            }
            x0 = max(0, x0 - halo); y0 = max(0, y0 - halo); x1 = min(w - 1, x1 + halo); y1 = min(h - 1, y1 + halo)
            // Trim the grown box back to where values are.
            var tx0 = x1, ty0 = y1, tx1 = x0, ty1 = y0
            for y in y0...y1 { for x in x0...x1 where values[y * w + x] > 0 { tx0 = min(tx0, x); tx1 = max(tx1, x); ty0 = min(ty0, y); ty1 = max(ty1, y) } }
            guard tx1 >= tx0 else { return nil }
            (x0, y0, x1, y1) = (tx0, ty0, tx1, ty1)
        }
        // 5. Crop.
        let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1)
        var crop = [Double](repeating: 0, count: bw * bh)
        for y in 0..<bh { for x in 0..<bw { crop[y * bw + x] = values[(y0 + y) * w + x0 + x] } }
        // 6. Scale to fit B×B, keeping the aspect ratio.
        let box = boxSize
        let s = Double(box) / Double(max(bw, bh))
        let nw = max(1, min(box, Int((Double(bw) * s).rounded()))), nh = max(1, min(box, Int((Double(bh) * s).rounded())))
        let scaled = Self.resample(crop, width: bw, height: bh, toWidth: nw, toHeight: nh)
        // 7. Centre of mass on the centre of the field.
        let (H, W) = (input.height, input.width)
        guard let com = Self.centreOfMass(scaled, width: nw, height: nh) else { return nil }
        let ox = max(0, min(W - nw, Int((Double(W) / 2 - com.x).rounded())))
        let oy = max(0, min(H - nh, Int((Double(H) / 2 - com.y).rounded())))
        var out = [Double](repeating: 0, count: H * W)
        for y in 0..<nh { for x in 0..<nw { out[(oy + y) * W + ox + x] = scaled[y * nw + x] } }
        return out
    }

    // MARK: Steps

    /// (Σ x·v / Σ v, Σ y·v / Σ v) with x, y pixel indices; nil when Σ v = 0.
    public static func centreOfMass(_ v: [Double], width w: Int, height h: Int) -> (x: Double, y: Double)? {
        var sum = 0.0, sx = 0.0, sy = 0.0
        for y in 0..<h {
            for x in 0..<w {
                let m = v[y * w + x]
                sum += m; sx += Double(x) * m; sy += Double(y) * m
            }
        }
        return sum > 0 ? (sx / sum, sy / sum) : nil
    }

    /// Step 5: resamples a width×height image to toWidth×toHeight, separably, each axis by area averaging
    /// when it shrinks and bilinear interpolation (pixel centres aligned) when it grows.
    public static func resample(_ v: [Double], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Double] {
        let wx = weights(from: width, to: toWidth), wy = weights(from: height, to: toHeight)
        // Rows first: height × toWidth.
        var rows = [Double](repeating: 0, count: height * toWidth)
        for y in 0..<height {
            for (j, taps) in wx.enumerated() {
                var s = 0.0
                for (i, w) in taps { s += v[y * width + i] * w }
                rows[y * toWidth + j] = s
            }
        }
        var out = [Double](repeating: 0, count: toHeight * toWidth)
        for (j, taps) in wy.enumerated() {
            for x in 0..<toWidth {
                var s = 0.0
                for (i, w) in taps { s += rows[i * toWidth + x] * w }
                out[j * toWidth + x] = s
            }
        }
        return out
    }

    /// For each output index, the (input index, weight) pairs that make it; the weights sum to 1.
    static func weights(from n: Int, to m: Int) -> [[(Int, Double)]] {
        let r = Double(n) / Double(m)
        if m <= n {
            // Area: output j covers input [j·r, (j+1)·r).
            return (0..<m).map { j in
                let a = Double(j) * r, b = Double(j + 1) * r
                var taps: [(Int, Double)] = []
                var i = Int(a.rounded(.down))
                while Double(i) < b - 1e-12 && i < n {
                    let overlap = min(b, Double(i + 1)) - max(a, Double(i))
                    if overlap > 1e-12 { taps.append((i, overlap / r)) }
                    i += 1
                }
                return taps
            }
        }
        // Bilinear: output centre j + ½ sits at input coordinate (j + ½)·r − ½.
        return (0..<m).map { j in
            let x = max(0, min(Double(n - 1), (Double(j) + 0.5) * r - 0.5))
            let i = min(n - 2, Int(x.rounded(.down)))
            guard n > 1 else { return [(0, 1)] }
            let t = x - Double(i)
            return [(i, 1 - t), (i + 1, t)]
        }
    }
}
