//  Winograd.swift
//
//  3×3, stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, 2016).
//
//  Dimensions (the module's legend, Sources/CNN/README.md): C input channels, F output channels, H×W input, P padding, Ho = H + 2P − 2,
//  Wo = W + 2P − 2 (both even here), Th = Ho/2, Tw = Wo/2 tiles, T = Th·Tw, ξ in 0..<16 a position of a
//  4×4 transformed tile (row-major).
//
//  Each 2×2 output tile comes from the 4×4 input tile d around it (in the zero-padded input):
//      Y = Aᵀ [ Σ_c (G g_{f,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
//      Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1]
//  16 multiplications per tile and channel pair instead of 36. Over all tiles of an image the 16 positions
//  ξ become 16 independent products:
//      V[ξ] (C, T) = (Bᵀ d B)[ξ],   U[ξ] (F, C) = (G g Gᵀ)[ξ],   M[ξ] (F, T) = U[ξ] · V[ξ],   Y = Aᵀ M A + b.
//  Backward is the adjoint of the same linear maps:
//      dZ = A dY Aᵀ per tile,   dU[ξ] (F, C) = Σ_tiles dZ[ξ] · V[ξ]ᵀ,   dg = Gᵀ dU G;
//      dx is the 3×3 convolution of dy padded by 2 − P with the kernels flipped and F and C swapped,
//      dx[c, h, w] = Σ_f Σ_{k,l} dy[f, h + P − 2 + k, w + P − 2 + l] · g[f, c, 2 − k, 2 − l], done the same way.
//
//  The transforms run eight tiles at a time: a row of a tile block is two 16-float loads split into even
//  and odd lanes. A row of Tw tiles is covered by blocks at 0, 8, … and a last block moved back to end at
//  Tw, overlapping the one before (the overlap is written twice with the same values); so Tw ≥ 8.
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`.

/// Winograd F(2×2, 3×3) kernels for one image at a time.
public enum Winograd {
    /// Whether these kernels can compute a convolution: 3×3 kernels, stride 1, padding ≤ 2, and even outputs
    /// at least 16 wide on an input at least 16 wide (dx is computed the same way).
    public static func supports(_ g: ConvGeometry) -> Bool {
        g.kh == 3 && g.kw == 3 && g.stride == 1 && g.padding <= 2
            && g.ho % 2 == 0 && g.wo % 2 == 0 && g.wo >= 16 && g.w >= 16 && g.ho >= 2
    }

    /// The tiles of a 3×3 stride-1 convolution of an H×W input with padding P.
    public struct Tiling {
        public let height, width, padding: Int
        /// Th, Tw
        public let tilesHigh, tilesWide: Int
        public init(height: Int, width: Int, padding: Int) {
            self.height = height; self.width = width; self.padding = padding
            tilesHigh = (height + 2 * padding - 2) / 2
            tilesWide = (width + 2 * padding - 2) / 2
        }
        /// T
        @inlinable public var tiles: Int { tilesHigh * tilesWide }
        /// Rows and columns of the padded input, (2Th + 2) × (2Tw + 2).
        @inlinable public var paddedHeight: Int { 2 * tilesHigh + 2 }
        @inlinable public var paddedWidth: Int { 2 * tilesWide + 2 }
    }

    // MARK: - Filters

    /// g (F, C, 3, 3) → U (16, F, C). With `flipped`, the kernels of dx: U (16, C, F) from g[f, c, 2 − k, 2 − l].
    public static func transformFilters(_ g: UnsafePointer<Float>, outChannels F: Int, inChannels C: Int,
                                        flipped: Bool, into u: UnsafeMutablePointer<Float>) {
        let rows = flipped ? C : F, cols = flipped ? F : C
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 21) { buffer in
            let w = buffer.baseAddress!, gg = w + 9
            for f in 0..<F {
                for c in 0..<C {
                    let k = g + (f * C + c) * 9
                    for i in 0..<9 { w[i] = flipped ? k[8 - i] : k[i] }
                    // G g: rows g0, ½(g0 + g1 + g2), ½(g0 − g1 + g2), g2; then each row q times Gᵀ likewise.
                    for j in 0..<3 {
                        gg[j] = w[j]
                        gg[3 + j] = 0.5 * (w[j] + w[3 + j] + w[6 + j])
                        gg[6 + j] = 0.5 * (w[j] - w[3 + j] + w[6 + j])
                        gg[9 + j] = w[6 + j]
                    }
                    let (row, col) = flipped ? (c, f) : (f, c)
                    @inline(__always) func put(_ x: Int, _ value: Float) { u[(x * rows + row) * cols + col] = value }
                    for r in 0..<4 {
                        let q0 = gg[3 * r], q1 = gg[3 * r + 1], q2 = gg[3 * r + 2]
                        put(4 * r, q0)
                        put(4 * r + 1, 0.5 * (q0 + q1 + q2))
                        put(4 * r + 2, 0.5 * (q0 - q1 + q2))
                        put(4 * r + 3, q2)
                    }
                }
            }
        }
    }

    /// dU (16, F, C) → dg (F, C, 3, 3), added: dg += Gᵀ dU G.
    public static func addFilterGradient(_ du: UnsafePointer<Float>, outChannels F: Int, inChannels C: Int,
                                         into dg: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 28) { buffer in
            let d = buffer.baseAddress!, t = d + 16
            for f in 0..<F {
                for c in 0..<C {
                    for x in 0..<16 { d[x] = du[(x * F + f) * C + c] }
                    // Gᵀ dU: rows d0 + ½d1 + ½d2, ½d1 − ½d2, ½d1 + ½d2 + d3; then each row q times G likewise.
                    for s in 0..<4 {
                        t[s] = d[s] + 0.5 * d[4 + s] + 0.5 * d[8 + s]
                        t[4 + s] = 0.5 * d[4 + s] - 0.5 * d[8 + s]
                        t[8 + s] = 0.5 * d[4 + s] + 0.5 * d[8 + s] + d[12 + s]
                    }
                    let out = dg + (f * C + c) * 9
                    for r in 0..<3 {
                        let q = 4 * r
                        out[3 * r] += t[q] + 0.5 * t[q + 1] + 0.5 * t[q + 2]
                        out[3 * r + 1] += 0.5 * t[q + 1] - 0.5 * t[q + 2]
                        out[3 * r + 2] += 0.5 * t[q + 1] + 0.5 * t[q + 2] + t[q + 3]
                    }
                }
            }
        }
    }

    // MARK: - Tiles

    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Visits the tile blocks of a row of `tw` ≥ 8 tiles: 0, 8, …, and tw − 8 last.
    @inline(__always)
    static func forEachBlock(_ tw: Int, _ body: (Int) -> Void) {
        var j = 0
        while true {
            body(j)
            if j &+ 8 == tw { return }
            j = min(j &+ 8, tw &- 8)
        }
    }

    /// One row of eight 4×4 tiles times B: (d0 − d2, d1 + d2, d2 − d1, d1 − d3), columns split by lane.
    @inline(__always)
    static func rowTimesB(_ row: UnsafePointer<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let a = load16(row), b = load16(row + 2)
        let d0 = a.evenHalf, d1 = a.oddHalf, d2 = b.evenHalf, d3 = b.oddHalf
        return (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
    }

    /// x (C, H, W) as the transforms read it: x itself when P = 0 (tiles then never leave the image), else
    /// a zero-padded copy in `padded` ((C, 2Th + 2, 2Tw + 2) floats).
    public static func padInput(_ x: UnsafePointer<Float>, channels C: Int, _ t: Tiling,
                                padded: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let (Hx, Wx, P) = (t.paddedHeight, t.paddedWidth, t.padding)
        if P == 0 { return x }
        padded.update(repeating: 0, count: C * Hx * Wx)
        for c in 0..<C {
            for h in 0..<t.height {
                (padded + ((c &* Hx &+ h &+ P) &* Wx &+ P)).update(from: x + (c &* t.height &+ h) &* t.width, count: t.width)
            }
        }
        return UnsafePointer(padded)
    }

    /// The padded input (C, 2Th + 2, 2Tw + 2) → V (16, C, Tb) = Bᵀ d B for the tiles of `band` (tile rows;
    /// Tb = band.count·Tw). The ξ planes are C·Tb + 16 floats apart, so that they do not all start at the
    /// same offset within 4 KiB (planes a multiple of 4 KiB apart fall in the same L1 sets; figures in
    /// Sources/CNN/README.md).
    public static func transformInput(_ padded: UnsafePointer<Float>, channels C: Int, _ t: Tiling, band: Range<Int>,
                                      into v: UnsafeMutablePointer<Float>) {
        let (Hx, Wx, tw) = (t.paddedHeight, t.paddedWidth, t.tilesWide)
        let T = band.count * tw, xi = C * T + 16
        for c in 0..<C {
            let plane = padded + c &* Hx &* Wx
            forEachBlock(tw) { tj in
                // Down a column of blocks, the bottom two rows of one tile are the top two of the next:
                // each input row is multiplied by B once.
                var top = plane + (2 &* band.lowerBound &* Wx &+ 2 &* tj)
                var r0 = rowTimesB(top), r1 = rowTimesB(top + Wx)
                var o = v + (c &* T &+ tj)
                for _ in band {
                    let r2 = rowTimesB(top + 2 &* Wx), r3 = rowTimesB(top + 3 &* Wx)
                    // Bᵀ (rows): r0 − r2, r1 + r2, r2 − r1, r1 − r3
                    store8(r0.0 - r2.0, o);            store8(r0.1 - r2.1, o + xi)
                    store8(r0.2 - r2.2, o + 2 &* xi);  store8(r0.3 - r2.3, o + 3 &* xi)
                    store8(r1.0 + r2.0, o + 4 &* xi);  store8(r1.1 + r2.1, o + 5 &* xi)
                    store8(r1.2 + r2.2, o + 6 &* xi);  store8(r1.3 + r2.3, o + 7 &* xi)
                    store8(r2.0 - r1.0, o + 8 &* xi);  store8(r2.1 - r1.1, o + 9 &* xi)
                    store8(r2.2 - r1.2, o + 10 &* xi); store8(r2.3 - r1.3, o + 11 &* xi)
                    store8(r1.0 - r3.0, o + 12 &* xi); store8(r1.1 - r3.1, o + 13 &* xi)
                    store8(r1.2 - r3.2, o + 14 &* xi); store8(r1.3 - r3.3, o + 15 &* xi)
                    r0 = r2; r1 = r3
                    top += 2 &* Wx
                    o += tw
                }
            }
        }
    }

    /// Aᵀ m A for eight tiles whose 16 values ξ are `xi` apart from `p`: the outputs (y00, y01, y10, y11) of
    /// each 2×2 tile, lanes over the tiles.
    @inline(__always)
    static func outputTiles(_ p: UnsafePointer<Float>, _ xi: Int)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        @inline(__always) func at(_ x: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p + x &* xi).loadUnaligned(as: SIMD8<Float>.self)
        }
        // Aᵀ m (rows): m0 + m1 + m2, m1 − m2 − m3, for each of the 4 columns
        let a0 = at(0) + at(4) + at(8), a1 = at(1) + at(5) + at(9)
        let a2 = at(2) + at(6) + at(10), a3 = at(3) + at(7) + at(11)
        let c0 = at(4) - at(8) - at(12), c1 = at(5) - at(9) - at(13)
        let c2 = at(6) - at(10) - at(14), c3 = at(7) - at(11) - at(15)
        // then times A (columns): q0 + q1 + q2, q1 − q2 − q3
        return (a0 + a1 + a2, a1 - a2 - a3, c0 + c1 + c2, c1 - c2 - c3)
    }

    /// M (16, F, Tb) of the tiles of `band` → their rows of y (F, 2Th, 2Tw): Aᵀ m A (+ b[f] when given).
    public static func transformOutput(_ m: UnsafePointer<Float>, channels F: Int, _ t: Tiling, band: Range<Int>,
                                       bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let tw = t.tilesWide, T = band.count * tw, Wo = 2 * tw, xi = F * T + 16
        for f in 0..<F {
            let b = SIMD8<Float>(repeating: bias?[f] ?? 0)
            for ti in band {
                let out = y + (f &* t.tilesHigh &* 2 &+ 2 &* ti) &* Wo, first = f &* T &+ (ti &- band.lowerBound) &* tw
                forEachBlock(tw) { tj in
                    let (y00, y01, y10, y11) = outputTiles(m + (first &+ tj), xi)
                    // interleaved into the two output rows
                    var top = SIMD16<Float>(), bottom = SIMD16<Float>()
                    top.evenHalf = y00 + b;    top.oddHalf = y01 + b
                    bottom.evenHalf = y10 + b; bottom.oddHalf = y11 + b
                    UnsafeMutableRawPointer(out + 2 &* tj).storeBytes(of: top, as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(out + (Wo &+ 2 &* tj)).storeBytes(of: bottom, as: SIMD16<Float>.self)
                }
            }
        }
    }

    /// The same tiles through ReLU and 2×2, stride-2 max pooling, whose windows are exactly the output tiles:
    /// out (F, Th, Tw) = max over each tile of relu(y + b), and argmax the winner's index within its
    /// (2Th, 2Tw) plane, in row-major order with a strict > (as ReLUPoolEpilogue). y is never written.
    /// Bit for bit what `transformOutput`, then ReLU, then the pooling compute. Without `argmax` (evaluation),
    /// the values alone.
    public static func transformOutputReLUPool(_ m: UnsafePointer<Float>, channels F: Int, _ t: Tiling, band: Range<Int>,
                                               bias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                               argmax: UnsafeMutablePointer<Int32>?) {
        let tw = t.tilesWide, T = band.count * tw, Wo = 2 * tw, xi = F * T + 16
        let lanes = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14), wo32 = Int32(truncatingIfNeeded: Wo)
        for f in 0..<F {
            let b = SIMD8<Float>(repeating: bias[f])
            for ti in band {
                let first = f &* T &+ (ti &- band.lowerBound) &* tw, pooled = (f &* t.tilesHigh &+ ti) &* tw
                let rowStart = Int32(truncatingIfNeeded: 2 &* ti &* Wo)
                forEachBlock(tw) { tj in
                    let (y00, y01, y10, y11) = outputTiles(m + (first &+ tj), xi)
                    // On bit patterns, as ReLUPoolEpilogue.reluPool2x2Row: no float compares.
                    @inline(__always) func bits(_ v: SIMD8<Float>) -> SIMD8<Int32> { unsafeBitCast(v + b, to: SIMD8<Int32>.self) }
                    guard let argmax else {
                        let best = ReLUPoolEpilogue.reluPoolWindowValues(bits(y00), bits(y01), bits(y10), bits(y11))
                        UnsafeMutableRawPointer(out + (pooled &+ tj)).storeBytes(of: best, as: SIMD8<Int32>.self)
                        return
                    }
                    let q0 = lanes &+ (rowStart &+ Int32(truncatingIfNeeded: 2 &* tj))
                    let (best, at) = ReLUPoolEpilogue.reluPoolWindows(bits(y00), bits(y01), bits(y10), bits(y11),
                                                                      at: q0, rowStride: wo32)
                    UnsafeMutableRawPointer(out + (pooled &+ tj)).storeBytes(of: best, as: SIMD8<Int32>.self)
                    UnsafeMutableRawPointer(argmax + (pooled &+ tj)).storeBytes(of: at, as: SIMD8<Int32>.self)
                }
            }
        }
    }

    /// The rows of dY (F, 2Th, 2Tw) of the tiles of `band` → dZ (16, F, Tb) = A dY Aᵀ: the adjoint of
    /// `transformOutput`.
    public static func transformOutputGradient(_ dy: UnsafePointer<Float>, channels F: Int, _ t: Tiling, band: Range<Int>,
                                               into dz: UnsafeMutablePointer<Float>) {
        let tw = t.tilesWide, T = band.count * tw, Wo = 2 * tw, xi = F * T + 16
        for f in 0..<F {
            for ti in band {
                let rows = dy + (f &* t.tilesHigh &* 2 &+ 2 &* ti) &* Wo, first = f &* T &+ (ti &- band.lowerBound) &* tw
                forEachBlock(tw) { tj in
                    let top = load16(rows + 2 &* tj), bottom = load16(rows + (Wo &+ 2 &* tj))
                    // dY Aᵀ (per row p): y0, y0 + y1, y0 − y1, −y1
                    let e0 = (top.evenHalf, top.evenHalf + top.oddHalf, top.evenHalf - top.oddHalf, -top.oddHalf)
                    let e1 = (bottom.evenHalf, bottom.evenHalf + bottom.oddHalf, bottom.evenHalf - bottom.oddHalf,
                              -bottom.oddHalf)
                    // A (rows): e0, e0 + e1, e0 − e1, −e1
                    let o = dz + (first &+ tj)
                    store8(e0.0, o);                   store8(e0.1, o + xi)
                    store8(e0.2, o + 2 &* xi);         store8(e0.3, o + 3 &* xi)
                    store8(e0.0 + e1.0, o + 4 &* xi);  store8(e0.1 + e1.1, o + 5 &* xi)
                    store8(e0.2 + e1.2, o + 6 &* xi);  store8(e0.3 + e1.3, o + 7 &* xi)
                    store8(e0.0 - e1.0, o + 8 &* xi);  store8(e0.1 - e1.1, o + 9 &* xi)
                    store8(e0.2 - e1.2, o + 10 &* xi); store8(e0.3 - e1.3, o + 11 &* xi)
                    store8(-e1.0, o + 12 &* xi);       store8(-e1.1, o + 13 &* xi)
                    store8(-e1.2, o + 14 &* xi);       store8(-e1.3, o + 15 &* xi)
                }
            }
        }
    }

    // MARK: - Whole convolutions of one image

    /// An image's tile rows, cut into bands of at most `bandTiles` tiles (at least one row each), so that a
    /// band's V and M (16·(C + F)·Tb floats) stay in the L2 cache next to the products' packing, whatever
    /// the image size (band sizes of 48–192 tiles measured alike; Sources/CNN/README.md).
    public static let bandTiles = 96

    /// Tile rows per band: the image's rows split evenly into as few bands as keep each within `bandTiles`.
    static func bandRows(_ t: Tiling) -> Int {
        let count = max(1, (t.tiles + bandTiles - 1) / bandTiles)
        return max(1, (t.tilesHigh + count - 1) / count)
    }

    /// Calls `body` with each band of tile rows in order.
    @inline(__always)
    static func forEachBand(_ t: Tiling, _ body: (Range<Int>) -> Void) {
        let rows = bandRows(t)
        var first = 0
        while first < t.tilesHigh {
            body(first..<min(t.tilesHigh, first + rows))
            first += rows
        }
    }

    /// Scratch floats per thread for `convolve` on C → F channels over `t`: padded input, V and M of a band.
    public static func scratchCount(inChannels C: Int, outChannels F: Int, _ t: Tiling) -> Int {
        let band = bandRows(t) * t.tilesWide
        return C * t.paddedHeight * t.paddedWidth + 16 * (C * band + 16) + 16 * (F * band + 16)
    }

    /// y (F, Ho, Wo) = conv3×3(x (C, H, W), padding P) + b, from transformed filters U (16, F, C); or, with
    /// `pooled`, only relu(y) pooled over 2×2 windows (F, Ho/2, Wo/2) and their argmax when given.
    public static func convolve(_ x: UnsafePointer<Float>, inChannels C: Int, outChannels F: Int, _ t: Tiling,
                                filters u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                scratch slice: WorkspaceSlice<Float>, into y: UnsafeMutablePointer<Float>,
                                pooled: (out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?)? = nil) {
        let scratch = slice.pointer(for: scratchCount(inChannels: C, outChannels: F, t), "Winograd.convolve")
        let padded = padInput(x, channels: C, t, padded: scratch)
        let v = scratch + C * t.paddedHeight * t.paddedWidth
        forEachBand(t) { band in
            let T = band.count * t.tilesWide, vs = C * T + 16, ms = F * T + 16, m = v + 16 * vs
            transformInput(padded, channels: C, t, band: band, into: v)
            for xi in 0..<16 {
                // M[ξ] (F, Tb) = U[ξ] (F, C) · V[ξ] (C, Tb)
                BLAS.sgemm(transposeA: false, transposeB: false, m: F, n: T, k: C,
                           a: u + xi * F * C, lda: C, b: v + xi * vs, ldb: T, c: m + xi * ms, ldc: T)
            }
            if let pooled, let bias {
                transformOutputReLUPool(m, channels: F, t, band: band, bias: bias, into: pooled.out, argmax: pooled.argmax)
            } else {
                transformOutput(m, channels: F, t, band: band, bias: bias, into: y)
            }
        }
    }

    /// Scratch floats per thread for `accumulateFilterGradient` on C → F channels over `t`: padded input,
    /// V, dZ and V transposed, for a band.
    public static func filterGradientScratchCount(inChannels C: Int, outChannels F: Int, _ t: Tiling) -> Int {
        let band = bandRows(t) * t.tilesWide
        return scratchCount(inChannels: C, outChannels: F, t) + 16 * (C * band + 16)
    }

    /// dU (16, F, C) += Σ_tiles dZ[ξ] · V[ξ]ᵀ for one image, with V from x (C, H, W) and dZ from dY (F, Ho, Wo).
    /// `scratch` holds `filterGradientScratchCount(inChannels: C, outChannels: F, t)` floats.
    ///
    /// V[ξ] is transposed to (Tb, C) first, so that each product is a plain (F, Tb)·(Tb, C), which OpenBLAS
    /// runs faster than the (F, Tb)·(C, Tb)ᵀ form (measured in Sources/CNN/README.md).
    public static func accumulateFilterGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                                inChannels C: Int, outChannels F: Int, _ t: Tiling,
                                                scratch slice: WorkspaceSlice<Float>, into du: UnsafeMutablePointer<Float>) {
        let scratch = slice.pointer(for: filterGradientScratchCount(inChannels: C, outChannels: F, t),
                                    "Winograd.accumulateFilterGradient")
        let padded = padInput(x, channels: C, t, padded: scratch)
        let v = scratch + C * t.paddedHeight * t.paddedWidth
        forEachBand(t) { band in
            let T = band.count * t.tilesWide, vs = C * T + 16, zs = F * T + 16
            let dz = v + 16 * vs, vt = dz + 16 * zs
            transformInput(padded, channels: C, t, band: band, into: v)
            transformOutputGradient(dy, channels: F, t, band: band, into: dz)
            for xi in 0..<16 {
                // Vᵀ[ξ] (Tb, C)
                let dst = vt + xi * vs
                Transpose.matrix(v + xi * vs, rows: C, cols: T, into: dst)
                // dU[ξ] (F, C) += dZ[ξ] (F, Tb) · Vᵀ[ξ] (Tb, C)
                BLAS.sgemm(transposeA: false, transposeB: false, m: F, n: C, k: T,
                           a: dz + xi * zs, lda: T, b: dst, ldb: C, beta: 1, c: du + xi * F * C, ldc: C)
            }
        }
    }
}
