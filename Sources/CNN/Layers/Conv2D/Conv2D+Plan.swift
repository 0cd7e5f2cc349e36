//  Conv2D+Plan.swift
//
//  How the fast convolution computes one forward and the backward after it: a `Plan`, chosen by `choose`,
//  the one function that holds every threshold. What each algorithm can compute at all (`supports`) stays
//  with its kernels; which one pays is decided here. Forward stores the plan; backward reads it.
//
//  Automatic choice, first that applies (g the input geometry, F filters, e the fused epilogue):
//    winograd4x4   F(4×4, 3×3), channels last      3×3, stride 1, P ≤ 2, C and F multiples of 16
//    winograd5x5   F(2×2, 5×5), channels last      5×5, stride 1, P ≤ 4, C and F multiples of 16
//    winograd2x2   F(2×2, 3×3)                     3×3, stride 1, P ≤ 2, even Ho, Wo ≥ 16, W ≥ 16, C ≥ 8
//    direct        register-blocked, few channels  stride 1, HH, WW ≤ 8, Ho·Wx ≥ 32, e pools, C ≤ 8
//    paddedIm2col  im2col on rows of Wx = W + 2P   stride 1, Wx/Wo ≤ 1.5 with a fused pooling (read in place)
//                                                  or 1.25 (compacted after), and C > 1 or (pooled and
//                                                  evaluating): a one-channel layer's backward is only dW,
//                                                  whose product grows by Wx/Wo
//    im2col        compact columns                 anything (from the padded image at stride 1)
//  A Winograd tile mixes every input of its window into every output of the tile, so an input holding a NaN
//  or an infinity leaves the Winograd algorithms (forced or not) for the first of the others that applies:
//  outputs then see only their own receptive field, as the reference and PyTorch.

extension Conv2D {
    /// The fast convolution's algorithms, as `cnn-bench --layers` prints them.
    public enum Algorithm: String, CaseIterable, Sendable {
        case im2col
        case paddedIm2col = "padded-im2col"
        case direct
        case winograd2x2 = "winograd-2x2"
        case winograd4x4 = "winograd-4x4"
        /// F(2×2, 5×5)
        case winograd5x5 = "winograd-5x5"

        /// Whether the algorithm tiles its input (Winograd): a non-finite input value leaves it (see the top
        /// of this file).
        var tiles: Bool { self == .winograd2x2 || self == .winograd4x4 || self == .winograd5x5 }
    }

    /// One forward's algorithm with the layout it computes on.
    public enum Plan: CustomStringConvertible {
        /// Compact im2col: columns from the zero-padded image (stride 1) or by `Im2Col` (nil, other strides);
        /// `keepsColumns`: a training forward keeps every image's columns for backward.
        case im2col(PaddedColumns?, keepsColumns: Bool)
        /// im2col on rows of the padded width Wx, of which the first Wo are kept.
        case paddedIm2col(PaddedColumns, keepsColumns: Bool)
        /// The direct convolution; always with a fused ReLU and pooling.
        case direct(DirectConvolution)
        /// F(2×2, 3×3); `tilePooled`: a fused 2×2 pooling taken from each output tile as it is formed.
        case winograd2x2(Winograd.Tiling, tilePooled: Bool)
        /// F(4×4, 3×3), channels last; `tilePooled` likewise (Ho, Wo multiples of 4).
        case winograd4x4(Winograd6.Tiling, tilePooled: Bool)
        /// F(2×2, 5×5), channels last; `tilePooled` likewise (Ho, Wo even: each 2×2 tile is one window).
        case winograd5x5(Winograd6.Tiling, tilePooled: Bool)

        public var algorithm: Algorithm {
            switch self {
            case .im2col: return .im2col
            case .paddedIm2col: return .paddedIm2col
            case .direct: return .direct
            case .winograd2x2: return .winograd2x2
            case .winograd4x4: return .winograd4x4
            case .winograd5x5: return .winograd5x5
            }
        }

        /// The algorithm and its layout in a few words, e.g. "winograd-4x4, tile-pooled".
        public var description: String {
            switch self {
            case let .im2col(columns, keeps):
                return "im2col" + (columns == nil ? ", strided" : "") + (keeps ? ", columns kept" : "")
            case let .paddedIm2col(_, keeps): return "padded-im2col" + (keeps ? ", columns kept" : "")
            case .direct: return "direct"
            case let .winograd2x2(_, pooled): return "winograd-2x2" + (pooled ? ", tile-pooled" : "")
            case let .winograd4x4(_, pooled): return "winograd-4x4" + (pooled ? ", tile-pooled" : "")
            case let .winograd5x5(_, pooled): return "winograd-5x5" + (pooled ? ", tile-pooled" : "")
            }
        }
    }

    /// A forced algorithm that cannot compute a layer.
    public enum PlanError: Error, Equatable, CustomStringConvertible {
        case doesNotApply(Algorithm, layer: String, reason: String)

        public var description: String {
            switch self {
            case let .doesNotApply(algorithm, layer, reason):
                return "\(layer): the \(algorithm.rawValue) algorithm cannot compute it: \(reason)"
            }
        }
    }

    /// The plan for input geometry `g` (see the table at the top of this file). `forced` takes one algorithm
    /// or throws `PlanError` when it cannot compute `g`; `finite` is false when the input holds a NaN or an
    /// infinity; `columnsCacheLimit` is the most floats of whole-batch columns a training forward keeps.
    static func choose(_ g: ConvGeometry, outChannels F: Int, epilogue e: Epilogue, mode: Mode, finite: Bool = true,
                       forced: Algorithm?, columnsCacheLimit: Int, layer: String) throws -> Plan {
        func refuse(_ reason: String) -> PlanError { .doesNotApply(forced ?? .im2col, layer: layer, reason: reason) }
        // Whole-batch columns kept by a training forward when they fit the limit, in floats.
        func keeps(_ rowLength: Int) -> Bool { mode == .training && g.n * g.patchSize * g.ho * rowLength <= columnsCacheLimit }
        func im2col() -> Plan {
            let columns = g.stride == 1 ? PaddedColumns(g.single, compact: true) : nil
            return .im2col(columns, keepsColumns: keeps(g.wo))
        }
        func padded() -> Plan {
            let columns = PaddedColumns(g.single)
            return .paddedIm2col(columns, keepsColumns: keeps(columns.rowLength))
        }
        let winograd4x4 = Winograd6.supports(g, outChannels: F, variant: .f4x4k3), winograd2x2 = Winograd.supports(g)
        let winograd5x5 = Winograd6.supports(g, outChannels: F, variant: .f2x2k5)
        let direct = e.pool != nil && DirectConvolution.supports(g)
        // An α = 6 tiling, tile-pooled when a fused ReLU and 2×2 pooling has whole windows in whole tiles.
        func winograd6(_ variant: Winograd6.Variant) -> (Winograd6.Tiling, tilePooled: Bool) {
            let m = variant.tileSize
            return (Winograd6.Tiling(height: g.h, width: g.w, padding: g.padding, variant: variant),
                    e.relu && e.pools2x2 && g.ho % m == 0 && g.wo % m == 0)
        }
        switch forced {
        case .winograd4x4? where finite:
            guard winograd4x4 else { throw refuse("it needs 3×3 kernels, stride 1, padding ≤ 2 and channels in multiples of 16") }
            let (tiling, pooled) = winograd6(.f4x4k3)
            return .winograd4x4(tiling, tilePooled: pooled)
        case .winograd5x5? where finite:
            guard winograd5x5 else { throw refuse("it needs 5×5 kernels, stride 1, padding ≤ 4 and channels in multiples of 16") }
            let (tiling, pooled) = winograd6(.f2x2k5)
            return .winograd5x5(tiling, tilePooled: pooled)
        case .winograd2x2? where finite:
            guard winograd2x2 else { throw refuse("it needs 3×3 kernels, stride 1, padding ≤ 2, an even output of width ≥ 16 and inputs ≥ 16 wide") }
            return .winograd2x2(Winograd.Tiling(height: g.h, width: g.w, padding: g.padding), tilePooled: e.relu && e.pools2x2)
        case .winograd4x4?, .winograd5x5?, .winograd2x2?:
            let applies = forced == .winograd4x4 ? winograd4x4 : forced == .winograd5x5 ? winograd5x5 : winograd2x2
            guard applies else { throw refuse("its shape is not supported") }
            return try choose(g, outChannels: F, epilogue: e, mode: mode, finite: finite, forced: nil,
                              columnsCacheLimit: columnsCacheLimit, layer: layer)
        case .direct?:
            guard direct else { throw refuse("it needs a fused ReLU and pooling, stride 1, kernels up to 8×8 and Ho·(W + 2P) ≥ 32") }
            return .direct(DirectConvolution(g.single))
        case .paddedIm2col?:
            guard g.stride == 1 else { throw refuse("it needs stride 1") }
            return padded()
        case .im2col?:
            return im2col()
        case nil:
            break
        }
        if finite && winograd4x4 {
            let (tiling, pooled) = winograd6(.f4x4k3)
            return .winograd4x4(tiling, tilePooled: pooled)
        }
        if finite && winograd5x5 {
            let (tiling, pooled) = winograd6(.f2x2k5)
            return .winograd5x5(tiling, tilePooled: pooled)
        }
        // A one-channel layer's products are too thin for F(2×2) to gain.
        if finite && winograd2x2 && g.c >= 8 {
            return .winograd2x2(Winograd.Tiling(height: g.h, width: g.w, padding: g.padding), tilePooled: e.relu && e.pools2x2)
        }
        // lenet5's second layer (6 channels, 5×5) is the widest that gains (scripts/README.md, Sources/CNN/README.md).
        if direct && g.c <= 8 { return .direct(DirectConvolution(g.single)) }
        // The padded width pays while its extra GEMM columns cost less than the short-row copies they save.
        let pooled = e.pool != nil
        let maximumWidthRatio = pooled ? 1.5 : 1.25
        if g.stride == 1, g.c > 1 || (pooled && mode == .evaluation),
           Double(g.w + 2 * g.padding) <= maximumWidthRatio * Double(g.wo) { return padded() }
        return im2col()
    }

    /// Whether a forward of geometry `g` may take a Winograd algorithm, forced or chosen, and so must first
    /// check that its input is finite.
    static func mayTile(_ g: ConvGeometry, outChannels F: Int, forced: Algorithm?) -> Bool {
        if let forced { return forced.tiles }
        return Winograd6.supports(g, outChannels: F, variant: .f4x4k3) || Winograd6.supports(g, outChannels: F, variant: .f2x2k5)
            || Winograd.supports(g)
    }

    /// The plan this layer's fast forward would take for an input of `shape` in `mode` with `epilogue` (a
    /// finite input). Throws `PlanError` when `algorithm` forces one that cannot compute it.
    public func plan(forInput shape: [Int], mode: Mode, epilogue: Epilogue = .none) throws -> Plan {
        precondition(outputShape(for: shape) != nil, "Conv2D(\(inChannels)→\(outChannels), k\(kernelSize)) cannot take input \(shape)")
        return try Self.choose(geometry(of: shape), outChannels: outChannels, epilogue: epilogue, mode: mode,
                               forced: algorithm, columnsCacheLimit: columnsCacheLimit, layer: name)
    }

    /// The plan of an evaluation forward on the fast backend (see `ChannelsLastConvolution`).
    func evaluationPlan(forInput shape: [Int], epilogue: Epilogue) -> Plan? {
        backend == .fast ? try? plan(forInput: shape, mode: .evaluation, epilogue: epilogue) : nil
    }

    /// "Conv2D(C→F, kK, sS, pP)", for messages.
    var name: String { "Conv2D(\(inChannels)→\(outChannels), k\(kernelSize), s\(stride), p\(padding))" }
}
