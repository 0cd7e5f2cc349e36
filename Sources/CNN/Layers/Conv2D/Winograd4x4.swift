//  Winograd4x4.swift
//
//  3×3, stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin and Gray, 2016), with the
//  channels last, for layers whose input and output channels are multiples of 16.
//
//  Dimensions (the module's legend, Sources/CNN/README.md): Ci input channels, Fo output channels, H×W input, P padding, Ho = H + 2P − 2,
//  Wo = W + 2P − 2, Th = ⌈Ho/4⌉, Tw = ⌈Wo/4⌉ tiles, T = Th·Tw, ξ = 6a + s in 0..<36 a position of a 6×6
//  transformed tile (row a, column s).
//
//  Each 4×4 output tile comes from the 6×6 input tile d around it (in the zero-padded input):
//      Y = Aᵀ [ Σ_c (G g_{f,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
//      Bᵀ = [4  0 −5  0 1 0]    G = [ 1/4     0    0 ]    Aᵀ = [1 1  1 1  1 0]
//           [0 −4 −4  1 1 0]        [−1/6 −1/6 −1/6 ]         [0 1 −1 2 −2 0]
//           [0  4 −4 −1 1 0]        [−1/6  1/6 −1/6 ]         [0 1  1 4  4 0]
//           [0 −2 −1  2 1 0]        [1/24 1/12  1/6 ]         [0 1 −1 8 −8 1]
//           [0  2 −1 −2 1 0]        [1/24 −1/12 1/6 ]
//           [0  4  0 −5 0 1]        [   0    0    1 ]
//  36 multiplications per tile and channel pair instead of 144 (F(2×2, 3×3), in Winograd.swift: 64). Over
//  the tiles of an image the 36 positions become 36 independent products, here with the channels last:
//      V[ξ] (T, Ci) = (Bᵀ d B)[ξ],   U[ξ] (Ci, Fo) = (G g Gᵀ)[ξ],   M[ξ] (T, Fo) = V[ξ] · U[ξ],   Y = Aᵀ M A + b.
//  Backward is the adjoint of the same linear maps:
//      dZ = A dY Aᵀ per tile,   dU[ξ] (Ci, Fo) = V[ξ]ᵀ · dZ[ξ],   dg = Gᵀ dU G;
//      dx is the 3×3 convolution of dy padded by 2 − P with the kernels flipped and Ci and Fo swapped.
//
//  Several images can share each ξ's product: their V[ξ] stacked into one (k·T, Ci) matrix (`Stack`), each
//  output still the dot product of one row of V[ξ] with one column of U[ξ], summed as in the image's own product
//  under OpenBLAS's row blocking; a probe checks that once per process (Winograd4x4+Probe.swift), and where it
//  fails every product is one image's.
//
//  The transforms run on 16 channels at a time (one vector), so they need no particular image width; the
//  image goes to channels last (Hx, Wx, Ci) once, zero-padded to whole tiles, and the outputs come back to
//  channels first through the blocked transposition. Where a step's layouts say channels last
//  (ActivationLayout.swift: in evaluation between two F(4×4) layers; in training from an F(4×4) layer into the
//  batch norm after it and from a batch norm into the F(4×4) layer after it), that side's transposition is not
//  made: the outputs leave channels last, (Ho, Wo, Fo) or, in evaluation, pooled (Hp, Wp, Fo), and a
//  channels-last input's rows are copied into the padded input. Tiles past Ho or Wo compute outputs that are dropped,
//  and see a zero gradient.
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`. The bit-pattern comparisons use `&-` and `&>>` on Int32 lanes because wrapping is what they compute
//  (a sign bit spread into a mask); SIMD integers have no other shift.

/// Winograd F(4×4, 3×3) kernels, channels last, for a group of images whose tiles share each ξ's product.
public enum Winograd4x4 {
    /// Whether these kernels can compute a convolution: 3×3 kernels, stride 1, padding ≤ 2, and input and
    /// output channels that are multiples of 16 (the vector width of the transforms; dx swaps them).
    public static func supports(_ g: ConvGeometry, outChannels F: Int) -> Bool {
        g.kh == 3 && g.kw == 3 && g.stride == 1 && g.padding <= 2 && g.c % 16 == 0 && F % 16 == 0
            && g.ho >= 1 && g.wo >= 1
    }

    /// The 4×4 output tiles of a 3×3 stride-1 convolution of an H×W input with padding P.
    public struct Tiling {
        public let height, width, padding: Int
        /// Ho, Wo
        public let outHeight, outWidth: Int
        /// Th, Tw
        public let tilesHigh, tilesWide: Int
        public init(height: Int, width: Int, padding: Int) {
            self.height = height; self.width = width; self.padding = padding
            outHeight = height + 2 * padding - 2
            outWidth = width + 2 * padding - 2
            tilesHigh = (outHeight + 3) / 4
            tilesWide = (outWidth + 3) / 4
        }
        /// T
        @inlinable public var tiles: Int { tilesHigh * tilesWide }
        /// Rows and columns of the padded input, (4Th + 2) × (4Tw + 2); it covers the image and its padding.
        @inlinable public var paddedHeight: Int { 4 * tilesHigh + 2 }
        @inlinable public var paddedWidth: Int { 4 * tilesWide + 2 }
        /// Floats of the padded input with `channels` channels last.
        @inlinable public func paddedCount(channels: Int) -> Int { paddedHeight * paddedWidth * channels }
    }

    typealias Vector = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    // MARK: - Images sharing a product

    /// The rows of V[ξ] (k·T, Ci) and M[ξ] (k·T, Fo) for k images of T tiles each, and the products that compute
    /// them.
    ///
    /// OpenBLAS splits a product's rows (the columns of its column-major C) into blocks of 12, then one of 8,
    /// then of 4 or fewer, and the order in which it sums a dot product depends on the block its row falls in
    /// and the row's place there. So the first W = 12⌊T/12⌋ tiles of every image go first, image after image,
    /// one product for all of them (blocks of 12 that are each image's own); then each image's last r = T − W
    /// tiles, one product per image, or per two images when r = 4 (a block of 8, which sums as two blocks of
    /// 4), per three when r = 1 (3 rows, which sum as three single rows). Each output then has the bits of the
    /// image's own product under this blocking, which depends on the CPU OpenBLAS picks its kernel for:
    /// `stacksImages` (the probe) checks it on this process's BLAS before `imagesPerGroup` forms a group, and
    /// `Winograd4x4Tests` checks it against per-image products. One image is one product of T rows, the
    /// image's own.
    public struct Stack {
        /// T, k
        public let tiles, images: Int
        /// W = 12⌊T/12⌋: the tiles whose rows go in whole blocks of 12.
        let whole: Int
        public init(tiles: Int, images: Int) {
            self.tiles = tiles; self.images = images
            whole = 12 * (tiles / 12)
        }
        /// k·T
        @inlinable public var rows: Int { images * tiles }
        /// The row of tile i of image j: j·W + i for i < W, else k·W + j·r + (i − W).
        @inline(__always)
        func row(image j: Int, tile i: Int) -> Int {
            if images == 1 { return i }
            return i < whole ? j &* whole &+ i : images &* whole &+ j &* (tiles &- whole) &+ (i &- whole)
        }
        /// Images whose last r tiles share one product.
        static func imagesPerRemainderProduct(_ r: Int) -> Int {
            switch r {
            case 4: return 2
            case 1: return 3
            default: return 1
            }
        }
        /// Calls `body(first row, rows)` for each product, in row order.
        @inline(__always)
        func forEachProduct(_ body: (Int, Int) -> Void) {
            if images == 1 { body(0, tiles); return }
            let rest = tiles - whole
            if whole > 0 { body(0, images * whole) }
            guard rest > 0 else { return }
            let perProduct = Stack.imagesPerRemainderProduct(rest)
            var j = 0
            while j < images {
                body(images * whole + j * rest, min(perProduct, images - j) * rest)
                j += perProduct
            }
        }
    }

    /// Images per group for T tiles on Ci → Fo channels: the most whose V and M (36·k·T·(Ci + Fo) floats) fit
    /// in `groupBytes`, when that many need fewer products than images (T mod 12 = 0, 1 or 4; with T < 12,
    /// the images of one remainder product), else 1. Also 1 for Fo > 256: OpenBLAS also blocks the columns
    /// of wider products, and there the stacked rows do not keep their bits. And 1 unless `stacksImages`: the
    /// stacked rows keep their bits only under the row blocking `Stack` is laid out for, which the probe
    /// checks on this process's BLAS (Winograd4x4+Probe.swift); so with Accelerate, or another blocking, 1.
    public static func imagesPerGroup(tiles T: Int, inChannels C: Int, outChannels F: Int) -> Int {
        let per = Stack.imagesPerRemainderProduct(T % 12)
        guard F <= 256, T % 12 == 0 || per > 1, stacksImages else { return 1 }
        let most = groupBytes / max(1, 36 * T * (C + F) * MemoryLayout<Float>.size)
        if T < 12 { return most >= per ? per : 1 }
        let k = most - most % per
        let products = T % 12 == 0 ? 1 : 1 + k / per
        return products < k ? k : 1
    }

    /// The bytes of a group's V and M: half of a core's L2 cache (1 MiB) on the development machine, so that
    /// they stay there beside OpenBLAS's packed operands while the transforms write them and the products read
    /// them.
    static let groupBytes = 512 << 10

    // MARK: - Filters

    /// Eight filter values at a time, one per lane, in double precision: the filter transforms run on eight
    /// kernels at once, each lane computing exactly what the same formula computes on one Double.
    typealias Lanes = SIMD8<Double>

    /// G applied to a column of three values, in double precision (the filter transforms round once).
    @inline(__always)
    static func timesG(_ g0: Lanes, _ g1: Lanes, _ g2: Lanes) -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
        let (four, six, twelve, twentyFour): (Double, Double, Double, Double) = (4, 6, 12, 24)
        let even: Lanes = g0 + g2
        let a: Lanes = g0 / twentyFour, b: Lanes = g1 / twelve, c: Lanes = g2 / six
        let minusOdd: Lanes = -(even + g1), minusEven: Lanes = -(even - g1)
        return (g0 / four, minusOdd / six, minusEven / six, a + b + c, a - b + c, g2)
    }

    /// Gᵀ applied to a column of six values: the adjoint of `timesG`.
    @inline(__always)
    static func timesGT(_ d: UnsafePointer<Lanes>, _ step: Int) -> (Lanes, Lanes, Lanes) {
        let (d0, d1, d2, d3, d4, d5) = (d[0], d[step], d[2 &* step], d[3 &* step], d[4 &* step], d[5 &* step])
        let (four, six, twelve, twentyFour): (Double, Double, Double, Double) = (4, 6, 12, 24)
        let s12: Lanes = d1 + d2, s34: Lanes = d3 + d4
        let r0: Lanes = d0 / four - s12 / six + s34 / twentyFour
        let r1: Lanes = (d2 - d1) / six + (d3 - d4) / twelve
        let r2: Lanes = (s34 - d1 - d2) / six + d5
        return (r0, r1, r2)
    }

    /// g (F, C, 3, 3) → U (36, C, F) = G g Gᵀ, for the forward products (Ci = C, Fo = F). With `flipped`, the
    /// kernels of dx: U (36, F, C) from g[f, c, 2 − k, 2 − l] (Ci = F, Fo = C). Each U[ξ] row is computed
    /// eight columns at a time (`Lanes`), the last block's missing lanes repeating the last column.
    public static func transformFilters(_ g: UnsafePointer<Float>, outChannels F: Int, inChannels C: Int,
                                        flipped: Bool, into u: UnsafeMutablePointer<Float>) {
        let (ci, fo) = flipped ? (F, C) : (C, F), plane = ci * fo
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 18) { buffer in
            let gg = buffer.baseAddress!   // G g (6×3)
            for row in 0..<ci {
                var col = 0
                while col < fo {
                    let count = min(8, fo &- col)
                    // the kernel of column col + lane: g[f, c] with (f, c) = (row, col + lane) flipped, else (col + lane, row)
                    @inline(__always) func at(_ r: Int, _ l: Int) -> Lanes {
                        var v = Lanes()
                        for lane in 0..<8 {
                            let j = min(col &+ lane, fo &- 1)
                            let kernel: Int = flipped ? row &* C &+ j : j &* C &+ row
                            let at: Int = flipped ? 8 &- (3 &* r &+ l) : 3 &* r &+ l
                            v[lane] = Double(g[kernel &* 9 &+ at])
                        }
                        return v
                    }
                    for l in 0..<3 {
                        let t = timesG(at(0, l), at(1, l), at(2, l))
                        gg[l] = t.0; gg[3 + l] = t.1; gg[6 + l] = t.2; gg[9 + l] = t.3; gg[12 + l] = t.4; gg[15 + l] = t.5
                    }
                    for a in 0..<6 {
                        let t = timesG(gg[3 &* a], gg[3 &* a &+ 1], gg[3 &* a &+ 2])
                        let first: Int = (6 &* a &* ci &+ row) &* fo &+ col
                        let o = u + first
                        for lane in 0..<count {
                            o[lane] = Float(t.0[lane]); o[plane &+ lane] = Float(t.1[lane])
                            o[2 &* plane &+ lane] = Float(t.2[lane]); o[3 &* plane &+ lane] = Float(t.3[lane])
                            o[4 &* plane &+ lane] = Float(t.4[lane]); o[5 &* plane &+ lane] = Float(t.5[lane])
                        }
                    }
                    col &+= 8
                }
            }
        }
    }

    /// dU (36, C, F) → dg (F, C, 3, 3), added: dg += Gᵀ dU G, eight filters f at a time (`Lanes`), the last
    /// block's missing lanes repeating the last filter.
    public static func addFilterGradient(_ du: UnsafePointer<Float>, outChannels F: Int, inChannels C: Int,
                                         into dg: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 54) { buffer in
            let d = buffer.baseAddress!, t = d + 36   // dU of one pair (6×6), then Gᵀ dU (3×6)
            for c in 0..<C {
                var f = 0
                while f < F {
                    let count = min(8, F &- f)
                    for x in 0..<36 {
                        let first: Int = (x &* C &+ c) &* F
                        let p = du + first
                        var v = Lanes()
                        for lane in 0..<8 { v[lane] = Double(p[min(f &+ lane, F &- 1)]) }
                        d[x] = v
                    }
                    for s in 0..<6 {
                        let r = timesGT(d + s, 6)
                        t[s] = r.0; t[6 &+ s] = r.1; t[12 &+ s] = r.2
                    }
                    for k in 0..<3 {
                        let r = timesGT(t + 6 &* k, 1)
                        for lane in 0..<count {
                            let first: Int = ((f &+ lane) &* C &+ c) &* 9 &+ 3 &* k
                            let out = dg + first
                            out[0] += Float(r.0[lane]); out[1] += Float(r.1[lane]); out[2] += Float(r.2[lane])
                        }
                    }
                    f &+= 8
                }
            }
        }
    }

    // MARK: - Tiles

    /// Bᵀ applied to a column of six values (FMA where a coefficient is not ±1).
    @inline(__always)
    static func timesBT(_ d0: Vector, _ d1: Vector, _ d2: Vector, _ d3: Vector, _ d4: Vector, _ d5: Vector)
        -> (Vector, Vector, Vector, Vector, Vector, Vector) {
        let four = Vector(repeating: 4), two = Vector(repeating: 2), minusFive = Vector(repeating: -5)
        let s12 = d1 + d2, s34 = d3 + d4, m12 = d1 - d2, m43 = d4 - d3
        let m42 = d4 - d2, m31 = d3 - d1
        return ((d4 + four * d0).addingProduct(minusFive, d2),
                s34.addingProduct(-four, s12),
                m43.addingProduct(four, m12),
                m42.addingProduct(two, m31),
                m42.addingProduct(-two, m31),
                (d5 + four * d1).addingProduct(minusFive, d3))
    }

    /// Aᵀ applied to a column of six values.
    @inline(__always)
    static func timesAT(_ m0: Vector, _ m1: Vector, _ m2: Vector, _ m3: Vector, _ m4: Vector, _ m5: Vector)
        -> (Vector, Vector, Vector, Vector) {
        let p12 = m1 + m2, m12 = m1 - m2, p34 = m3 + m4, m34 = m3 - m4
        return (m0 + p12 + p34,
                m12.addingProduct(Vector(repeating: 2), m34),
                p12.addingProduct(Vector(repeating: 4), p34),
                (m12 + m5).addingProduct(Vector(repeating: 8), m34))
    }

    /// A applied to a column of four values: the adjoint of `timesAT`.
    @inline(__always)
    static func timesA(_ y0: Vector, _ y1: Vector, _ y2: Vector, _ y3: Vector)
        -> (Vector, Vector, Vector, Vector, Vector, Vector) {
        let e = y0 + y2, o = y1 + y3, e4 = y0.addingProduct(Vector(repeating: 4), y2)
        let o8 = (y1 + y1).addingProduct(Vector(repeating: 8), y3)
        return (y0, e + o, e - o, e4 + o8, e4 - o8, y3)
    }

    /// x (C, H, W), channels first, or (H, W, C) with `layout` channels last → padded (4Th + 2, 4Tw + 2, C),
    /// channels last, the image at (P, P) and zeros around it: a transposition, or a copy of rows.
    public static func padInput(_ x: UnsafePointer<Float>, channels C: Int, _ t: Tiling,
                                layout: ActivationLayout = .channelsFirst, into padded: UnsafeMutablePointer<Float>) {
        let (Hx, Wx, P, H, W) = (t.paddedHeight, t.paddedWidth, t.padding, t.height, t.width)
        if layout == .channelsLast {
            zeroBorder(padded, channels: C, t)
            for h in 0..<H {
                // row h, (W, C) → the padded row h + P from column P
                (padded + ((h &+ P) &* Wx &+ P) &* C).update(from: x + h &* W &* C, count: W &* C)
            }
            return
        }
        if Hx == H && Wx == W {
            // No padding at all (P = 0 and whole tiles): one transposition of (C, H·W).
            Transpose.matrix(x, rows: C, cols: H &* W, into: padded)
            return
        }
        zeroBorder(padded, channels: C, t)
        for h in 0..<H {
            // the (C, W) slab of row h, rows H·W apart → (W, C)
            Transpose.matrix(x + h &* W, rows: C, cols: W, sourceStride: H &* W,
                             into: padded + ((h &+ P) &* Wx &+ P) &* C, destinationStride: C)
        }
    }

    /// Zeros where the image does not go in a padded input (4Th + 2, 4Tw + 2, C): rows above and below,
    /// then the columns left and right of each image row.
    static func zeroBorder(_ padded: UnsafeMutablePointer<Float>, channels C: Int, _ t: Tiling) {
        let (Hx, Wx, P, H, W) = (t.paddedHeight, t.paddedWidth, t.padding, t.height, t.width)
        padded.update(repeating: 0, count: P * Wx * C)
        (padded + (P + H) * Wx * C).update(repeating: 0, count: (Hx - P - H) * Wx * C)
        for h in 0..<H {
            let row = padded + (h &+ P) &* Wx &* C
            row.update(repeating: 0, count: P &* C)
            (row + (P &+ W) &* C).update(repeating: 0, count: (Wx &- P &- W) &* C)
        }
    }

    /// The padded input (4Th + 2, 4Tw + 2, C) of image j of `stack` → its rows of V (36, k·T, C) = Bᵀ d B, the
    /// ξ planes `planeStride(k·T, C)` floats apart.
    public static func transformInput(_ padded: UnsafePointer<Float>, channels C: Int, _ t: Tiling,
                                      into v: UnsafeMutablePointer<Float>, _ stack: Stack, image j: Int) {
        let Wx = t.paddedWidth, vs = planeStride(stack.rows, C), rowStep = Wx * C
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 36) { buffer in
            let c6 = buffer.baseAddress!
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let corner = padded + (4 &* ti &* Wx &+ 4 &* tj) &* C
                    let out = v + stack.row(image: j, tile: ti &* t.tilesWide &+ tj) &* C
                    var cb = 0
                    while cb < C {
                        // Bᵀ down each column j: c6[6a + j]
                        for j in 0..<6 {
                            let p = corner + (j &* C &+ cb)
                            let r = timesBT(load(p), load(p + rowStep), load(p + 2 &* rowStep),
                                            load(p + 3 &* rowStep), load(p + 4 &* rowStep), load(p + 5 &* rowStep))
                            c6[j] = r.0; c6[6 &+ j] = r.1; c6[12 &+ j] = r.2
                            c6[18 &+ j] = r.3; c6[24 &+ j] = r.4; c6[30 &+ j] = r.5
                        }
                        // then along each row a: V[6a + s]
                        for a in 0..<6 {
                            let q = c6 + 6 &* a
                            let r = timesBT(q[0], q[1], q[2], q[3], q[4], q[5])
                            let o = out + (6 &* a &* vs &+ cb)
                            store(r.0, o); store(r.1, o + vs); store(r.2, o + 2 &* vs)
                            store(r.3, o + 3 &* vs); store(r.4, o + 4 &* vs); store(r.5, o + 5 &* vs)
                        }
                        cb &+= 16
                    }
                }
            }
        }
    }

    /// Floats between two ξ planes of a (T, channels) matrix: a little more than the matrix, so that the 36
    /// planes do not all start at the same offset within 4 KiB.
    @inline(__always)
    static func planeStride(_ tiles: Int, _ channels: Int) -> Int { tiles * channels + 16 }

    /// Aᵀ m A + b for the 16 channels at `p` of one tile of M (36, T, Fo) whose planes are `ms` apart: calls
    /// `body(p, q, y)` for each output (p, q) of the 4×4 tile.
    @inline(__always)
    static func outputTile(_ p: UnsafePointer<Float>, _ ms: Int, bias b: Vector,
                           _ e: UnsafeMutablePointer<Vector>, _ body: (Int, Int, Vector) -> Void) {
        // Aᵀ down each column s: e[6p + s] for the four output rows p; then along each row
        for s in 0..<6 {
            let q = p + s &* ms
            let r = timesAT(load(q), load(q + 6 &* ms), load(q + 12 &* ms), load(q + 18 &* ms),
                            load(q + 24 &* ms), load(q + 30 &* ms))
            e[s] = r.0; e[6 &+ s] = r.1; e[12 &+ s] = r.2; e[18 &+ s] = r.3
        }
        for row in 0..<4 {
            let q = e + 6 &* row
            let r = timesAT(q[0], q[1], q[2], q[3], q[4], q[5])
            body(row, 0, r.0 + b); body(row, 1, r.1 + b); body(row, 2, r.2 + b); body(row, 3, r.3 + b)
        }
    }

    /// Image j's rows of M (36, k·T, Fo) → its tiles' outputs, channels last, (4Th, 4Tw, Fo), + b when given.
    static func transformOutput(_ m: UnsafePointer<Float>, _ stack: Stack, image j: Int, channels F: Int, _ t: Tiling,
                                bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let ms = planeStride(stack.rows, F), rowStep = 4 * t.tilesWide * F
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 24) { buffer in
            let e = buffer.baseAddress!
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let tile = stack.row(image: j, tile: ti &* t.tilesWide &+ tj)
                    let corner = y + (4 &* ti &* rowStep &+ 4 &* tj &* F)
                    var fb = 0
                    while fb < F {
                        let b = bias.map { load($0 + fb) } ?? Vector()
                        outputTile(m + (tile &* F &+ fb), ms, bias: b, e) { p, q, value in
                            store(value, corner + (p &* rowStep &+ q &* F &+ fb))
                        }
                        fb &+= 16
                    }
                }
            }
        }
    }

    /// Image j's rows of M (36, k·T, Fo) → ReLU and 2×2, stride-2 max pooling of the outputs (Ho and Wo multiples of 4, so that
    /// each tile holds four whole windows): pooled (Ho/2, Wo/2, Fo) and each winner's index within its
    /// (Ho, Wo) plane, channels last, or −1 where the pooled value is not positive (no gradient passes: the
    /// ReLU's mask). Values bit for bit what ReLU then pooling compute (ReLUPoolEpilogue). Without `argmax`
    /// (evaluation), the values alone.
    static func transformOutputReLUPool(_ m: UnsafePointer<Float>, _ stack: Stack, image j: Int, channels F: Int,
                                        _ t: Tiling, bias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                        argmax: UnsafeMutablePointer<Int32>?) {
        let ms = planeStride(stack.rows, F), Wo = t.outWidth, pw = Wo / 2, wo32 = Int32(truncatingIfNeeded: Wo)
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 40) { buffer in
            let e = buffer.baseAddress!, y = e + 24
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let tile = stack.row(image: j, tile: ti &* t.tilesWide &+ tj)
                    var fb = 0
                    while fb < F {
                        outputTile(m + (tile &* F &+ fb), ms, bias: load(bias + fb), e) { p, q, value in
                            y[4 &* p &+ q] = value
                        }
                        @inline(__always) func bits(_ i: Int) -> SIMD16<Int32> { unsafeBitCast(y[i], to: SIMD16<Int32>.self) }
                        for u in 0..<2 {
                            for w in 0..<2 {
                                let first = 8 &* u &+ 2 &* w
                                let o = ((2 &* ti &+ u) &* pw &+ 2 &* tj &+ w) &* F &+ fb
                                guard let argmax else {
                                    let best = ReLUPoolEpilogue.reluPoolWindowValues(
                                        bits(first), bits(first &+ 1), bits(first &+ 4), bits(first &+ 5))
                                    UnsafeMutableRawPointer(out + o).storeBytes(of: best, as: SIMD16<Int32>.self)
                                    continue
                                }
                                let q0 = (4 &* ti &+ 2 &* u) &* Wo &+ 4 &* tj &+ 2 &* w
                                let (best, at) = ReLUPoolEpilogue.reluPoolWindows(
                                    bits(first), bits(first &+ 1), bits(first &+ 4), bits(first &+ 5),
                                    at: SIMD16<Int32>(repeating: Int32(truncatingIfNeeded: q0)), rowStride: wo32)
                                UnsafeMutableRawPointer(out + o).storeBytes(of: best, as: SIMD16<Int32>.self)
                                // Positive floats are the positive bit patterns; −1 where best ≤ 0 as an integer
                                // (the sign of best − 1, or of best itself for −0, Int32.min). Integer shifts:
                                // `replacing(with:where:)` was compiled to a scalar loop, 5× this whole function.
                                let passes = at | ((best &- 1) &>> 31) | (best &>> 31)
                                UnsafeMutableRawPointer(argmax + o).storeBytes(of: passes, as: SIMD16<Int32>.self)
                            }
                        }
                        fb &+= 16
                    }
                }
            }
        }
    }

    /// dY of the tiles, read from dy (Ho, Wo, Fo) channels last inside a zero-padded buffer whose rows are
    /// `rowStride` positions long (zeros past Ho and Wo) → dZ (36, T, Fo) = A dY Aᵀ: the adjoint of
    /// `transformOutput`.
    static func transformOutputGradient(_ dy: UnsafePointer<Float>, rowStride: Int, channels F: Int, _ t: Tiling,
                                        into dz: UnsafeMutablePointer<Float>) {
        let zs = planeStride(t.tiles, F), rowStep = rowStride * F
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 36) { buffer in
            let e = buffer.baseAddress!
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let corner = dy + (4 &* ti &* rowStep &+ 4 &* tj &* F)
                    let out = dz + (ti &* t.tilesWide &+ tj) &* F
                    var fb = 0
                    while fb < F {
                        // A down each column q: e[6a + q]
                        for q in 0..<4 {
                            let p = corner + (q &* F &+ fb)
                            let r = timesA(load(p), load(p + rowStep), load(p + 2 &* rowStep), load(p + 3 &* rowStep))
                            e[q] = r.0; e[6 &+ q] = r.1; e[12 &+ q] = r.2
                            e[18 &+ q] = r.3; e[24 &+ q] = r.4; e[30 &+ q] = r.5
                        }
                        for a in 0..<6 {
                            let q = e + 6 &* a
                            let r = timesA(q[0], q[1], q[2], q[3])
                            let o = out + (6 &* a &* zs &+ fb)
                            store(r.0, o); store(r.1, o + zs); store(r.2, o + 2 &* zs)
                            store(r.3, o + 3 &* zs); store(r.4, o + 4 &* zs); store(r.5, o + 5 &* zs)
                        }
                        fb &+= 16
                    }
                }
            }
        }
    }

    // MARK: - Whole convolutions of a group of images

    /// Scratch floats for `convolve` of k images on Ci → Fo channels over `t`: one padded input, the group's V
    /// and M, and one image's outputs.
    public static func scratchCount(inChannels C: Int, outChannels F: Int, _ t: Tiling, images k: Int = 1) -> Int {
        t.paddedCount(channels: C) + productsCount(inChannels: C, outChannels: F, t, images: k)
    }

    /// Scratch floats of `multiply` for k images: V, M, one image's outputs (channels last) and their 2×2
    /// pooling.
    static func productsCount(inChannels C: Int, outChannels F: Int, _ t: Tiling, images k: Int) -> Int {
        let rows = k * t.tiles
        return 36 * planeStride(rows, C) + 36 * planeStride(rows, F) + 16 * t.tiles * F + 4 * t.tiles * F
    }

    /// y (k, Fo, Ho, Wo) = conv3×3(x (k, Ci, H, W), padding P) + b, from transformed filters U (36, Ci, Fo); or,
    /// with `pooled`, only relu(y) pooled over 2×2 windows (k, Fo, ⌊Ho/2⌋, ⌊Wo/2⌋) and, when given (Ho and Wo
    /// multiples of 4), their argmax (k, Ho/2, Wo/2, Fo), channels last, −1 where nothing passes (see
    /// `transformOutputReLUPool`). Each image's outputs are the bits of its own convolution (k = 1).
    /// `layout.input` channels last takes x as (k, H, W, Ci); `layout.output` channels last gives y as
    /// (k, Ho, Wo, Fo) and the pooled values as (k, ⌊Ho/2⌋, ⌊Wo/2⌋, Fo): the same values, untransposed.
    public static func convolve(_ x: UnsafePointer<Float>, images k: Int = 1, inChannels C: Int, outChannels F: Int,
                                _ t: Tiling, filters u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                scratch slice: WorkspaceSlice<Float>, into y: UnsafeMutablePointer<Float>,
                                pooled: (out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?)? = nil,
                                layout: StepLayout = .channelsFirst) {
        let scratch = slice.pointer(for: scratchCount(inChannels: C, outChannels: F, t, images: k), "Winograd4x4.convolve")
        let stack = Stack(tiles: t.tiles, images: k), chw = C * t.height * t.width
        let padded = scratch, v = scratch + t.paddedCount(channels: C)
        // A channels-last image already is the padded input when there is no padding and the tiles are whole.
        let inPlace = layout.input == .channelsLast && t.paddedHeight == t.height && t.paddedWidth == t.width
        for j in 0..<k {
            if inPlace {
                transformInput(x + j * chw, channels: C, t, into: v, stack, image: j)
                continue
            }
            padInput(x + j * chw, channels: C, t, layout: layout.input, into: padded)
            transformInput(padded, channels: C, t, into: v, stack, image: j)
        }
        multiply(v, stack, inChannels: C, outChannels: F, t, filters: u, bias: bias, into: y, pooled: pooled,
                 layout: layout.output)
    }

    /// `convolve` from V (36, k·T, Ci), written by `transformInput`; the scratch after V holds M and one
    /// image's outputs (`productsCount` floats from V on). `layout` is the outputs' (see `convolve`).
    static func multiply(_ v: UnsafeMutablePointer<Float>, _ stack: Stack, inChannels C: Int, outChannels F: Int,
                         _ t: Tiling, filters u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                         into y: UnsafeMutablePointer<Float>,
                         pooled: (out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?)?,
                         layout: ActivationLayout = .channelsFirst) {
        let keepsChannelsLast = layout == .channelsLast
        let vs = planeStride(stack.rows, C), ms = planeStride(stack.rows, F)
        let m = v + 36 * vs, last = m + 36 * ms
        for xi in 0..<36 {
            stack.forEachProduct { first, rows in
                // M[ξ] (rows, Fo) = V[ξ] (rows, Ci) · U[ξ] (Ci, Fo)
                BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: F, k: C,
                           a: v + xi * vs + first * C, lda: C, b: u + xi * C * F, ldb: F, c: m + xi * ms + first * F, ldc: F)
            }
        }
        let (Ho, Wo) = (t.outHeight, t.outWidth)
        if let pooled, let bias {
            // pooled values (L, Fo) in the scratch, then copied in one sequential pass (channels last) or
            // transposed → (Fo, L), into an output that is not in cache; the argmax stays channels last, for `backward`
            let L = (Ho / 2) * (Wo / 2)
            if Ho % 4 == 0 && Wo % 4 == 0 {
                for j in 0..<stack.images {
                    let out = pooled.out + j * L * F
                    transformOutputReLUPool(m, stack, image: j, channels: F, t, bias: bias, into: last,
                                            argmax: pooled.argmax.map { $0 + j * L * F })
                    if keepsChannelsLast { out.update(from: last, count: L * F) } else { Transpose.matrix(last, rows: L, cols: F, into: out) }
                }
                return
            }
            // Windows across tiles, without winners: each image's tiles' outputs, then their pooling (L, Fo)
            // after them.
            precondition(pooled.argmax == nil, "Winograd4x4: the winners of a pooling across tiles are not kept")
            let pooledLast = last + 16 * t.tiles * F
            for j in 0..<stack.images {
                let out = pooled.out + j * L * F
                transformOutput(m, stack, image: j, channels: F, t, bias: bias, into: last)
                ReLUPoolEpilogue.reluMaxPool2x2ChannelsLast(last, height: Ho, width: Wo, rowLength: 4 * t.tilesWide,
                                                            channels: F, into: pooledLast)
                if keepsChannelsLast { out.update(from: pooledLast, count: L * F) } else { Transpose.matrix(pooledLast, rows: L, cols: F, into: out) }
            }
            return
        }
        // The tiles' outputs (4Th, 4Tw, Fo) in the scratch, then each row's first Wo positions copied (channels
        // last; one copy when Wo = 4Tw) or transposed into y.
        let rowFloats = 4 * t.tilesWide * F
        for j in 0..<stack.images {
            let image = y + j * F * Ho * Wo
            transformOutput(m, stack, image: j, channels: F, t, bias: bias, into: last)
            if keepsChannelsLast && Wo == 4 * t.tilesWide {
                image.update(from: last, count: Ho * Wo * F)
                continue
            }
            for h in 0..<Ho {
                if keepsChannelsLast {
                    // row h of the tiles' outputs, the first Wo of 4Tw positions → y[h] (Wo, Fo)
                    (image + h * Wo * F).update(from: last + h * rowFloats, count: Wo * F)
                    continue
                }
                // row h of the tiles' outputs, (Wo, Fo) of (4Tw, Fo) → y[:, h, :], rows Ho·Wo apart
                Transpose.matrix(last + h * rowFloats, rows: Wo, cols: F, sourceStride: F,
                                 into: image + h * Wo, destinationStride: Ho * Wo)
            }
        }
    }

    /// The dx tiling of a forward tiling: dy (Ho, Wo) padded by 2 − P, whose outputs are H×W.
    public static func inputGradientTiling(_ t: Tiling) -> Tiling {
        Tiling(height: t.outHeight, width: t.outWidth, padding: 2 - t.padding)
    }

    /// Scratch floats for `backward` of k images on C → F channels over the forward tiling `t`: one padded dy,
    /// the group's V for dx, then one image's filter-gradient work or the group's M for dx and one image's dx.
    public static func backwardScratchCount(inChannels C: Int, outChannels F: Int, _ t: Tiling, images k: Int = 1) -> Int {
        let dt = inputGradientTiling(t), rows = k * dt.tiles
        let gradient = t.paddedCount(channels: C) + 36 * planeStride(t.tiles, C) + 36 * planeStride(t.tiles, F)
        let products = productsCount(inChannels: F, outChannels: C, dt, images: k) - 36 * planeStride(rows, F)
        return dt.paddedCount(channels: F) + 36 * planeStride(rows, F) + max(gradient, products)
    }

    /// The gradient reaching the convolution's output, for `backward`.
    public enum OutputGradient {
        /// dy (F, Ho, Wo), already through any ReLU and pooling.
        case plain(UnsafePointer<Float>)
        /// The gradient of a tile-pooled forward (`convolve` with `pooled`): dOut (F, Ho/2, Wo/2) and that
        /// forward's argmax (Ho/2, Wo/2, F). dy is dOut at each window's winner (+0 for a −0, as
        /// ReLUPoolEpilogue.scatter adds into zeros), +0 elsewhere and where the argmax is −1.
        case pooled(dOut: UnsafePointer<Float>, argmax: UnsafePointer<Int32>)
    }

    /// A tile-pooled gradient (see `OutputGradient.pooled`) → dy (Ho, Wo, F), channels last, in the padded
    /// buffer of the dx tiling `dt` (whose image is dy). `transposed` holds (Ho/2)·(Wo/2)·F floats.
    static func scatterPooled(_ dOut: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, channels F: Int, _ dt: Tiling,
                              transposed: UnsafeMutablePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
        let (Ho, Wo, Pd, Wq) = (dt.height, dt.width, dt.padding, dt.paddedWidth)
        let pw = Wo / 2, L = (Ho / 2) * pw
        Transpose.matrix(dOut, rows: F, cols: L, into: transposed)
        zeroBorder(padded, channels: F, dt)
        let zero = Vector(), rowStep = Wq * F
        for i in 0..<(Ho / 2) {
            for j in 0..<pw {
                let e = (i &* pw &+ j) &* F, q = Int32(truncatingIfNeeded: 2 &* i &* Wo &+ 2 &* j)
                let top = padded + ((Pd &+ 2 &* i) &* Wq &+ Pd &+ 2 &* j) &* F
                var fb = 0
                while fb < F {
                    let g = load(transposed + (e &+ fb)) + zero
                    let at = UnsafeRawPointer(argmax + (e &+ fb)).loadUnaligned(as: SIMD16<Int32>.self)
                    let bits = unsafeBitCast(g, to: SIMD16<Int32>.self)
                    @inline(__always) func put(_ position: Int32, _ p: UnsafeMutablePointer<Float>) {
                        // g where at = position: d | −d has its sign bit set exactly when d ≠ 0
                        let d = at ^ SIMD16<Int32>(repeating: position)
                        let value = bits & ~((d | (0 &- d)) &>> 31)
                        UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD16<Int32>.self)
                    }
                    put(q, top + fb); put(q &+ 1, top + (F &+ fb))
                    put(q &+ Int32(truncatingIfNeeded: Wo), top + (rowStep &+ fb))
                    put(q &+ Int32(truncatingIfNeeded: Wo &+ 1), top + (rowStep &+ F &+ fb))
                    fb &+= 16
                }
            }
        }
    }

    /// The backward of k images, image after image: db (F) += Σ dy over positions in row-major order; dU (36, C,
    /// F) += Σ_tiles V[ξ]ᵀ dZ[ξ] with V from x[j] (C, H, W); and, given dx and the flipped filters (36, F, C), dx
    /// (k, C, H, W) = the convolution of each dy padded by 2 − P, the k images sharing each product (`Stack`).
    /// `layout.input` channels last takes x and gives dx as (k, H, W, C); `layout.output` channels last takes a
    /// `.plain` dy as (Ho, Wo, F).
    /// `dy(j)` gives image j's gradient; it is called once per image, in order, and read before the next call.
    /// `scratch` holds `backwardScratchCount` floats.
    public static func backward(_ x: UnsafePointer<Float>, images k: Int = 1, _ dy: (Int) -> OutputGradient,
                                inChannels C: Int, outChannels F: Int, _ t: Tiling, scratch slice: WorkspaceSlice<Float>,
                                biasGradient db: UnsafeMutablePointer<Float>,
                                filterGradient du: UnsafeMutablePointer<Float>,
                                inputGradient: (dx: UnsafeMutablePointer<Float>, filters: UnsafePointer<Float>)?,
                                layout: StepLayout = .channelsFirst) {
        let scratch = slice.pointer(for: backwardScratchCount(inChannels: C, outChannels: F, t, images: k),
                                    "Winograd4x4.backward")
        let dt = inputGradientTiling(t), Pd = dt.padding, Wq = dt.paddedWidth, chw = C * t.height * t.width
        let dxStack = Stack(tiles: dt.tiles, images: k), one = Stack(tiles: t.tiles, images: 1)
        // dy padded for dx, channels last; the forward tiles' dY sits at (2 − P, 2 − P) in it, zeros past
        // Ho and Wo (4Th + 2 − P ≤ 4⌈(Ho + 2 − 2P)/4⌉ + 2 for P ≤ 2).
        let dyPadded = scratch, dxV = scratch + dt.paddedCount(channels: F)
        let rest = dxV + 36 * planeStride(dxStack.rows, F)
        let T = t.tiles, vs = planeStride(T, C), zs = planeStride(T, F)
        let image = dyPadded + (Pd * Wq + Pd) * F
        for j in 0..<k {
            switch dy(j) {
            case let .plain(d): padInput(d, channels: F, dt, layout: layout.output, into: dyPadded)
            case let .pooled(dOut, argmax): scatterPooled(dOut, argmax: argmax, channels: F, dt, transposed: rest, into: dyPadded)
            }
            var fb = 0
            while fb < F {
                var sum = load(db + fb)
                for h in 0..<t.outHeight {
                    let row = image + (h &* Wq &* F &+ fb)
                    for w in 0..<t.outWidth { sum += load(row + w &* F) }
                }
                store(sum, db + fb)
                fb &+= 16
            }
            let xPadded = rest, v = xPadded + t.paddedCount(channels: C), dz = v + 36 * vs
            padInput(x + j * chw, channels: C, t, layout: layout.input, into: xPadded)
            transformInput(xPadded, channels: C, t, into: v, one, image: 0)
            transformOutputGradient(image, rowStride: Wq, channels: F, t, into: dz)
            for xi in 0..<36 {
                // dU[ξ] (C, F) += V[ξ]ᵀ (C, T) · dZ[ξ] (T, F)
                BLAS.sgemm(transposeA: true, transposeB: false, m: C, n: F, k: T,
                           a: v + xi * vs, lda: C, b: dz + xi * zs, ldb: F, beta: 1, c: du + xi * C * F, ldc: F)
            }
            if inputGradient != nil { transformInput(dyPadded, channels: F, dt, into: dxV, dxStack, image: j) }
        }
        guard let inputGradient else { return }
        multiply(dxV, dxStack, inChannels: F, outChannels: C, dt, filters: inputGradient.filters, bias: nil,
                 into: inputGradient.dx, pooled: nil, layout: layout.input)
    }
}
