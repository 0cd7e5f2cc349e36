//  Im2Col.swift
//
//  Dimensions (the module's legend, Sources/CNN/README.md): N batch, C channels, H×W input, HH×WW kernel, S stride, P padding,
//  Ho = 1 + (H + 2P − HH) / S, Wo = 1 + (W + 2P − WW) / S, L = Ho·Wo.
//
//  im2col lays the receptive fields of the whole batch out as the columns of one matrix, so a convolution
//  becomes one GEMM per batch:
//      cols[(c·HH + k)·WW + l][n·L + i·Wo + j] = x[n, c, i·S − P + k, j·S − P + l]   (0 outside the image)
//  col2im is its adjoint: it adds every column entry back onto the input position it came from.
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`.

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

    /// The same convolution on one image.
    public var single: ConvGeometry {
        ConvGeometry(n: 1, c: c, h: h, w: w, kh: kh, kw: kw, stride: stride, padding: padding)
    }
}

/// im2col and col2im over a whole batch, split across threads by image.
///
/// For kernel column l, output column j reads input column j·S − P + l, which lies inside the image for
/// j in [jLo(l), jHi(l)); both bounds are computed once per l, so the inner loops are plain copies.
public enum Im2Col {
    /// The output columns j whose input column j·S − P + l lies in [0, W).
    @inline(__always)
    static func validColumns(_ g: ConvGeometry, _ l: Int) -> (Int, Int) {
        let lo = min(g.wo, max(0, (g.padding - l + g.stride - 1) / g.stride))
        let hi = max(lo, min(g.wo, (g.w + g.padding - l + g.stride - 1) / g.stride))
        return (lo, hi)
    }

    /// x (N, C, H, W) → cols (C·HH·WW, N·Ho·Wo).
    public static func forward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        let L = g.positions, NL = g.columns
        let (S, P, W, H, Wo) = (g.stride, g.padding, g.w, g.h, g.wo)
        Parallel.forEach(g.n) { n in
            for c in 0..<g.c {
                let planeIndex: Int = (n &* g.c &+ c) &* H &* W
                let plane = x + planeIndex
                for k in 0..<g.kh {
                    for l in 0..<g.kw {
                        let (jLo, jHi) = validColumns(g, l)
                        let rowIndex: Int = ((c &* g.kh &+ k) &* g.kw &+ l) &* NL &+ n &* L
                        let row = cols + rowIndex
                        for i in 0..<g.ho {
                            let y = i &* S &- P &+ k
                            let out = row + (i &* Wo)
                            if y < 0 || y >= H {
                                var j = 0
                                while j < Wo { out[j] = 0; j &+= 1 }
                                continue
                            }
                            let offset: Int = y &* W &- P &+ l
                            let src = plane + offset
                            // Rows are short (Wo ≤ a few dozen): plain loops, which the compiler vectorises,
                            // beat calls to memcpy and memset here.
                            var j = 0
                            while j < jLo { out[j] = 0; j &+= 1 }
                            if S == 1 {
                                while j < jHi { out[j] = src[j]; j &+= 1 }
                            } else {
                                while j < jHi { out[j] = src[j &* S]; j &+= 1 }
                            }
                            while j < Wo { out[j] = 0; j &+= 1 }
                        }
                    }
                }
            }
        }
    }

    /// cols (C·HH·WW, N·Ho·Wo) → dx (N, C, H, W), overwriting dx: the adjoint of `forward`.
    public static func backward(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>) {
        let L = g.positions, NL = g.columns
        let (S, P, W, H, Wo) = (g.stride, g.padding, g.w, g.h, g.wo)
        Parallel.forEach(g.n) { n in
            (dx + n &* g.c &* H &* W).update(repeating: 0, count: g.c &* H &* W)
            for c in 0..<g.c {
                let planeIndex: Int = (n &* g.c &+ c) &* H &* W
                let plane = dx + planeIndex
                for k in 0..<g.kh {
                    for l in 0..<g.kw {
                        let (jLo, jHi) = validColumns(g, l)
                        let rowIndex: Int = ((c &* g.kh &+ k) &* g.kw &+ l) &* NL &+ n &* L
                        let row = cols + rowIndex
                        for i in 0..<g.ho {
                            let y = i &* S &- P &+ k
                            if y < 0 || y >= H { continue }
                            let src = row + (i &* Wo)
                            let offset: Int = y &* W &- P &+ l
                            let dst = plane + offset
                            var j = jLo
                            if S == 1 {
                                while j < jHi { dst[j] += src[j]; j &+= 1 }
                            } else {
                                while j < jHi { dst[j &* S] += src[j]; j &+= 1 }
                            }
                        }
                    }
                }
            }
        }
    }
}
