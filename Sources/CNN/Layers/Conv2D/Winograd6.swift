//  Winograd6.swift
//
//  r×r, stride-1 convolution by Winograd's minimal filtering on 6×6 tiles (Lavin and Gray, 2016), with the
//  channels last, for layers whose input and output channels are multiples of 16: F(4×4, 3×3) and
//  F(2×2, 5×5), the two filterings with α = m + r − 1 = 6 (m×m output tiles, r×r kernels) on the points
//  0, ±1, ±2, ∞. They share Bᵀ and everything here; G and Aᵀ are in Winograd6+Transforms.swift, and the
//  kernels below are generic over them (`Winograd6Transforms`), specialised for each.
//
//  Dimensions (the module's legend, Sources/CNN/README.md): Ci input channels, Fo output channels, H×W input, P padding,
//  Ho = H + 2P − (r − 1), Wo = W + 2P − (r − 1), Th = ⌈Ho/m⌉, Tw = ⌈Wo/m⌉ tiles, T = Th·Tw, ξ = 6a + s in 0..<36 a
//  position of a 6×6 transformed tile (row a, column s).
//
//  Each m×m output tile comes from the 6×6 input tile d around it (in the zero-padded input; input tiles
//  step by m and overlap by r − 1):
//      Y = Aᵀ [ Σ_c (G g_{f,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
//      Bᵀ = [4  0 −5  0 1 0]    G (6 × r) and Aᵀ (m × 6): Winograd6+Transforms.swift
//           [0 −4 −4  1 1 0]
//           [0  4 −4 −1 1 0]
//           [0 −2 −1  2 1 0]
//           [0  2 −1 −2 1 0]
//           [0  4  0 −5 0 1]
//  36 multiplications per tile and channel pair instead of m²r²: 144 for F(4×4, 3×3) (F(2×2, 3×3), in
//  Winograd.swift: 64), 100 for F(2×2, 5×5). Over the tiles of an image the 36 positions become 36
//  independent products, here with the channels last:
//      V[ξ] (T, Ci) = (Bᵀ d B)[ξ],   U[ξ] (Ci, Fo) = (G g Gᵀ)[ξ],   M[ξ] (T, Fo) = V[ξ] · U[ξ],   Y = Aᵀ M A + b.
//  Backward is the adjoint of the same linear maps:
//      dZ = A dY Aᵀ per tile,   dU[ξ] (Ci, Fo) = V[ξ]ᵀ · dZ[ξ],   dg = Gᵀ dU G;
//      dx by the route `Variant.inputGradientRoute` says (`InputGradientRoute`): for F(4×4, 3×3), the r×r
//      convolution of dy padded by r − 1 − P with the kernels flipped and Ci and Fo swapped (so P ≤ r − 1);
//      for F(2×2, 5×5), the adjoint of the forward on its own tiles,
//      dV[ξ] (T, Ci) = dZ[ξ] · U[ξ]ᵀ,   dx = Σ_tiles B dV Bᵀ added at each tile's window, then cropped.
//
//  The products: OpenBLAS's sgemm for F(4×4, 3×3); for F(2×2, 5×5), whose products are only Ci = 16 or 32
//  (or T, for dU) deep, `product`, a register-blocked kernel that sums each output in k order by fused
//  multiply-adds, so that no call packs its operands.
//
//  Several images can share each ξ's product: their V[ξ] stacked into one (k·T, Ci) matrix (`Stack`), each
//  output still the dot product of one row of V[ξ] with one column of U[ξ], summed as in the image's own product
//  under OpenBLAS's row blocking (and always by `product`, which computes each row on its own); a probe checks
//  the BLAS once per process (Winograd6+Probe.swift), and where it fails every product is one image's.
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

/// Winograd F(4×4, 3×3) and F(2×2, 5×5) kernels, channels last, for a group of images whose tiles share each
/// ξ's product.
public enum Winograd6 {
    /// Which minimal filtering the 6×6 tiles compute, F(m×m, r×r).
    public enum Variant: Sendable, Equatable {
        /// F(4×4, 3×3)
        case f4x4k3
        /// F(2×2, 5×5)
        case f2x2k5

        /// m, the side of an output tile.
        @inlinable public var tileSize: Int { self == .f4x4k3 ? 4 : 2 }
        /// r = 7 − m, the side of the kernel.
        @inlinable public var kernelSize: Int { 7 - tileSize }
        /// How `backward` computes dx: the one place that decides it.
        @inlinable public var inputGradientRoute: InputGradientRoute { self == .f2x2k5 ? .adjoint : .fullConvolution }
    }

    /// How `backward` computes dx (N, Ci, H, W), and which filters (36, Fo, Ci) it takes for it
    /// (`transformInputGradientFilters`).
    public enum InputGradientRoute: Sendable, Equatable {
        /// The forward algorithm on dy padded by r − 1 − P (the dx tiling, `inputGradientTiling`), with the
        /// flipped kernels, Ci and Fo swapped: g[f, c, r − 1 − k, r − 1 − l] transformed, U' (36, Fo, Ci).
        case fullConvolution
        /// The adjoint of the forward on the forward's own tiles: dV[ξ] (T, Ci) = dZ[ξ] (T, Fo) · U[ξ]ᵀ with
        /// U[ξ]ᵀ (36, Fo, Ci) the forward's filters transposed, then dx = Σ_tiles B dV Bᵀ added into a zeroed
        /// padded buffer at each tile's window (`addAdjointInput`) and cropped (`cropPadded`).
        case adjoint
    }

    /// Whether these kernels can compute a convolution as `variant`: r×r kernels, stride 1, padding ≤ r − 1,
    /// and input and output channels that are multiples of 16 (the vector width of the transforms; dx swaps
    /// them).
    public static func supports(_ g: ConvGeometry, outChannels F: Int, variant: Variant) -> Bool {
        let r = variant.kernelSize
        return g.kh == r && g.kw == r && g.stride == 1 && g.padding <= r - 1 && g.c % 16 == 0 && F % 16 == 0
            && g.ho >= 1 && g.wo >= 1
    }

    /// The m×m output tiles of an r×r stride-1 convolution of an H×W input with padding P.
    public struct Tiling {
        public let height, width, padding: Int
        public let variant: Variant
        /// Ho, Wo
        public let outHeight, outWidth: Int
        /// Th, Tw
        public let tilesHigh, tilesWide: Int
        /// Rows and columns of the padded input: max(m·Th + r − 1, `atLeast.rows`) × max(m·Tw + r − 1,
        /// `atLeast.columns`) (m·Th + r − 1 = m·Th + 5 − m covers the image, its padding and every tile's 6×6
        /// window); zeros wherever the image is not.
        public let paddedHeight, paddedWidth: Int
        public init(height: Int, width: Int, padding: Int, variant: Variant, atLeast: (rows: Int, columns: Int) = (0, 0)) {
            self.height = height; self.width = width; self.padding = padding; self.variant = variant
            let m = variant.tileSize, r = variant.kernelSize
            outHeight = height + 2 * padding - (r - 1)
            outWidth = width + 2 * padding - (r - 1)
            tilesHigh = (outHeight + m - 1) / m
            tilesWide = (outWidth + m - 1) / m
            paddedHeight = max(m * tilesHigh + r - 1, atLeast.rows)
            paddedWidth = max(m * tilesWide + r - 1, atLeast.columns)
        }
        /// T
        @inlinable public var tiles: Int { tilesHigh * tilesWide }
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
    /// `Winograd6Tests` checks it against per-image products. One image is one product of T rows, the
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
    /// checks on this process's BLAS (Winograd6+Probe.swift); so with Accelerate, or another blocking, 1.
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

    /// g (F, C, r, r) → U (36, C, F) = G g Gᵀ, for the forward products (Ci = C, Fo = F). With `flipped`, the
    /// kernels of dx's full convolution: U (36, F, C) from g[f, c, r − 1 − k, r − 1 − l] (Ci = F, Fo = C). With
    /// `transposed` (and not `flipped`), the forward's U[ξ]ᵀ (36, F, C), bit for bit the forward's values. Each
    /// U[ξ] row is computed eight columns at a time (`Lanes`), the last block's missing lanes repeating the last
    /// column.
    public static func transformFilters(_ g: UnsafePointer<Float>, outChannels F: Int, inChannels C: Int,
                                        variant: Variant, flipped: Bool, transposed: Bool = false,
                                        into u: UnsafeMutablePointer<Float>) {
        switch variant {
        case .f4x4k3:
            transformFilters(F4x4K3.self, g, outChannels: F, inChannels: C, flipped: flipped, transposed: transposed, into: u)
        case .f2x2k5:
            transformFilters(F2x2K5.self, g, outChannels: F, inChannels: C, flipped: flipped, transposed: transposed, into: u)
        }
    }

    /// g (F, C, r, r) → the filters (36, F, C) `backward` takes for dx on `variant`'s route
    /// (`Variant.inputGradientRoute`): flipped for the full convolution, the forward's U[ξ]ᵀ for the adjoint.
    public static func transformInputGradientFilters(_ g: UnsafePointer<Float>, outChannels F: Int, inChannels C: Int,
                                                     variant: Variant, into u: UnsafeMutablePointer<Float>) {
        switch variant.inputGradientRoute {
        case .fullConvolution: transformFilters(g, outChannels: F, inChannels: C, variant: variant, flipped: true, into: u)
        case .adjoint:
            transformFilters(g, outChannels: F, inChannels: C, variant: variant, flipped: false, transposed: true, into: u)
        }
    }

    static func transformFilters<K: Winograd6Transforms>(_: K.Type, _ g: UnsafePointer<Float>, outChannels F: Int,
                                                         inChannels C: Int, flipped: Bool, transposed: Bool,
                                                         into u: UnsafeMutablePointer<Float>) {
        let swapped = flipped || transposed
        let (ci, fo) = swapped ? (F, C) : (C, F), plane = ci * fo, r = K.r, rr = K.r * K.r
        // G g (6 × r), one kernel column (r), one row of U (6)
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 7 * K.r + 6) { buffer in
            let gg = buffer.baseAddress!, column = gg + 6 * r, row = column + r
            for ci0 in 0..<ci {
                var col = 0
                while col < fo {
                    let count = min(8, fo &- col)
                    for l in 0..<r {
                        // column l of the kernels of columns col + lane: g[f, c] with (f, c) = (ci0, col + lane)
                        // flipped or transposed, else (col + lane, ci0)
                        for k in 0..<r {
                            var v = Lanes()
                            for lane in 0..<8 {
                                let j = min(col &+ lane, fo &- 1)
                                let kernel: Int = swapped ? ci0 &* C &+ j : j &* C &+ ci0
                                let at: Int = flipped ? rr &- 1 &- (r &* k &+ l) : r &* k &+ l
                                v[lane] = Double(g[kernel &* rr &+ at])
                            }
                            column[k] = v
                        }
                        K.timesG(column, 1, into: gg + l, r)
                    }
                    for a in 0..<6 {
                        K.timesG(gg + r &* a, 1, into: row, 1)
                        let first: Int = (6 &* a &* ci &+ ci0) &* fo &+ col
                        let o = u + first
                        for lane in 0..<count {
                            o[lane] = Float(row[0][lane]); o[plane &+ lane] = Float(row[1][lane])
                            o[2 &* plane &+ lane] = Float(row[2][lane]); o[3 &* plane &+ lane] = Float(row[3][lane])
                            o[4 &* plane &+ lane] = Float(row[4][lane]); o[5 &* plane &+ lane] = Float(row[5][lane])
                        }
                    }
                    col &+= 8
                }
            }
        }
    }

    /// dU (36, C, F) → dg (F, C, r, r), added: dg += Gᵀ dU G, eight filters f at a time (`Lanes`), the last
    /// block's missing lanes repeating the last filter.
    public static func addFilterGradient(_ du: UnsafePointer<Float>, outChannels F: Int, inChannels C: Int,
                                         variant: Variant, into dg: UnsafeMutablePointer<Float>) {
        switch variant {
        case .f4x4k3: addFilterGradient(F4x4K3.self, du, outChannels: F, inChannels: C, into: dg)
        case .f2x2k5: addFilterGradient(F2x2K5.self, du, outChannels: F, inChannels: C, into: dg)
        }
    }

    static func addFilterGradient<K: Winograd6Transforms>(_: K.Type, _ du: UnsafePointer<Float>, outChannels F: Int,
                                                          inChannels C: Int, into dg: UnsafeMutablePointer<Float>) {
        let r = K.r, rr = K.r * K.r
        // dU of one pair (6×6), then Gᵀ dU (r×6), then one row of dg (r)
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 36 + 7 * K.r) { buffer in
            let d = buffer.baseAddress!, t = d + 36, row = t + 6 * r
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
                    for s in 0..<6 { K.timesGT(d + s, 6, into: t + s, 6) }
                    for k in 0..<r {
                        K.timesGT(t + 6 &* k, 1, into: row, 1)
                        for lane in 0..<count {
                            let first: Int = ((f &+ lane) &* C &+ c) &* rr &+ r &* k
                            let out = dg + first
                            for l in 0..<r { out[l] += Float(row[l][lane]) }
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

    /// x (C, H, W), channels first, or (H, W, C) with `layout` channels last → padded (paddedHeight,
    /// paddedWidth, C), channels last, the image at (P, P) and zeros around it: a transposition, or a copy of rows.
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

    /// Zeros where the image does not go in a padded input (paddedHeight, paddedWidth, C): rows above and
    /// below, then the columns left and right of each image row.
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

    /// The padded input (paddedHeight, paddedWidth, C) of image j of `stack` → its rows of V (36, k·T, C) =
    /// Bᵀ d B, the ξ planes `planeStride(k·T, C)` floats apart; tile (ti, tj) is the 6×6 window at (m·ti, m·tj).
    public static func transformInput(_ padded: UnsafePointer<Float>, channels C: Int, _ t: Tiling,
                                      into v: UnsafeMutablePointer<Float>, _ stack: Stack, image j: Int) {
        switch t.variant {
        case .f4x4k3: transformInput(F4x4K3.self, padded, channels: C, t, into: v, stack, image: j)
        case .f2x2k5: transformInput(F2x2K5.self, padded, channels: C, t, into: v, stack, image: j)
        }
    }

    static func transformInput<K: Winograd6Transforms>(_: K.Type, _ padded: UnsafePointer<Float>, channels C: Int,
                                                       _ t: Tiling, into v: UnsafeMutablePointer<Float>, _ stack: Stack,
                                                       image j: Int) {
        let Wx = t.paddedWidth, vs = planeStride(stack.rows, C), rowStep = Wx * C
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 36) { buffer in
            let c6 = buffer.baseAddress!
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let corner = padded + (K.m &* ti &* Wx &+ K.m &* tj) &* C
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

    /// B applied to a column of six values: the adjoint of `timesBT` (B is Bᵀ's transpose),
    ///     B v = (4v0,  4(v2 − v1) + 2(v4 − v3) + 4v5,  −5v0 − 4(v1 + v2) − (v3 + v4),
    ///            (v1 − v2) + 2(v3 − v4) − 5v5,  v0 + v1 + v2 + v3 + v4,  v5).
    @inline(__always)
    static func timesB(_ v0: Vector, _ v1: Vector, _ v2: Vector, _ v3: Vector, _ v4: Vector, _ v5: Vector)
        -> (Vector, Vector, Vector, Vector, Vector, Vector) {
        let four = Vector(repeating: 4), two = Vector(repeating: 2), minusFive = Vector(repeating: -5)
        let p12 = v1 + v2, p34 = v3 + v4, m21 = v2 - v1, m43 = v4 - v3
        return (four * v0,
                (four * (m21 + v5)).addingProduct(two, m43),
                (-p34).addingProduct(-four, p12).addingProduct(minusFive, v0),
                (-m21).addingProduct(-two, m43).addingProduct(minusFive, v5),
                v0 + p12 + p34,
                v5)
    }

    /// The adjoint of `transformInput` for one image (k = 1): dV (36, T, C), the ξ planes `planeStride(T, C)`
    /// floats apart → padded (paddedHeight, paddedWidth, C) += B dV_tile Bᵀ at each tile's 6×6 window (m·ti,
    /// m·tj), tiles in row-major order (they overlap by r − 1, so each position sums its tiles in that order,
    /// after what `padded` held). Per tile, d̄[i][j] = Σ_{a,s} Bᵀ[a][i] Bᵀ[s][j] dV[6a + s]: B down each column s,
    /// then along each row i.
    static func addAdjointInput(_ dv: UnsafePointer<Float>, channels C: Int, _ t: Tiling,
                                into padded: UnsafeMutablePointer<Float>) {
        switch t.variant {
        case .f4x4k3: addAdjointInput(F4x4K3.self, dv, channels: C, t, into: padded)
        case .f2x2k5: addAdjointInput(F2x2K5.self, dv, channels: C, t, into: padded)
        }
    }

    static func addAdjointInput<K: Winograd6Transforms>(_: K.Type, _ dv: UnsafePointer<Float>, channels C: Int,
                                                        _ t: Tiling, into padded: UnsafeMutablePointer<Float>) {
        let Wx = t.paddedWidth, vs = planeStride(t.tiles, C), rowStep = Wx * C
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 36) { buffer in
            let c6 = buffer.baseAddress!
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let corner = padded + (K.m &* ti &* Wx &+ K.m &* tj) &* C
                    let tile = dv + (ti &* t.tilesWide &+ tj) &* C
                    var cb = 0
                    while cb < C {
                        // B down each column s: c6[6i + s]
                        for s in 0..<6 {
                            let p = tile + (s &* vs &+ cb), a = 6 &* vs
                            let r = timesB(load(p), load(p + a), load(p + 2 &* a), load(p + 3 &* a), load(p + 4 &* a),
                                           load(p + 5 &* a))
                            c6[s] = r.0; c6[6 &+ s] = r.1; c6[12 &+ s] = r.2
                            c6[18 &+ s] = r.3; c6[24 &+ s] = r.4; c6[30 &+ s] = r.5
                        }
                        // then along each row i, added at (i, j) of the window
                        for i in 0..<6 {
                            let q = c6 + 6 &* i
                            let r = timesB(q[0], q[1], q[2], q[3], q[4], q[5])
                            let o = corner + (i &* rowStep &+ cb)
                            store(load(o) + r.0, o); store(load(o + C) + r.1, o + C)
                            store(load(o + 2 &* C) + r.2, o + 2 &* C); store(load(o + 3 &* C) + r.3, o + 3 &* C)
                            store(load(o + 4 &* C) + r.4, o + 4 &* C); store(load(o + 5 &* C) + r.5, o + 5 &* C)
                        }
                        cb &+= 16
                    }
                }
            }
        }
    }

    /// The inverse of `padInput`'s placement: the image at (P, P) of padded (paddedHeight, paddedWidth, C),
    /// channels last → x (C, H, W), or (H, W, C) with `layout` channels last: the padding is dropped.
    static func cropPadded(_ padded: UnsafePointer<Float>, channels C: Int, _ t: Tiling,
                           layout: ActivationLayout = .channelsFirst, into x: UnsafeMutablePointer<Float>) {
        let (Wx, P, H, W) = (t.paddedWidth, t.padding, t.height, t.width)
        for h in 0..<H {
            let row = padded + ((h &+ P) &* Wx &+ P) &* C
            if layout == .channelsLast {
                // the padded row h + P from column P, (W, C) → x[h]
                (x + h &* W &* C).update(from: row, count: W &* C)
                continue
            }
            // (W, C) → the (C, W) slab of row h, rows H·W apart
            Transpose.matrix(row, rows: W, cols: C, sourceStride: C, into: x + h &* W, destinationStride: H &* W)
        }
    }

    /// Floats between two ξ planes of a (T, channels) matrix: a little more than the matrix, so that the 36
    /// planes do not all start at the same offset within 4 KiB.
    @inline(__always)
    static func planeStride(_ tiles: Int, _ channels: Int) -> Int { tiles * channels + 16 }

    /// Image j's rows of M (36, k·T, Fo) → its tiles' outputs, channels last, (m·Th, m·Tw, Fo), + b when given.
    static func transformOutput(_ m: UnsafePointer<Float>, _ stack: Stack, image j: Int, channels F: Int, _ t: Tiling,
                                bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        switch t.variant {
        case .f4x4k3: transformOutput(F4x4K3.self, m, stack, image: j, channels: F, t, bias: bias, into: y)
        case .f2x2k5: transformOutput(F2x2K5.self, m, stack, image: j, channels: F, t, bias: bias, into: y)
        }
    }

    static func transformOutput<K: Winograd6Transforms>(_: K.Type, _ m: UnsafePointer<Float>, _ stack: Stack, image j: Int,
                                                        channels F: Int, _ t: Tiling, bias: UnsafePointer<Float>?,
                                                        into y: UnsafeMutablePointer<Float>) {
        let ms = planeStride(stack.rows, F), rowStep = K.m * t.tilesWide * F
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 6 * K.m) { buffer in
            let e = buffer.baseAddress!
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let tile = stack.row(image: j, tile: ti &* t.tilesWide &+ tj)
                    let corner = y + (K.m &* ti &* rowStep &+ K.m &* tj &* F)
                    var fb = 0
                    while fb < F {
                        let b = bias.map { load($0 + fb) } ?? Vector()
                        K.outputTile(m + (tile &* F &+ fb), ms, bias: b, e) { p, q, value in
                            store(value, corner + (p &* rowStep &+ q &* F &+ fb))
                        }
                        fb &+= 16
                    }
                }
            }
        }
    }

    /// Image j's rows of M (36, k·T, Fo) → ReLU and 2×2, stride-2 max pooling of the outputs (Ho and Wo
    /// multiples of m, so that each tile holds (m/2)² whole windows: four in a 4×4 tile, the tile itself in a
    /// 2×2 one): pooled (Ho/2, Wo/2, Fo) and each winner's index within its (Ho, Wo) plane, channels last, or −1
    /// where the pooled value is not positive (no gradient passes: the ReLU's mask). Values bit for bit what
    /// ReLU then pooling compute (ReLUPoolEpilogue). Without `argmax` (evaluation), the values alone.
    static func transformOutputReLUPool(_ m: UnsafePointer<Float>, _ stack: Stack, image j: Int, channels F: Int,
                                        _ t: Tiling, bias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                        argmax: UnsafeMutablePointer<Int32>?) {
        switch t.variant {
        case .f4x4k3:
            transformOutputReLUPool(F4x4K3.self, m, stack, image: j, channels: F, t, bias: bias, into: out, argmax: argmax)
        case .f2x2k5:
            transformOutputReLUPool(F2x2K5.self, m, stack, image: j, channels: F, t, bias: bias, into: out, argmax: argmax)
        }
    }

    static func transformOutputReLUPool<K: Winograd6Transforms>(
        _: K.Type, _ m: UnsafePointer<Float>, _ stack: Stack, image j: Int, channels F: Int, _ t: Tiling,
        bias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        let ms = planeStride(stack.rows, F), Wo = t.outWidth, pw = Wo / 2, wo32 = Int32(truncatingIfNeeded: Wo)
        let half = K.m / 2
        // e: the column transforms (6m), y: the tile's outputs (m²)
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 6 * K.m + K.m * K.m) { buffer in
            let e = buffer.baseAddress!, y = e + 6 * K.m
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let tile = stack.row(image: j, tile: ti &* t.tilesWide &+ tj)
                    var fb = 0
                    while fb < F {
                        K.outputTile(m + (tile &* F &+ fb), ms, bias: load(bias + fb), e) { p, q, value in
                            y[K.m &* p &+ q] = value
                        }
                        @inline(__always) func bits(_ i: Int) -> SIMD16<Int32> { unsafeBitCast(y[i], to: SIMD16<Int32>.self) }
                        for u in 0..<half {
                            for w in 0..<half {
                                // the window at (2u, 2w) of the tile: outputs first, first + 1, first + m, first + m + 1
                                let first = 2 &* K.m &* u &+ 2 &* w
                                let o = ((half &* ti &+ u) &* pw &+ half &* tj &+ w) &* F &+ fb
                                guard let argmax else {
                                    let best = ReLUPoolEpilogue.reluPoolWindowValues(
                                        bits(first), bits(first &+ 1), bits(first &+ K.m), bits(first &+ K.m &+ 1))
                                    UnsafeMutableRawPointer(out + o).storeBytes(of: best, as: SIMD16<Int32>.self)
                                    continue
                                }
                                let q0 = (K.m &* ti &+ 2 &* u) &* Wo &+ K.m &* tj &+ 2 &* w
                                let (best, at) = ReLUPoolEpilogue.reluPoolWindows(
                                    bits(first), bits(first &+ 1), bits(first &+ K.m), bits(first &+ K.m &+ 1),
                                    at: SIMD16<Int32>(repeating: Int32(truncatingIfNeeded: q0)), rowStride: wo32)
                                UnsafeMutableRawPointer(out + o).storeBytes(of: best, as: SIMD16<Int32>.self)
                                // Positive floats are the positive bit patterns; −1 where best ≤ 0 as an integer
                                // (the sign of best − 1, or of best itself for −0, Int32.min): integer shifts,
                                // which stay vector instructions where `replacing(with:where:)` may not.
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
    /// `rowStride` positions long (zeros past Ho and Wo, up to m·Th and m·Tw) → dZ (36, T, Fo) = A dY Aᵀ: the
    /// adjoint of `transformOutput`.
    static func transformOutputGradient(_ dy: UnsafePointer<Float>, rowStride: Int, channels F: Int, _ t: Tiling,
                                        into dz: UnsafeMutablePointer<Float>) {
        switch t.variant {
        case .f4x4k3: transformOutputGradient(F4x4K3.self, dy, rowStride: rowStride, channels: F, t, into: dz)
        case .f2x2k5: transformOutputGradient(F2x2K5.self, dy, rowStride: rowStride, channels: F, t, into: dz)
        }
    }

    static func transformOutputGradient<K: Winograd6Transforms>(_: K.Type, _ dy: UnsafePointer<Float>, rowStride: Int,
                                                                channels F: Int, _ t: Tiling,
                                                                into dz: UnsafeMutablePointer<Float>) {
        let zs = planeStride(t.tiles, F), rowStep = rowStride * F
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 36) { buffer in
            let e = buffer.baseAddress!
            for ti in 0..<t.tilesHigh {
                for tj in 0..<t.tilesWide {
                    let corner = dy + (K.m &* ti &* rowStep &+ K.m &* tj &* F)
                    let out = dz + (ti &* t.tilesWide &+ tj) &* F
                    var fb = 0
                    while fb < F {
                        K.outputGradientTile(corner + fb, rowStep: rowStep, channels: F, e, into: out + fb, zs)
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

    /// Scratch floats of `multiply` for k images: V, M, one image's outputs (channels last, m² per tile and
    /// channel) and their 2×2 pooling ((m/2)² per tile and channel).
    static func productsCount(inChannels C: Int, outChannels F: Int, _ t: Tiling, images k: Int) -> Int {
        let rows = k * t.tiles, m = t.variant.tileSize
        return 36 * planeStride(rows, C) + 36 * planeStride(rows, F) + (m * m + (m / 2) * (m / 2)) * t.tiles * F
    }

    /// y (k, Fo, Ho, Wo) = conv r×r(x (k, Ci, H, W), padding P) + b, from transformed filters U (36, Ci, Fo); or,
    /// with `pooled`, only relu(y) pooled over 2×2 windows (k, Fo, ⌊Ho/2⌋, ⌊Wo/2⌋) and, when given (Ho and Wo
    /// multiples of m), their argmax (k, Ho/2, Wo/2, Fo), channels last, −1 where nothing passes (see
    /// `transformOutputReLUPool`). Each image's outputs are the bits of its own convolution (k = 1).
    /// `layout.input` channels last takes x as (k, H, W, Ci); `layout.output` channels last gives y as
    /// (k, Ho, Wo, Fo) and the pooled values as (k, ⌊Ho/2⌋, ⌊Wo/2⌋, Fo): the same values, untransposed.
    public static func convolve(_ x: UnsafePointer<Float>, images k: Int = 1, inChannels C: Int, outChannels F: Int,
                                _ t: Tiling, filters u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                scratch slice: WorkspaceSlice<Float>, into y: UnsafeMutablePointer<Float>,
                                pooled: (out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?)? = nil,
                                layout: StepLayout = .channelsFirst) {
        let scratch = slice.pointer(for: scratchCount(inChannels: C, outChannels: F, t, images: k), "Winograd6.convolve")
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
            if t.variant == .f2x2k5 {
                // F(2×2, 5×5): M[ξ] (k·T, Fo) = V[ξ] · U[ξ] for all the group's rows at once, each row on its own
                // (so a group keeps each image's bits whatever the BLAS).
                product(v + xi * vs, rows: stack.rows, depth: C, rowStep: C, depthStep: 1, u + xi * C * F, columns: F,
                        into: m + xi * ms)
                continue
            }
            stack.forEachProduct { first, rows in
                // M[ξ] (rows, Fo) = V[ξ] (rows, Ci) · U[ξ] (Ci, Fo)
                BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: F, k: C,
                           a: v + xi * vs + first * C, lda: C, b: u + xi * C * F, ldb: F, c: m + xi * ms + first * F, ldc: F)
            }
        }
        let (Ho, Wo, mt) = (t.outHeight, t.outWidth, t.variant.tileSize)
        if let pooled, let bias {
            // pooled values (L, Fo) in the scratch, then copied in one sequential pass (channels last) or
            // transposed → (Fo, L), into an output that is not in cache; the argmax stays channels last, for `backward`
            let L = (Ho / 2) * (Wo / 2)
            if Ho % mt == 0 && Wo % mt == 0 {
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
            precondition(pooled.argmax == nil, "Winograd6: the winners of a pooling across tiles are not kept")
            let pooledLast = last + mt * mt * t.tiles * F
            for j in 0..<stack.images {
                let out = pooled.out + j * L * F
                transformOutput(m, stack, image: j, channels: F, t, bias: bias, into: last)
                ReLUPoolEpilogue.reluMaxPool2x2ChannelsLast(last, height: Ho, width: Wo, rowLength: mt * t.tilesWide,
                                                            channels: F, into: pooledLast)
                if keepsChannelsLast { out.update(from: pooledLast, count: L * F) } else { Transpose.matrix(pooledLast, rows: L, cols: F, into: out) }
            }
            return
        }
        // The tiles' outputs (m·Th, m·Tw, Fo) in the scratch, then each row's first Wo positions copied (channels
        // last; one copy when Wo = m·Tw) or transposed into y.
        let rowFloats = mt * t.tilesWide * F
        for j in 0..<stack.images {
            let image = y + j * F * Ho * Wo
            transformOutput(m, stack, image: j, channels: F, t, bias: bias, into: last)
            if keepsChannelsLast && Wo == mt * t.tilesWide {
                image.update(from: last, count: Ho * Wo * F)
                continue
            }
            for h in 0..<Ho {
                if keepsChannelsLast {
                    // row h of the tiles' outputs, the first Wo of m·Tw positions → y[h] (Wo, Fo)
                    (image + h * Wo * F).update(from: last + h * rowFloats, count: Wo * F)
                    continue
                }
                // row h of the tiles' outputs, (Wo, Fo) of (m·Tw, Fo) → y[:, h, :], rows Ho·Wo apart
                Transpose.matrix(last + h * rowFloats, rows: Wo, cols: F, sourceStride: F,
                                 into: image + h * Wo, destinationStride: Ho * Wo)
            }
        }
    }

    /// c (rows, N) = a (rows, K) · b (K, N), or with `accumulate` c += a · b; b and c row-major, N a multiple of
    /// 16, a[i, k] at a[i·rowStep + k·depthStep] (a row-major: rowStep K, depthStep 1; a transposed: 1 and its row
    /// length). Sixteen columns and eight rows at a time, each output c[i, j] (+)= Σ_k a[i, k]·b[k, j] by fused
    /// multiply-adds in k order, from 0 or from c. For the shallow products of F(2×2, 5×5) (K = 16 or 32, or the
    /// T tiles of dU), where a BLAS call packs both operands for little work.
    @inline(__always)
    static func product(_ a: UnsafePointer<Float>, rows: Int, depth K: Int, rowStep: Int, depthStep: Int,
                        _ b: UnsafePointer<Float>, columns N: Int, into c: UnsafeMutablePointer<Float>,
                        accumulate: Bool = false) {
        @inline(__always) func start(_ p: UnsafeMutablePointer<Float>) -> Vector { accumulate ? load(p) : Vector() }
        var nb = 0
        while nb < N {
            var i = 0
            while i &+ 8 <= rows {
                let r = a + i &* rowStep, o = c + (i &* N &+ nb)
                var c0 = start(o), c1 = start(o + N), c2 = start(o + 2 &* N), c3 = start(o + 3 &* N)
                var c4 = start(o + 4 &* N), c5 = start(o + 5 &* N), c6 = start(o + 6 &* N), c7 = start(o + 7 &* N)
                for k in 0..<K {
                    let bv = load(b + (k &* N &+ nb)), q = r + k &* depthStep
                    c0 = c0.addingProduct(Vector(repeating: q[0]), bv)
                    c1 = c1.addingProduct(Vector(repeating: q[rowStep]), bv)
                    c2 = c2.addingProduct(Vector(repeating: q[2 &* rowStep]), bv)
                    c3 = c3.addingProduct(Vector(repeating: q[3 &* rowStep]), bv)
                    c4 = c4.addingProduct(Vector(repeating: q[4 &* rowStep]), bv)
                    c5 = c5.addingProduct(Vector(repeating: q[5 &* rowStep]), bv)
                    c6 = c6.addingProduct(Vector(repeating: q[6 &* rowStep]), bv)
                    c7 = c7.addingProduct(Vector(repeating: q[7 &* rowStep]), bv)
                }
                store(c0, o); store(c1, o + N); store(c2, o + 2 &* N); store(c3, o + 3 &* N)
                store(c4, o + 4 &* N); store(c5, o + 5 &* N); store(c6, o + 6 &* N); store(c7, o + 7 &* N)
                i &+= 8
            }
            while i < rows {
                let r = a + i &* rowStep, o = c + (i &* N &+ nb)
                var c0 = start(o)
                for k in 0..<K { c0 = c0.addingProduct(Vector(repeating: r[k &* depthStep]), load(b + (k &* N &+ nb))) }
                store(c0, o)
                i &+= 1
            }
            nb &+= 16
        }
    }

    /// The dx tiling of a forward tiling: dy (Ho, Wo) padded by r − 1 − P, whose outputs are H×W. Its padded
    /// buffer is also where `backward` reads the forward tiles' dY: the image at Pd = r − 1 − P, tile (ti, tj)
    /// reading the m×m block at (Pd + m·ti, Pd + m·tj). So the buffer has at least Pd + m·Th rows and
    /// Pd + m·Tw columns (Th, Tw the forward tiles): every dY a forward tile reads lies inside it, in its zeros
    /// past Ho and Wo. Only F(4×4, 3×3) with P = 2 needs more than dx's own m·⌈H/m⌉ + r − 1 (when
    /// ⌈(H + 2)/4⌉ > ⌈H/4⌉: H = 3, 4, 7, 8, …); the extra rows and columns are zeros that dx's tiles never read.
    public static func inputGradientTiling(_ t: Tiling) -> Tiling {
        let Pd = t.variant.kernelSize - 1 - t.padding, m = t.variant.tileSize
        return Tiling(height: t.outHeight, width: t.outWidth, padding: Pd, variant: t.variant,
                      atLeast: (Pd + m * t.tilesHigh, Pd + m * t.tilesWide))
    }

    /// Scratch floats for `backward` of k images on C → F channels over the forward tiling `t`: one padded dy,
    /// then one image's filter-gradient work (padded x, which the adjoint reuses for the padded dx; V, which
    /// it reuses for dV; dZ). The full convolution puts the group's V for dx after the padded dy and needs
    /// room after it for the filter-gradient work or the group's M for dx and one image's dx.
    public static func backwardScratchCount(inChannels C: Int, outChannels F: Int, _ t: Tiling, images k: Int = 1) -> Int {
        let dt = inputGradientTiling(t), rows = k * dt.tiles
        let gradient = t.paddedCount(channels: C) + 36 * planeStride(t.tiles, C) + 36 * planeStride(t.tiles, F)
        switch t.variant.inputGradientRoute {
        case .adjoint:
            return dt.paddedCount(channels: F) + gradient
        case .fullConvolution:
            let products = productsCount(inChannels: F, outChannels: C, dt, images: k) - 36 * planeStride(rows, F)
            return dt.paddedCount(channels: F) + 36 * planeStride(rows, F) + max(gradient, products)
        }
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
    /// F) += Σ_tiles V[ξ]ᵀ dZ[ξ] with V from x[j] (C, H, W); and, given dx and the filters (36, F, C) of
    /// `transformInputGradientFilters`, dx (k, C, H, W) by the variant's `inputGradientRoute`: the convolution
    /// of each dy padded by r − 1 − P, the k images sharing each product (`Stack`); or the adjoint, image by
    /// image, dV[ξ] (T, C) = dZ[ξ] · U[ξ]ᵀ and dx = Σ_tiles B dV Bᵀ cropped.
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
                                    "Winograd6.backward")
        let dt = inputGradientTiling(t), Pd = dt.padding, Wq = dt.paddedWidth, chw = C * t.height * t.width
        let route = t.variant.inputGradientRoute
        let dxStack = Stack(tiles: dt.tiles, images: k), one = Stack(tiles: t.tiles, images: 1)
        // dy padded for dx, channels last (rows Wq positions long); the forward tiles' dY sits at (Pd, Pd) in it,
        // zeros past Ho and Wo up to m·Th and m·Tw: every dY a forward tile reads lies inside the zeroed buffer
        // (`inputGradientTiling` sizes it to Pd + m·Th rows and Pd + m·Tw columns at least).
        // The full convolution's V for dx (the group's) comes next; the adjoint needs none.
        let dyPadded = scratch, dxV = scratch + dt.paddedCount(channels: F)
        let rest = dxV + (route == .fullConvolution ? 36 * planeStride(dxStack.rows, F) : 0)
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
                if t.variant == .f2x2k5 {
                    product(v + xi * vs, rows: C, depth: T, rowStep: 1, depthStep: C, dz + xi * zs, columns: F,
                            into: du + xi * C * F, accumulate: true)
                    continue
                }
                BLAS.sgemm(transposeA: true, transposeB: false, m: C, n: F, k: T,
                           a: v + xi * vs, lda: C, b: dz + xi * zs, ldb: F, beta: 1, c: du + xi * C * F, ldc: F)
            }
            guard let inputGradient else { continue }
            switch route {
            case .fullConvolution:
                transformInput(dyPadded, channels: F, dt, into: dxV, dxStack, image: j)
            case .adjoint:
                // dV[ξ] (T, C) = dZ[ξ] (T, F) · U[ξ]ᵀ (F, C), over V (read above); then dx[j] = Σ_tiles B dV Bᵀ in
                // the zeroed padded buffer (over padded x), cropped to (C, H, W) or (H, W, C).
                for xi in 0..<36 {
                    product(dz + xi * zs, rows: T, depth: F, rowStep: F, depthStep: 1, inputGradient.filters + xi * F * C,
                            columns: C, into: v + xi * vs)
                }
                xPadded.update(repeating: 0, count: t.paddedCount(channels: C))
                addAdjointInput(v, channels: C, t, into: xPadded)
                cropPadded(xPadded, channels: C, t, layout: layout.input, into: inputGradient.dx + j * chw)
            }
        }
        guard let inputGradient, route == .fullConvolution else { return }
        multiply(dxV, dxStack, inChannels: F, outChannels: C, dt, filters: inputGradient.filters, bias: nil,
                 into: inputGradient.dx, pooled: nil, layout: layout.input)
    }
}
