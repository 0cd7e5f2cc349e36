//  PaddedColumns.swift
//
//  im2col for stride-1 convolutions, laid out on the padded width.
//
//  Dimensions (the module's legend, Sources/CNN/README.md): C channels, H×W input, HH×WW kernel, P padding, Hx = H + 2P, Wx = W + 2P,
//  Ho = Hx − HH + 1, Wo = Wx − WW + 1, Q = C·HH·WW.
//
//  With x̃ the zero-padded image (C, Hx, Wx), the stride-1 output (i, j) reads x̃[c, i + k, j + l]. Computing
//  the output on the padded width, at positions t = i·Wx + j for all j < Wx (the last Wx − Wo of each row
//  are junk, computed and then ignored), turns every row of the column matrix into one contiguous run of x̃:
//      cols[(c·HH + k)·WW + l][t] = x̃[c·Hx·Wx + k·Wx + l + t],   t in 0..<Ho·Wx
//  Lowering is then Q copies of Ho·Wx floats instead of Q·Ho short rows with bounds checks, and col2im is
//  Q contiguous additions into dx̃, provided the junk columns of dcols are zero (they are when the junk
//  columns of dy are, since dcols = Wᵀ·dy). The price is Wx/Wo times the GEMM work, so it is used only where
//  that ratio is small (`Conv2D.choose`). The last row's junk reads run WW − 1 floats past x̃: x̃ carries that
//  much zero slack.
//
//  With `compact`, the same padded image feeds the usual compact layout (Q, Ho·Wo): each row is Ho copies of
//  Wo floats without bounds checks (vector copies; the last one of a row moved back to end at Wo), and
//  col2im adds Wo-long runs, instead of plain im2col's per-row bounds and zero fills (Sources/CNN/README.md).
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`.

/// The padded-width column layout of one image for a stride-1 convolution, or (`compact`) the usual layout
/// built from the padded image.
public struct PaddedColumns {
    public let geometry: ConvGeometry
    /// Hx, Wx
    public let paddedHeight, paddedWidth: Int
    /// Rows of Wo (the usual im2col) rather than Wx.
    public let compact: Bool

    public init(_ g: ConvGeometry, compact: Bool = false) {
        precondition(g.stride == 1, "PaddedColumns needs stride 1")
        geometry = g
        paddedHeight = g.h + 2 * g.padding
        paddedWidth = g.w + 2 * g.padding
        self.compact = compact
    }

    /// The stored length of an output row: Wo when `compact`, else Wx.
    @inlinable public var rowLength: Int { compact ? geometry.wo : paddedWidth }

    /// Columns of the column matrix, and the length of an output plane as stored: Ho·Wx, or Ho·Wo.
    @inlinable public var width: Int { geometry.ho * rowLength }

    @inline(__always)
    static func copyRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        if n >= 16 {
            var j = 0
            while j &+ 16 <= n {
                UnsafeMutableRawPointer(dst + j).storeBytes(of: UnsafeRawPointer(src + j).loadUnaligned(as: SIMD16<Float>.self),
                                                            as: SIMD16<Float>.self)
                j &+= 16
            }
            if j < n {
                let last = n &- 16   // overlaps what is written already, with the same values
                UnsafeMutableRawPointer(dst + last).storeBytes(
                    of: UnsafeRawPointer(src + last).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
            }
        } else {
            for j in 0..<n { dst[j] = src[j] }
        }
    }

    /// Floats in x̃ (or dx̃) including the slack.
    @inlinable public var paddedCount: Int { geometry.c * paddedHeight * paddedWidth + geometry.kw - 1 }

    /// x (C, H, W) → cols (Q, Ho·Wx), through the scratch x̃ (`paddedCount` floats).
    public func lower(_ x: UnsafePointer<Float>, padded slice: WorkspaceSlice<Float>, into cols: UnsafeMutablePointer<Float>) {
        let padded = slice.pointer(for: paddedCount, "PaddedColumns.lower")
        let g = geometry, (Hx, Wx, P) = (paddedHeight, paddedWidth, g.padding), N = width
        if P > 0 { padded.update(repeating: 0, count: paddedCount) } else { (padded + g.c * Hx * Wx).update(repeating: 0, count: g.kw - 1) }
        for c in 0..<g.c {
            for h in 0..<g.h {
                (padded + ((c &* Hx &+ h &+ P) &* Wx &+ P)).update(from: x + (c &* g.h &+ h) &* g.w, count: g.w)
            }
        }
        var row = cols
        for c in 0..<g.c {
            for k in 0..<g.kh {
                for l in 0..<g.kw {
                    let src = padded + (c &* Hx &* Wx &+ k &* Wx &+ l)
                    if compact {
                        for i in 0..<g.ho { Self.copyRow(src + i &* Wx, row + i &* g.wo, g.wo) }
                    } else {
                        row.update(from: src, count: N)
                    }
                    row += N
                }
            }
        }
    }

    /// dcols (Q, Ho·Wx), junk columns zero → dx (C, H, W), overwritten, through the scratch dx̃ (`paddedCount`).
    public func raise(_ dcols: UnsafePointer<Float>, padded slice: WorkspaceSlice<Float>, into dx: UnsafeMutablePointer<Float>) {
        let padded = slice.pointer(for: paddedCount, "PaddedColumns.raise")
        let g = geometry, (Hx, Wx, P) = (paddedHeight, paddedWidth, g.padding), N = width
        padded.update(repeating: 0, count: paddedCount)
        var row = dcols
        for c in 0..<g.c {
            for k in 0..<g.kh {
                for l in 0..<g.kw {
                    let dst = padded + (c &* Hx &* Wx &+ k &* Wx &+ l)
                    if compact {
                        for i in 0..<g.ho {
                            let d = dst + i &* Wx, s = row + i &* g.wo
                            var j = 0
                            while j < g.wo { d[j] += s[j]; j &+= 1 }
                        }
                    } else {
                        var t = 0
                        while t < N { dst[t] += row[t]; t &+= 1 }
                    }
                    row += N
                }
            }
        }
        for c in 0..<g.c {
            for h in 0..<g.h {
                (dx + (c &* g.h &+ h) &* g.w).update(from: padded + ((c &* Hx &+ h &+ P) &* Wx &+ P), count: g.w)
            }
        }
    }
}
