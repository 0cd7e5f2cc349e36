//  DigitPreprocessor.swift
//
//  Any picture of one digit → the input an MNIST network expects, the way MNIST itself was made
//  (LeCun et al.: "size-normalized to fit in a 20x20 pixel box while preserving their aspect ratio ...
//  centered in a 28x28 image by computing the center of mass of the pixels"):
//
//    1. gray      g = (0.299 R + 0.587 G + 0.114 B) / 255, alpha laid over white paper;
//    2. polarity  if the border is light (median of the outermost pixels > 0.5), the digit is dark ink on
//                 light paper: invert, v = 1 − g, so ink is bright on dark as in MNIST;
//    3. contrast  stretch so the background (that border median) is 0 and the brightest pixel 1, and set
//                 everything below `inkThreshold` to 0 (paper texture, JPEG noise);
//    4. crop      to the bounding box of the remaining ink;
//    5. scale     to fit a B×B box keeping the aspect ratio, B = round(20/28 · H) (20 for 28×28):
//                 area averaging when shrinking, bilinear when enlarging;
//    6. centre    paste into H×W so the centre of mass (Σ x·v / Σ v, in pixel indices) lands on (W/2, H/2),
//                 rounded to whole pixels, shifted back inside if it would stick out;
//    7. normalise x = (v − mean) / std with the checkpoint's mean and std.

import Foundation
import Images

/// Turns pictures of single digits into network inputs; see the file header for the steps.
public struct DigitPreprocessor: Sendable {
    /// Target height and width, mean and std (from the checkpoint).
    public var input: InputDescriptor
    /// After the contrast stretch, values below this are background (step 3).
    public var inkThreshold: Double

    public init(input: InputDescriptor = InputDescriptor(), inkThreshold: Double = 0.1) {
        self.input = input
        self.inkThreshold = inkThreshold
    }

    /// B, the side of the box the digit is scaled to fit: 20 for 28×28 inputs.
    public var boxSize: Int { max(1, Int((20.0 / 28.0 * Double(min(input.height, input.width))).rounded())) }

    /// Steps 1–6: H·W intensities in [0, 1], 0 background, row-major.
    ///
    /// - Throws: ``InferenceError/blankImage(file:)`` when nothing stands out from the background.
    public func intensities(of bitmap: Bitmap, file: String = "<image>") throws -> [Double] {
        let (w, h) = (bitmap.width, bitmap.height)
        var v = Self.ink(of: bitmap)

        // 3. Contrast: background 0, brightest 1, faint noise 0.
        let background = Self.borderMedian(v, width: w, height: h)
        let brightest = v.max() ?? 0
        guard brightest - background > 0.1 else { throw InferenceError.blankImage(file: file) }
        for i in v.indices {
            let s = (v[i] - background) / (brightest - background)
            v[i] = s < inkThreshold ? 0 : min(1, s)
        }

        // 4. Bounding box of the ink.
        var x0 = w, y0 = h, x1 = -1, y1 = -1
        for y in 0..<h {
            for x in 0..<w where v[y * w + x] > 0 {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        guard x1 >= 0 else { throw InferenceError.blankImage(file: file) }
        let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1)
        var crop = [Double](repeating: 0, count: bw * bh)
        for y in 0..<bh { for x in 0..<bw { crop[y * bw + x] = v[(y0 + y) * w + x0 + x] } }

        // 5. Scale to fit B×B, keeping the aspect ratio.
        let box = boxSize
        let s = Double(box) / Double(max(bw, bh))
        let nw = max(1, min(box, Int((Double(bw) * s).rounded()))), nh = max(1, min(box, Int((Double(bh) * s).rounded())))
        let scaled = Self.resample(crop, width: bw, height: bh, toWidth: nw, toHeight: nh)

        // 6. Centre of mass on the centre of the field.
        let (H, W) = (input.height, input.width)
        guard let com = Self.centreOfMass(scaled, width: nw, height: nh) else { throw InferenceError.blankImage(file: file) }
        let ox = max(0, min(W - nw, Int((Double(W) / 2 - com.x).rounded())))
        let oy = max(0, min(H - nh, Int((Double(H) / 2 - com.y).rounded())))
        var out = [Double](repeating: 0, count: H * W)
        for y in 0..<nh { for x in 0..<nw { out[(oy + y) * W + ox + x] = scaled[y * nw + x] } }
        return out
    }

    /// All seven steps: H·W values ready for the network, (v − mean) / std.
    public func networkInput(of bitmap: Bitmap, file: String = "<image>") throws -> [Float] {
        let mean = input.mean, std = input.std
        return try intensities(of: bitmap, file: file).map { Float(($0 - mean) / std) }
    }

    // MARK: Steps

    /// Steps 1 and 2: per pixel, how much ink (0 paper … 1 ink), whichever way round the picture is.
    public static func ink(of bitmap: Bitmap) -> [Double] {
        var g = gray(of: bitmap)
        if borderMedian(g, width: bitmap.width, height: bitmap.height) > 0.5 {
            for i in g.indices { g[i] = 1 - g[i] }
        }
        return g
    }

    /// Step 1: luma in [0, 1] (0 black), with alpha laid over white.
    public static func gray(of bitmap: Bitmap) -> [Double] {
        let c = bitmap.layout.channels, n = bitmap.width * bitmap.height
        var out = [Double](repeating: 0, count: n)
        bitmap.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let o = i * c
                let luma: Double
                switch bitmap.layout {
                case .gray, .grayAlpha: luma = Double(p[o])
                case .rgb, .rgba: luma = 0.299 * Double(p[o]) + 0.587 * Double(p[o + 1]) + 0.114 * Double(p[o + 2])
                }
                let alpha = bitmap.layout.hasAlpha ? Double(p[o + c - 1]) / 255 : 1
                out[i] = (luma * alpha + 255 * (1 - alpha)) / 255
            }
        }
        return out
    }

    /// The median of the outermost ring of pixels (all pixels when the image is under 3 wide or high).
    public static func borderMedian(_ v: [Double], width w: Int, height h: Int) -> Double {
        var ring: [Double] = []
        if w < 3 || h < 3 {
            ring = v
        } else {
            for x in 0..<w { ring.append(v[x]); ring.append(v[(h - 1) * w + x]) }
            for y in 1..<(h - 1) { ring.append(v[y * w]); ring.append(v[y * w + w - 1]) }
        }
        ring.sort()
        return ring.isEmpty ? 0 : ring[ring.count / 2]
    }

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
