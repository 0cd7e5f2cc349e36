//  Im2Col.swift
//
//  Dimension legend: N batch, C channels, H×W input, HH×WW kernel, S stride, P padding,
//  Ho = 1 + (H + 2P − HH) / S, Wo = 1 + (W + 2P − WW) / S, L = Ho·Wo.
//
//  im2col lays the receptive fields of the whole batch out as the columns of one matrix, so a convolution
//  becomes one GEMM per batch:
//      cols[(c·HH + k)·WW + l][n·L + i·Wo + j] = x[n, c, i·S − P + k, j·S − P + l]   (0 outside the image)
//  col2im is its adjoint: it adds every column entry back onto the input position it came from.

import RealModule

/// The geometry of one convolution.
public struct ConvGeometry: Equatable {
    public let n, c, h, w: Int
    public let kh, kw, stride, padding: Int
    public let ho, wo: Int

    public init(n: Int, c: Int, h: Int, w: Int, kh: Int, kw: Int, stride: Int, padding: Int) {
        self.n = n; self.c = c; self.h = h; self.w = w
        self.kh = kh; self.kw = kw; self.stride = stride; self.padding = padding
        self.ho = (h + 2 * padding - kh) / stride + 1
        self.wo = (w + 2 * padding - kw) / stride + 1
    }

    /// Rows of the column matrix: C·HH·WW.
    @inlinable public var patchSize: Int { c * kh * kw }
    /// Output positions per image: Ho·Wo.
    @inlinable public var positions: Int { ho * wo }
    /// Columns of the column matrix: N·Ho·Wo.
    @inlinable public var columns: Int { n * ho * wo }
}

/// im2col and col2im over a whole batch, split across threads by image.
public enum Im2Col {
    /// x (N, C, H, W) → cols (C·HH·WW, N·Ho·Wo).
    public static func forward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        let L = g.positions, NL = g.columns
        Parallel.forEach(g.n) { n in
            for c in 0..<g.c {
                let plane = x + (n * g.c + c) * g.h * g.w
                for k in 0..<g.kh {
                    for l in 0..<g.kw {
                        let row = cols + ((c * g.kh + k) * g.kw + l) * NL + n * L
                        for i in 0..<g.ho {
                            let y = i * g.stride - g.padding + k
                            let out = row + i * g.wo
                            if y < 0 || y >= g.h {
                                out.update(repeating: 0, count: g.wo)
                                continue
                            }
                            let src = plane + y * g.w
                            // j·S − P + l must lie in [0, W): j in [jLo, jHi).
                            let jLo = min(g.wo, max(0, (g.padding - l + g.stride - 1) / g.stride))
                            let jHi = max(jLo, min(g.wo, (g.w + g.padding - l + g.stride - 1) / g.stride))
                            for j in 0..<jLo { out[j] = 0 }
                            if g.stride == 1 {
                                (out + jLo).update(from: src + (jLo - g.padding + l), count: jHi - jLo)
                            } else {
                                for j in jLo..<jHi { out[j] = src[j * g.stride - g.padding + l] }
                            }
                            for j in jHi..<g.wo { out[j] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// cols (C·HH·WW, N·Ho·Wo) → dx (N, C, H, W), overwriting dx: the adjoint of `forward`.
    public static func backward(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>) {
        let L = g.positions, NL = g.columns
        Parallel.forEach(g.n) { n in
            (dx + n * g.c * g.h * g.w).update(repeating: 0, count: g.c * g.h * g.w)
            for c in 0..<g.c {
                let plane = dx + (n * g.c + c) * g.h * g.w
                for k in 0..<g.kh {
                    for l in 0..<g.kw {
                        let row = cols + ((c * g.kh + k) * g.kw + l) * NL + n * L
                        for i in 0..<g.ho {
                            let y = i * g.stride - g.padding + k
                            if y < 0 || y >= g.h { continue }
                            let src = row + i * g.wo
                            let dst = plane + y * g.w
                            let jLo = min(g.wo, max(0, (g.padding - l + g.stride - 1) / g.stride))
                            let jHi = max(jLo, min(g.wo, (g.w + g.padding - l + g.stride - 1) / g.stride))
                            for j in jLo..<jHi { dst[j * g.stride - g.padding + l] += src[j] }
                        }
                    }
                }
            }
        }
    }
}
