//  Augmentation.swift
//
//  A random warp of each training image, drawn anew every epoch, computed from the uint8 pixels.
//
//  Dimension legend: H, W image rows and columns; (x, y) a pixel's column and row, c = ((W − 1)/2, (H − 1)/2).
//  Per image, one generator seeded from (run seed, epoch, position in the epoch's order) draws, in this order:
//      θ ~ U(−rotate, rotate) degrees,  s ~ U(1 − scale, 1 + scale),  t = (tx, ty) ~ U(−shift, shift)²
//  and, with elastic (α, σ), two fields of U(−1, 1) per pixel, each smoothed by a Gaussian of σ pixels (separable,
//  radius ⌈3σ⌉, zero outside the image) and scaled by α: (ex, ey).
//  Output pixel p = (x, y) samples the original at
//      q = c + R(−θ)·(p − c − t) / s + (ex(p), ey(p))
//  (the inverse of: scale by s and rotate by θ about the centre, then shift by t), bilinearly, with pixels
//  outside the image taken as 0, the background. The sampled value v in [0, 255] is normalised as the data is:
//  (v/255 − mean)/std. Every number depends only on the seed, the epoch and the position, so any thread, batch
//  split or resume gives the same bytes.

import CNN
import RealModule

/// The warp's ranges; all zero is no augmentation.
public struct Augmentation: Equatable, Sendable {
    /// Largest shift in pixels, each axis.
    public var shift: Double = 0
    /// Largest rotation in degrees, either way.
    public var rotate: Double = 0
    /// Largest relative change of size: the factor is in [1 − scale, 1 + scale].
    public var scale: Double = 0
    /// Elastic distortion (Simard et al. 2003): strength α in pixels and smoothness σ in pixels; α = 0 is none.
    public var elasticAlpha: Double = 0
    public var elasticSigma: Double = 0

    public init(shift: Double = 0, rotate: Double = 0, scale: Double = 0, elasticAlpha: Double = 0, elasticSigma: Double = 0) {
        self.shift = shift
        self.rotate = rotate
        self.scale = scale
        self.elasticAlpha = elasticAlpha
        self.elasticSigma = elasticSigma
    }

    public var isIdentity: Bool { shift == 0 && rotate == 0 && scale == 0 && elasticAlpha == 0 }

    /// The seed of the generator for the image at `position` of epoch `epoch`'s order.
    public static func seed(_ seed: UInt64, epoch: Int, position: Int) -> UInt64 {
        (seed &* 0xD6E8_FEB8_6659_FD93) ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(position) &* 0xC2B2_AE3D_27D4_EB4F)
    }

    /// One image's draws, in the order of the file's legend, and what the sampling needs of them.
    struct Draw {
        /// R(−θ)/s as the matrix [a b; −b a].
        var a: Float, b: Float
        /// The centre c and the shift t.
        var cx: Float, cy: Float, tx: Float, ty: Float
        /// The elastic field, H·W each; empty without elastic.
        var ex: [Float], ey: [Float]
    }

    /// Draws θ, s, t (and the elastic fields) for an H×W image from `generator`.
    func draw(height H: Int, width W: Int, generator: inout RandomGenerator) -> Draw {
        let theta = Double(generator.nextUniform(Float(-rotate), Float(rotate))) * .pi / 180
        let s = Double(generator.nextUniform(Float(1 - scale), Float(1 + scale)))
        let tx = Double(generator.nextUniform(Float(-shift), Float(shift)))
        let ty = Double(generator.nextUniform(Float(-shift), Float(shift)))
        var ex: [Float] = [], ey: [Float] = []
        if elasticAlpha > 0 {
            ex = Self.smoothField(height: H, width: W, sigma: elasticSigma, alpha: elasticAlpha, generator: &generator)
            ey = Self.smoothField(height: H, width: W, sigma: elasticSigma, alpha: elasticAlpha, generator: &generator)
        }
        let (cx, cy) = (Double(W - 1) / 2, Double(H - 1) / 2)
        return Draw(a: Float(Double.cos(theta) / s), b: Float(Double.sin(theta) / s), cx: Float(cx), cy: Float(cy),
                    tx: Float(tx), ty: Float(ty), ex: ex, ey: ey)
    }

    /// Warps the H×W image `source` (0–255) into `destination` (H·W normalised values) with generator `generator`.
    public func warp(_ source: UnsafePointer<UInt8>, height H: Int, width W: Int, into destination: UnsafeMutablePointer<Float>,
                     mean: Double, std: Double, generator: inout RandomGenerator) {
        let d = draw(height: H, width: W, generator: &generator)
        let (a, b, fcx, fcy, ftx, fty, ex, ey) = (d.a, d.b, d.cx, d.cy, d.tx, d.ty, d.ex, d.ey)
        let scaleOut = Float(1 / (255 * std)), shiftOut = Float(-mean / std)
        // The source as Float in a (H + 2) × (W + 2) frame of zeros: pixel (r, c) at (r + 1)·(W + 2) + c + 1. A
        // sample point that passes the guard has −1 ≤ ⌊q⌋ ≤ W − 1 (and the same for rows), so its four taps
        // ⌊q⌋ and ⌊q⌋ + 1 lie inside the frame and need no bounds check; the frame's zeros are the background.
        let PW = W + 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: (H + 2) * PW) { framed in
            let f = framed.baseAddress!
            f.initialize(repeating: 0, count: (H + 2) * PW)
            for r in 0..<H {
                let row = f + (r + 1) * PW + 1, from = source + r * W
                for c in 0..<W { row[c] = Float(from[c]) }
            }
            let (fW, fH) = (Float(W), Float(H))
            for y in 0..<H {
                // The same products and sums, in the same order, as `referenceWarp`.
                let dy = Float(y) - fcy - fty
                let bdy = b * dy, ady = a * dy
                let out = destination + y * W
                for x in 0..<W {
                    let dx = Float(x) - fcx - ftx
                    var qx = fcx + a * dx + bdy
                    var qy = fcy - b * dx + ady
                    if !ex.isEmpty { qx += ex[y * W + x]; qy += ey[y * W + x] }
                    var v: Float = 0
                    if qx > -1, qy > -1, qx < fW, qy < fH {
                        // ⌊q⌋ without libm: truncation toward zero, one less for a negative non-integer.
                        var x0 = Int(qx), y0 = Int(qy)
                        if Float(x0) > qx { x0 -= 1 }
                        if Float(y0) > qy { y0 -= 1 }
                        let fx = qx - Float(x0), fy = qy - Float(y0)
                        let p = f + (y0 + 1) * PW + (x0 + 1)
                        let top = p[0] + fx * (p[1] - p[0])
                        let bottom = p[PW] + fx * (p[PW + 1] - p[PW])
                        v = top + fy * (bottom - top)
                    }
                    out[x] = v * scaleOut + shiftOut
                }
            }
        }
    }

    /// The specification of `warp`, pixel by pixel with a bounds check per tap: the same draws and the same
    /// bytes (tests compare the two).
    public func referenceWarp(_ source: UnsafePointer<UInt8>, height H: Int, width W: Int, into destination: UnsafeMutablePointer<Float>,
                              mean: Double, std: Double, generator: inout RandomGenerator) {
        let d = draw(height: H, width: W, generator: &generator)
        let (a, b, fcx, fcy, ftx, fty, ex, ey) = (d.a, d.b, d.cx, d.cy, d.tx, d.ty, d.ex, d.ey)
        let scaleOut = Float(1 / (255 * std)), shiftOut = Float(-mean / std)
        for y in 0..<H {
            for x in 0..<W {
                let dx = Float(x) - fcx - ftx, dy = Float(y) - fcy - fty
                var qx = fcx + a * dx + b * dy
                var qy = fcy - b * dx + a * dy
                if !ex.isEmpty { qx += ex[y * W + x]; qy += ey[y * W + x] }
                destination[y * W + x] = Self.bilinear(source, height: H, width: W, x: qx, y: qy) * scaleOut + shiftOut
            }
        }
    }

    /// The bilinear interpolation of `source` at (x, y), pixels outside the image being 0.
    @inline(__always)
    static func bilinear(_ source: UnsafePointer<UInt8>, height H: Int, width W: Int, x: Float, y: Float) -> Float {
        guard x > -1, y > -1, x < Float(W), y < Float(H) else { return 0 }
        let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
        let fx = x - Float(x0), fy = y - Float(y0)
        func at(_ r: Int, _ c: Int) -> Float { r >= 0 && r < H && c >= 0 && c < W ? Float(source[r * W + c]) : 0 }
        let top = at(y0, x0) + fx * (at(y0, x0 + 1) - at(y0, x0))
        let bottom = at(y0 + 1, x0) + fx * (at(y0 + 1, x0 + 1) - at(y0 + 1, x0))
        return top + fy * (bottom - top)
    }

    /// U(−1, 1) per pixel, smoothed by a normalised Gaussian of `sigma` (rows, then columns), times `alpha`.
    static func smoothField(height H: Int, width W: Int, sigma: Double, alpha: Double, generator: inout RandomGenerator) -> [Float] {
        let noise = (0..<(H * W)).map { _ in generator.nextUniform(-1, 1) }
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { Float(Double.exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        var rows = [Float](repeating: 0, count: H * W), field = rows
        for y in 0..<H {
            for x in 0..<W {
                var sum: Float = 0
                for k in max(-radius, -x)...min(radius, W - 1 - x) { sum += kernel[k + radius] * noise[y * W + x + k] }
                rows[y * W + x] = sum
            }
        }
        let strength = Float(alpha)
        for y in 0..<H {
            for x in 0..<W {
                var sum: Float = 0
                for k in max(-radius, -y)...min(radius, H - 1 - y) { sum += kernel[k + radius] * rows[(y + k) * W + x] }
                field[y * W + x] = strength * sum
            }
        }
        return field
    }
}
