//  Conv2D.swift
//
//  Dimensions (the module's legend, Sources/CNN/README.md): N batch, C input channels, H×W input, F filters, HH×WW kernel, S stride, P padding,
//  Ho = 1 + (H + 2P − HH) / S and Wo = 1 + (W + 2P − WW) / S (rounded down, as PyTorch), L = Ho·Wo.
//
//  Forward:   y[n,f,i,j] = b[f] + Σ_c Σ_k Σ_l w[f,c,k,l] · x[n, c, i·S − P + k, j·S − P + l]
//  Backward:  db[f]      = Σ_n Σ_i Σ_j dy[n,f,i,j]
//             dw[f,c,k,l] = Σ_n Σ_i Σ_j dy[n,f,i,j] · x[n, c, i·S − P + k, j·S − P + l]
//             dx[n,c,h,w] = Σ_f Σ_{i,j,k,l: i·S−P+k=h, j·S−P+l=w} dy[n,f,i,j] · w[f,c,k,l]
//  Fast path, image by image, with cols = im2col(x[n]) of shape (C·HH·WW, L) and W as an (F, C·HH·WW) matrix:
//             y[n] = W · cols + b,   dW += dy[n] · colsᵀ,   dcols = Wᵀ · dy[n],   dx[n] = col2im(dcols).
//  The images of a batch are split across threads; each thread runs single-threaded sgemm on its own
//  images with its own cols (small enough to stay in cache) and its own partial dW and db, which are added
//  up in thread order at the end, so a run repeats exactly for a given thread count.
//
//  The algorithm (im2col on compact or padded-width rows, the direct convolution, Winograd F(2×2, 3×3),
//  F(4×4, 3×3) or F(2×2, 5×5)) is a `Plan` chosen per forward by `Conv2D.choose` (Conv2D+Plan.swift), the one place that
//  holds the thresholds; backward follows the forward's plan. Each algorithm's forward and backward sit side
//  by side: im2col here, the others in Conv2D+Direct.swift, Conv2D+Winograd.swift, Conv2D+Winograd6.swift.
//
//  Fused epilogue. When Sequential's execution steps fuse conv → ReLU or conv → ReLU → MaxPool2D (all fast),
//  forward is given the `Epilogue` and does their work on each image while its output is in cache (the later
//  layers are not run):
//      forward   y = relu(W·cols + b); with pooling, out = max over each window of y (first maximum wins)
//      backward  dy·[y > 0]; with pooling, dOut goes to the window's maximum when out > 0
//  This is exactly what the separate layers compute, bit for bit, without writing the full-size activation,
//  except on the direct path, whose dW adds the windows' winners in another order (equal to rounding).

import Glibc
import RealModule

/// A 2-D convolution with square kernels, stride and zero padding: `nn.Conv2d`.
public final class Conv2D: EpilogueFusing, ChannelsLastConvolution {
    public let inChannels, outChannels, kernelSize, stride, padding: Int
    public var backend: Backend
    /// (F, C, HH, WW)
    public let weight: Parameter
    /// (F)
    public let bias: Parameter

    /// When false, `backward` skips dInput (for the first layer, whose input gradient nobody needs)
    /// and returns an empty tensor.
    public var computesInputGradient = true

    /// The fast path's algorithm: nil chooses by shape (`Conv2D.choose`); one of them forces it (for tests
    /// and measurements), and a forward it cannot compute is a programming error (`plan(forInput:)` throws).
    public var algorithm: Algorithm? = nil

    /// The last fast forward's plan, which the backward after it follows; nil before one.
    public private(set) var plan: Plan?
    /// The last forward's epilogue, which the backward after it differentiates.
    private(set) var epilogue = Epilogue.none
    var fusesReLU: Bool { epilogue.relu }
    var fusedPool: (kernel: Int, stride: Int)? { epilogue.pool }

    var input: Tensor<Float>?          // x, kept for backward (im2col is recomputed there): in the forward
                                       // layout's input layout on F(4×4) and F(2×2, 5×5), channels first on
                                       // the other plans
    /// The last forward's layouts, which the backward after it follows: dy in `output`, dx in `input`.
    private(set) var forwardLayout = StepLayout.channelsFirst
    let filters = Workspace<Float>()   // Winograd: transformed filters U (16 or 36 positions, F, C), or dx's
    /// When `filters` holds a forward's U: its positions (16 or 36) and the weights it was made from, bit for
    /// bit (`heldPositions` 0 otherwise). See `forwardFilters`.
    private var heldPositions = 0
    private var heldWeights: [Float] = []
    let paddedImages = Workspace<Float>() // per thread: x̃ or dx̃ of one image (PaddedColumns.paddedCount)
    let cols = Workspace<Float>()      // per thread: im2col of one image, (C·HH·WW, L); or per image
                                               // when the plan keeps the whole batch's columns
    let dCols = Workspace<Float>()     // per thread: (C·HH·WW, L)
    let partials = Workspace<Float>()  // per thread: dW (F, C·HH·WW) then db (F)
    let scratch = Workspace<Float>()   // per thread: y[n] before pooling or compaction, or the masked
                                               // dy[n], (F, Ho·R) with R = Wx (padded width) or Wo
    let argmax = Workspace<Int32>()    // with pooling: each window's maximum, index within (Ho, Wo)
    let shiftedFilters = Workspace<SIMD8<Float>>() // direct path: the kernels at the offsets of a 2×2 window
    var output = Tensor<Float>(shape: [0])
    var dInput = Tensor<Float>(shape: [0])
    /// A channels-last input transposed for a plan other than the α = 6 Winograd ones (F(4×4, 3×3), F(2×2, 5×5)),
    /// and such a plan's output transposed to channels last; in its backward, dy transposed to channels first
    /// and dx back (ActivationLayout.swift).
    var layoutInput = Tensor<Float>(shape: [0]), layoutOutput = Tensor<Float>(shape: [0])
    var layoutDOutput = Tensor<Float>(shape: [0]), layoutDInput = Tensor<Float>(shape: [0])

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                backend: Backend = .fast) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
                     "invalid Conv2D(\(inChannels), \(outChannels), k\(kernelSize), s\(stride), p\(padding))")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        self.backend = backend
        weight = Parameter(name: "weight", value: Tensor(shape: [outChannels, inChannels, kernelSize, kernelSize]))
        bias = Parameter(name: "bias", value: Tensor(shape: [outChannels]))
    }

    public var spec: LayerSpec {
        .conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride, padding: padding)
    }
    public var parameters: [Parameter] { [weight, bias] }

    func geometry(of shape: [Int]) -> ConvGeometry {
        ConvGeometry(n: shape[0], c: inChannels, h: shape[2], w: shape[3],
                     kh: kernelSize, kw: kernelSize, stride: stride, padding: padding)
    }

    /// The pooled extent (Hp, Wp) of an (Ho, Wo) output.
    func pooledSize(_ g: ConvGeometry, _ pool: (kernel: Int, stride: Int)) -> (Int, Int) {
        ((g.ho - pool.kernel) / pool.stride + 1, (g.wo - pool.kernel) / pool.stride + 1)
    }

    /// The forward's output shape, (N, F, Hp, Wp) with a fused pooling or `convShape`, and Hp·Wp (0 without).
    func fusedOutputShape(_ g: ConvGeometry, _ convShape: [Int]) -> (shape: [Int], pooledSize: Int) {
        guard let pool = fusedPool else { return (convShape, 0) }
        let (hp, wp) = pooledSize(g, pool)
        return ([g.n, outChannels, hp, wp], hp * wp)
    }

    /// The largest im2col matrix of a whole batch (in floats) that a training forward keeps for backward
    /// instead of recomputing it: 4 Mi floats, 16 MB. Small layers save the recomputation; large ones
    /// recompute, which costs less than streaming a big matrix through memory.
    public static let cachedColumnsLimit = 4 << 20

    /// This layer's limit, `cachedColumnsLimit` unless changed (tests set 0 to exercise recomputation).
    public var columnsCacheLimit = Conv2D.cachedColumnsLimit

    /// x (N, C, H, W) → y (N, F, Ho, Wo).
    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> { forward(x, mode: mode, epilogue: .none) }

    /// x (N, C, H, W) → the epilogue of y: (N, F, Ho, Wo), or (N, F, Hp, Wp) with a fused pooling.
    public func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue) -> Tensor<Float> {
        forward(x, mode: mode, epilogue: epilogue, layout: .channelsFirst)
    }

    /// x in `layout.input`, (N, C, H, W) or (N, H, W, C) → the epilogue of y in `layout.output`; layouts other
    /// than channels first on the fast backend only, and in training a channels-last output only without an
    /// epilogue (whose backward would mask dy channels first). F(4×4) and F(2×2, 5×5) compute on them; the other plans
    /// transpose them (ActivationLayout.swift). The backward after a training forward takes dy in
    /// `layout.output` and returns dx in `layout.input`. Given `destination` (evaluation, channels-first
    /// output), the output is written there, y.count floats, and an empty tensor returned.
    func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue, layout: StepLayout,
                 into destination: UnsafeMutablePointer<Float>? = nil) -> Tensor<Float> {
        precondition(layout == .channelsFirst || backend == .fast, "\(name): channels last is for the fast backend only")
        precondition(mode == .evaluation || layout.output == .channelsFirst || epilogue == .none,
                     "\(name): a training forward gives channels last only without an epilogue")
        precondition(destination == nil || (mode == .evaluation && backend == .fast && layout.output == .channelsFirst),
                     "\(name): only a fast evaluation forward writes into a destination, channels first")
        let shape = layout.input.channelsFirstShape(x.shape)
        guard let convShape = outputShape(for: shape) else {
            preconditionFailure("\(name) cannot take input \(shape)")
        }
        input = mode == .training ? x : nil
        self.epilogue = epilogue
        forwardLayout = layout
        if backend == .reference {
            precondition(epilogue == .none, "\(name): the reference backend runs every layer on its own")
            plan = nil
            return Reference.conv2DForward(input: x, weight: weight.value, bias: bias.value, stride: stride, padding: padding)
        }
        let g = geometry(of: shape)
        // Only the Winograd algorithms need to know whether the input is finite.
        let mayTile = Self.mayTile(g, outChannels: outChannels, forced: algorithm)
        let finite = !mayTile || x.scalars.withUnsafeBufferPointer { Reductions.allFinite($0.baseAddress!, $0.count) }
        let chosen: Plan
        do {
            chosen = try Self.choose(g, outChannels: outChannels, epilogue: epilogue, mode: mode, finite: finite,
                                     forced: algorithm, columnsCacheLimit: columnsCacheLimit, layer: name)
        } catch {
            preconditionFailure("\(error)")
        }
        plan = chosen
        switch chosen {
        case let .winograd4x4(tiling, tilePooled), let .winograd5x5(tiling, tilePooled):
            return winograd6Forward(x, g, tiling, convShape, tilePooled: tilePooled, mode: mode, layout: layout, into: destination)
        default: break
        }
        // The other plans compute channels first.
        let xFirst = ActivationLayout.transpose(x, from: layout.input, to: .channelsFirst, into: &layoutInput)
        if mode == .training { input = xFirst }
        let y: Tensor<Float>
        switch chosen {
        case .winograd4x4, .winograd5x5: preconditionFailure("taken above")
        case let .winograd2x2(tiling, tilePooled):
            y = winogradForward(xFirst, g, tiling, convShape, tilePooled: tilePooled, mode: mode, into: destination)
        case let .direct(direct): y = directForward(xFirst, g, direct, mode: mode, into: destination)
        case let .im2col(columns, keeps):
            y = im2colForward(xFirst, g, columns, keepsColumns: keeps, convShape, mode: mode, into: destination)
        case let .paddedIm2col(columns, keeps):
            y = im2colForward(xFirst, g, columns, keepsColumns: keeps, convShape, mode: mode, into: destination)
        }
        return ActivationLayout.transpose(y, from: .channelsFirst, to: layout.output, into: &layoutOutput)
    }

    /// The im2col algorithms' forward, on `lowering`'s columns (nil: `Im2Col`); a fused pooling keeps its
    /// winners for backward in training only.
    func im2colForward(_ x: Tensor<Float>, _ g: ConvGeometry, _ lowering: PaddedColumns?, keepsColumns perImage: Bool,
                       _ convShape: [Int], mode: Mode, into destination: UnsafeMutablePointer<Float>? = nil) -> Tensor<Float> {
        let Q = g.patchSize, L = g.positions, F = outChannels, chw = g.c * g.h * g.w
        // y[n] is (F, Ho, R): R = Wx on the padded width, else Wo. LW = Ho·R columns in the product.
        let R = lowering?.rowLength ?? g.wo, LW = g.ho * R
        let threads = min(Parallel.threads, g.n)
        let colSlices = cols.reserve((perImage ? g.n : threads) * Q * LW)
        let paddedCount = lowering?.paddedCount ?? 0
        let paddedSlices = paddedImages.reserve(threads * paddedCount)
        let relu = fusesReLU, pool = fusedPool
        let (outShape, pooledL) = fusedOutputShape(g, convShape)
        // Without pooling, on compact rows, the product goes straight into the output.
        let intoOutput = pool == nil && R == g.wo
        let ySlices = scratch.reserve(intoOutput ? 0 : threads * F * LW)
        let keepsArgmax = mode == .training
        let argmaxSlices = argmax.reserve(keepsArgmax ? g.n * F * pooledL : 0)
        x.scalars.withUnsafeBufferPointer { xp in
            weight.value.scalars.withUnsafeBufferPointer { wp in
                bias.value.scalars.withUnsafeBufferPointer { bp in
                    withOutput(outShape, into: destination) { o0 in
                        let x0 = xp.baseAddress!, w = wp.baseAddress!, b = bp.baseAddress!
                        Parallel.forEachChunk(g.n, threads: threads) { t, images in
                            for n in images {
                                let c = colSlices.piece(perImage ? n : t, size: Q * LW).start
                                // y[n] (F, LW) = b ⊗ 1 + W (F, Q) · cols (Q, LW), into the output or a scratch
                                let y = intoOutput ? o0 + n * F * L : ySlices.piece(t, size: F * LW).start
                                if let lowering {
                                    lowering.lower(x0 + n * chw, padded: paddedSlices.piece(t, size: paddedCount), into: c)
                                } else {
                                    Im2Col.forward(x0 + n * chw, g.single, into: c)
                                }
                                for f in 0..<F { (y + f * LW).update(repeating: b[f], count: LW) }
                                BLAS.sgemm(transposeA: false, transposeB: false, m: F, n: LW, k: Q,
                                           a: w, lda: Q, b: c, ldb: LW, beta: 1, c: y, ldc: LW)
                                if let pool, !keepsArgmax {
                                    ReLUPoolEpilogue.reluMaxPool(y, planes: F, height: g.ho, width: g.wo, rowStride: R,
                                                                 pool: pool, into: o0 + n * F * pooledL)
                                } else if let pool {
                                    ReLUPoolEpilogue.maxPool(y, planes: F, height: g.ho, width: g.wo, rowStride: R, relu: relu,
                                                             pool: pool, into: o0 + n * F * pooledL,
                                                             argmax: argmaxSlices.piece(n, size: F * pooledL).start)
                                } else if intoOutput {
                                    if relu { for i in 0..<(F * L) { y[i] = ReLUPoolEpilogue.relu(y[i]) } }
                                } else {
                                    ReLUPoolEpilogue.compact(y, rows: F * g.ho, width: g.wo, rowStride: R, relu: relu,
                                                             into: o0 + n * F * L)
                                }
                            }
                        }
                    }
                }
            }
        }
        return result(destination)
    }

    /// dy (N, F, Ho, Wo), or (N, F, Hp, Wp) with a fused pooling → dx (N, C, H, W); accumulates dW and db.
    /// dy comes in the training forward's output layout and dx goes out in its input layout (channels last,
    /// (N, Ho, Wo, F) and (N, H, W, C), where that forward's `layout` said so).
    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        guard let x = input else { preconditionFailure("Conv2D.backward without a training forward") }
        input = nil
        if backend == .reference {
            let (dx, dw, db) = Reference.conv2DBackward(dOutput: dy, input: x, weight: weight.value,
                                                        stride: stride, padding: padding)
            weight.gradient.add(dw)
            bias.gradient.add(db)
            return dx
        }
        guard let plan else { preconditionFailure("Conv2D.backward without a fast training forward") }
        let layout = forwardLayout
        switch plan {
        case let .winograd4x4(tiling, tilePooled), let .winograd5x5(tiling, tilePooled):
            // F(4×4, 3×3) and F(2×2, 5×5) compute on the forward's layouts: x and dx in layout.input, dy in
            // layout.output.
            precondition(dy.shape == output.shape, "Conv2D.backward: dOutput \(dy.shape) does not match the output \(output.shape)")
            return winograd6Backward(dy, x, geometry(of: layout.input.channelsFirstShape(x.shape)), tiling,
                                     tilePooled: tilePooled, layout: layout)
        default: break
        }
        // The other plans compute channels first: x was kept so, dy and dx are transposed around them.
        let dyFirst = ActivationLayout.transpose(dy, from: layout.output, to: .channelsFirst, into: &layoutDOutput)
        let g = geometry(of: x.shape)
        precondition(dyFirst.shape == output.shape, "Conv2D.backward: dOutput \(dy.shape) does not match the output \(output.shape)")
        let dx: Tensor<Float>
        switch plan {
        case .winograd4x4, .winograd5x5: preconditionFailure("taken above")
        case let .winograd2x2(tiling, _): dx = winogradBackward(dyFirst, x, g, tiling)
        case let .direct(direct): dx = directBackward(dyFirst, x, g, direct)
        case let .im2col(columns, keeps): dx = im2colBackward(dyFirst, x, g, columns, keptColumns: keeps)
        case let .paddedIm2col(columns, keeps): dx = im2colBackward(dyFirst, x, g, columns, keptColumns: keeps)
        }
        guard dx.count > 0 else { return dx }
        return ActivationLayout.transpose(dx, from: .channelsFirst, to: layout.input, into: &layoutDInput)
    }

    /// The im2col algorithms' backward, on the forward's columns.
    func im2colBackward(_ dy: Tensor<Float>, _ x: Tensor<Float>, _ g: ConvGeometry, _ lowering: PaddedColumns?,
                        keptColumns perImage: Bool) -> Tensor<Float> {
        let Q = g.patchSize, F = outChannels, chw = g.c * g.h * g.w
        let R = lowering?.rowLength ?? g.wo, LW = g.ho * R
        let threads = min(Parallel.threads, g.n)
        let colSlices = perImage ? cols.contents : cols.reserve(threads * Q * LW)
        let dColSlices = dCols.reserve(threads * Q * LW)
        let paddedCount = lowering?.paddedCount ?? 0
        let paddedSlices = paddedImages.reserve(threads * paddedCount)
        let stride = F * Q + F
        let partialSlices = partials.reserve(threads * stride)
        partialSlices.start.update(repeating: 0, count: threads * stride)
        let relu = fusesReLU, pool = fusedPool
        let outL = output.count / max(1, g.n * F)
        // dy[n] is rebuilt as (F, Ho, R), junk columns zero, unless it can be used as it is.
        let expands = relu || R != g.wo
        let dySlices = scratch.reserve(expands ? threads * F * LW : 0)
        let argmaxSlices = argmax.contents
        let wantsInput = computesInputGradient
        dInput.resize(to: wantsInput ? x.shape : [0])
        x.scalars.withUnsafeBufferPointer { xp in
          dy.scalars.withUnsafeBufferPointer { dyp in
            output.scalars.withUnsafeBufferPointer { op in
              weight.value.scalars.withUnsafeBufferPointer { wp in
                dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                    // An empty array may still have a base address: decide by the flag, not by nil.
                    let x0 = xp.baseAddress!, d0 = dyp.baseAddress!, o0 = op.baseAddress!, w = wp.baseAddress!
                    let dx0 = wantsInput ? dxp.baseAddress : nil
                    Parallel.forEachChunk(g.n, threads: threads) { t, images in
                        let dc = dColSlices.piece(t, size: Q * LW).start, padded = paddedSlices.piece(t, size: paddedCount)
                        let dw = partialSlices.piece(t, size: stride).start, db = dw + F * Q
                        for n in images {
                            let c = colSlices.piece(perImage ? n : t, size: Q * LW).start
                            var d = d0 + n * F * outL
                            if expands {
                                // The fused layers' backward, laid out on rows of R.
                                let m = dySlices.piece(t, size: F * LW).start
                                ReLUPoolEpilogue.gradient(d, output: o0 + n * F * outL, relu: relu,
                                                          pooled: pool == nil ? nil : (UnsafePointer(argmaxSlices.piece(n, size: F * outL).start), outL),
                                                          planes: F, height: g.ho, width: g.wo, rowStride: R, into: m)
                                d = UnsafePointer(m)
                            }
                            if !perImage {
                                if let lowering {
                                    lowering.lower(x0 + n * chw, padded: padded, into: c)
                                } else {
                                    Im2Col.forward(x0 + n * chw, g.single, into: c)
                                }
                            }
                            // dW (F, Q) += dy[n] (F, LW) · colsᵀ (LW, Q)
                            BLAS.sgemm(transposeA: false, transposeB: true, m: F, n: Q, k: LW,
                                       a: d, lda: LW, b: c, ldb: LW, beta: 1, c: dw, ldc: Q)
                            for f in 0..<F { db[f] += Reductions.sum(d + f * LW, LW) }
                            guard let dx0 else { continue }
                            // dcols (Q, LW) = Wᵀ (Q, F) · dy[n] (F, LW);  dx[n] = col2im(dcols)
                            BLAS.sgemm(transposeA: true, transposeB: false, m: Q, n: LW, k: F,
                                       a: w, lda: Q, b: d, ldb: LW, c: dc, ldc: LW)
                            if let lowering {
                                lowering.raise(dc, padded: padded, into: dx0 + n * chw)
                            } else {
                                Im2Col.backward(dc, g.single, into: dx0 + n * chw)
                            }
                        }
                    }
                }
              }
            }
          }
        }
        addPartials(partialSlices.start, threads: threads)
        return dInput
    }

    /// Calls `body(o)` with the storage of a forward's output of `shape`: `output`, resized, or `destination`
    /// when given (an evaluation writing straight into its place in the batch's output; see `result`).
    func withOutput(_ shape: [Int], into destination: UnsafeMutablePointer<Float>?, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        guard let destination else {
            output.resize(to: shape)
            output.scalars.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
            return
        }
        body(destination)
    }

    /// What a forward returns: `output`, or an empty tensor when it wrote into `destination` instead.
    func result(_ destination: UnsafeMutablePointer<Float>?) -> Tensor<Float> {
        destination == nil ? output : Tensor(shape: [0])
    }

    /// Adds the per-thread partial gradients, each dW (F, C·HH·WW) then db (F), to the parameters' gradients
    /// in thread order, so that a run repeats exactly for a given thread count.
    func addPartials(_ sums: UnsafePointer<Float>, threads: Int) {
        let F = outChannels, Q = inChannels * kernelSize * kernelSize, stride = F * Q + F
        weight.gradient.scalars.withUnsafeMutableBufferPointer { dw in
            bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                for t in 0..<threads {
                    let p = sums + t * stride
                    for i in 0..<(F * Q) { dw[i] += p[i] }
                    for f in 0..<F { db[f] += p[F * Q + f] }
                }
            }
        }
    }
}

extension Conv2D {
    /// U (positions, C, F) for a Winograd forward, in `filters`: written by `transform(g, U)` from the weights g,
    /// unless `filters` already holds the transform with these positions of weights with the same bits (U is
    /// a function of g alone; evaluation runs the same weights chunk after chunk).
    func forwardFilters(positions: Int,
                        _ transform: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> UnsafeMutablePointer<Float> {
        let u = filters.reserve(positions * outChannels * inChannels).start
        let w = weight.value.scalars
        let same = heldPositions == positions && w.withUnsafeBytes { a in
            heldWeights.withUnsafeBytes { b in a.count == b.count && memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
        if same { return u }
        w.withUnsafeBufferPointer { transform($0.baseAddress!, u) }
        heldWeights.removeAll(keepingCapacity: true)
        heldWeights.append(contentsOf: w)
        heldPositions = positions
        return u
    }

    /// `filters` for a backward's flipped U (positions, F, C): it no longer holds a forward's.
    func backwardFilters(positions: Int) -> UnsafeMutablePointer<Float> {
        heldPositions = 0
        return filters.reserve(positions * outChannels * inChannels).start
    }
}
