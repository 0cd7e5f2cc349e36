//  BatchNorm2D.swift
//
//  Spatial batch normalisation. Dimensions (the module's legend, Sources/CNN/README.md): N, C, H, W; m = N·H·W values per channel.
//
//  Training forward, per channel c:
//      μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²,   x̂ = (x − μ) / √(σ² + ε),   y = γ·x̂ + β
//      running_mean ← (1 − momentum)·running_mean + momentum·μ
//      running_var  ← (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)     (unbiased, as PyTorch)
//  Evaluation forward:  y = γ·(x − running_mean) / √(running_var + ε) + β
//  Backward (closed form):
//      dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ / (m·√(σ² + ε)) · (m·dy − dβ − x̂·dγ)
//  Fused (an execution step of Sequential: batch norm → ReLU [→ MaxPool2D], all fast): the forward writes relu(y), or
//  its pooled maxima, instead of y; backward rebuilds each plane's dy from the pooled gradient in cache
//  (ReLUPoolEpilogue). Bit for bit what the separate layers compute.
//  Fast training path: each channel is one thread's; forward keeps x, μ and s = 1/√(σ² + ε), and backward
//  recomputes x̂ = (x − μ)·s with the forward's Float operations, so it is the same x̂. The per-plane loops are
//  in BatchNormKernels.swift. On channels-last activations (N, H, W, C): BatchNorm2D+ChannelsLast.swift, the same bits.

import RealModule

/// Batch normalisation over N, H and W per channel: `nn.BatchNorm2d(numFeatures, eps, momentum)`.
public final class BatchNorm2D: EpilogueFusing {
    public let numFeatures: Int
    public let eps: Float
    public let momentum: Float
    public var backend: Backend
    /// γ, (C)
    public let weight: Parameter
    /// β, (C)
    public let bias: Parameter
    /// (C)
    public var runningMean: Tensor<Float>
    /// (C)
    public var runningVariance: Tensor<Float>
    /// Training batches seen, as PyTorch's `num_batches_tracked`.
    public var numBatchesTracked: Int64 = 0

    /// The last forward's epilogue, which the backward after it differentiates.
    var epilogue = Epilogue.none
    /// How the last forward ran (BatchNorm2D+ChannelsLast.swift), which the backward after it follows.
    var forwardPath = LayoutPath.channelsFirst
    private var fusesReLU: Bool { epilogue.relu }
    private var fusedPool: (kernel: Int, stride: Int)? { epilogue.pool }

    var cachedInput: Tensor<Float>?             // x (N, C, H, W), or (N, H, W, C) channels last, of the last training forward, released by backward
    let planes = Workspace<Float>()             // per thread: forward, one (H, W) plane of pre-pooling y; backward, one pooled plane of masked dOut
    let argmax = Workspace<Int32>()             // with pooling: each window's maximum (channels last: its code 0–3)
    var mean: [Float] = []                      // fast backend, (C): μ of the last training forward
    var inverseStd: [Float] = []                // fast backend, (C): s = 1/√(σ² + ε)
    var hasCache = false
    var output = Tensor<Float>(shape: [0])
    var dInput = Tensor<Float>(shape: [0])
    let transposed = LayoutBuffers()            // the transpositions around a forward or backward in other layouts

    public init(numFeatures: Int, eps: Float = 1e-5, momentum: Float = 0.1, backend: Backend = .fast) {
        precondition(numFeatures > 0, "invalid BatchNorm2D(\(numFeatures))")
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        self.backend = backend
        weight = Parameter(name: "weight", value: Tensor(shape: [numFeatures], repeating: 1))
        bias = Parameter(name: "bias", value: Tensor(shape: [numFeatures]))
        runningMean = Tensor(shape: [numFeatures])
        runningVariance = Tensor(shape: [numFeatures], repeating: 1)
    }

    /// Why a training forward refuses a batch with one value per channel (checked up front by
    /// `LayerSpec.trainingProblem`).
    public static let tooFewValuesMessage = "one value per channel; training expects more than one value per channel"

    /// eps and momentum as the decimals that were given (Float's shortest round-trip form), e.g. 1e-05, not
    /// 9.99999974738e-06.
    public var spec: LayerSpec {
        .batchNorm2d(numFeatures: numFeatures, eps: Double("\(eps)") ?? Double(eps),
                     momentum: Double("\(momentum)") ?? Double(momentum))
    }
    public var parameters: [Parameter] { [weight, bias] }
    public var counters: [CounterReference] {
        [CounterReference(name: "num_batches_tracked", get: { self.numBatchesTracked }, set: { self.numBatchesTracked = $0 })]
    }
    public var buffers: [BufferReference] {
        [BufferReference(name: "running_mean", get: { self.runningMean }, set: { self.runningMean = $0 }),
         BufferReference(name: "running_var", get: { self.runningVariance }, set: { self.runningVariance = $0 })]
    }


    /// x (N, C, H, W) → y (N, C, H, W)
    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> { forward(x, mode: mode, epilogue: .none) }

    /// x (N, C, H, W) → the epilogue of y: (N, C, H, W), or (N, C, Hp, Wp) with a fused pooling.
    public func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue) -> Tensor<Float> {
        precondition(outputShape(for: x.shape) != nil, "BatchNorm2D(\(numFeatures)) cannot take input \(x.shape)")
        precondition(backend == .fast || epilogue == .none, "BatchNorm2D: the reference backend runs every layer on its own")
        self.epilogue = epilogue
        forwardPath = .channelsFirst
        let (N, C, H, W) = x.nchw, HW = H * W, m = N * HW
        if mode == .evaluation {
            if backend == .reference {
                return Reference.batchNorm2DForwardEvaluation(input: x, gamma: weight.value, beta: bias.value,
                    runningMean: runningMean, runningVariance: runningVariance, eps: eps)
            }
            let gamma = weight.value.scalars, beta = bias.value.scalars
            let mean = runningMean.scalars, variance = runningVariance.scalars, eps = self.eps
            return normalize(x) { c in
                let scale = gamma[c] / (variance[c] + eps).squareRoot()
                return (scale, beta[c] - mean[c] * scale)
            } write: { x, o, y, scale, shift in
                BatchNormKernels.affine(x + o, count: HW, scale: scale, shift: shift, into: y)
            }
        }

        precondition(m > 1, "BatchNorm2D(\(numFeatures)): input \(x.shape) has \(Self.tooFewValuesMessage)")
        var batchMean = [Float](repeating: 0, count: C), batchVariance = [Float](repeating: 0, count: C)
        if backend == .reference {
            cachedInput = x
            let r = Reference.batchNorm2DForwardTraining(input: x, gamma: weight.value, beta: bias.value, eps: eps)
            batchMean = r.mean.scalars
            batchVariance = r.variance.scalars
            updateRunningStatistics(mean: batchMean, variance: batchVariance, count: m)
            return r.output
        }
        cachedInput = x
        if inverseStd.count != C { inverseStd = [Float](repeating: 0, count: C) }
        let relu = fusesReLU, pool = fusedPool
        let (outHW, threads, planeSlices, argmaxSlices) = prepareOutput(for: x)
        // Per channel, on one thread: the statistics (per-image partial sums in Float, accumulated in Double in
        // image order), then each plane's y = γx̂ + β written (or ReLU'd and pooled). x̂ is not kept: backward
        // recomputes it from x, μ and s.
        x.scalars.withUnsafeBufferPointer { xp in
          output.scalars.withUnsafeMutableBufferPointer { op in
            weight.value.scalars.withUnsafeBufferPointer { gp in
              bias.value.scalars.withUnsafeBufferPointer { bp in
                inverseStd.withUnsafeMutableBufferPointer { sp in
                    batchMean.withUnsafeMutableBufferPointer { mp in
                        batchVariance.withUnsafeMutableBufferPointer { vp in
                            let x0 = xp.baseAddress!, o0 = op.baseAddress!, g0 = gp.baseAddress!, b0 = bp.baseAddress!
                            let s0 = sp.baseAddress!, m0 = mp.baseAddress!, v0 = vp.baseAddress!
                            let eps = self.eps
                            Parallel.forEachChunk(C, threads: threads) { t, channels in
                                for c in channels {
                                    var sum: Double = 0
                                    for n in 0..<N { sum += Double(Reductions.sum(x0 + (n * C + c) * HW, HW)) }
                                    let mean = Float(sum / Double(m))
                                    var squares: Double = 0
                                    for n in 0..<N {
                                        squares += Double(Reductions.sumOfSquaredDeviations(x0 + (n * C + c) * HW, HW, from: mean))
                                    }
                                    let variance = Float(squares / Double(m))
                                    let inv = 1 / (variance + eps).squareRoot()
                                    m0[c] = mean; v0[c] = variance; s0[c] = inv
                                    for n in 0..<N {
                                        let plane = n * C + c
                                        let y = pool == nil ? o0 + plane * HW : planeSlices.piece(t, size: HW).start
                                        BatchNormKernels.normalize(x0 + plane * HW, count: HW, mean: mean, inverseStd: inv,
                                                                   gamma: g0[c], beta: b0[c], into: y)
                                        if let pool {
                                            ReLUPoolEpilogue.maxPool(y, planes: 1, height: H, width: W, relu: relu, pool: pool,
                                                                     into: o0 + plane * outHW,
                                                                     argmax: argmaxSlices.piece(plane, size: outHW).start)
                                        } else if relu {
                                            ReLUPoolEpilogue.relu(y, count: HW)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
              }
            }
          }
        }
        self.mean = batchMean
        hasCache = true
        updateRunningStatistics(mean: batchMean, variance: batchVariance, count: m)
        return output
    }

    /// Sizes the output for x (N, C, H, W) and its epilogue: (N, C, H, W), or (N, C, Hp, Wp) with a fused pooling;
    /// reserves a pre-pooling plane per thread and an argmax per pooled value. Returns the output plane's size,
    /// the threads over channels and the two workspace slices.
    private func prepareOutput(for x: Tensor<Float>) -> (Int, Int, WorkspaceSlice<Float>, WorkspaceSlice<Int32>) {
        let (N, C, H, W) = x.nchw, HW = H * W, pool = fusedPool
        var outHW = HW
        if let pool {
            let hp = (H - pool.kernel) / pool.stride + 1, wp = (W - pool.kernel) / pool.stride + 1
            output.resize(to: [N, C, hp, wp])
            outHW = hp * wp
        } else {
            output.resize(to: x.shape)
        }
        let threads = min(Parallel.threads, C)
        return (outHW, threads, planes.reserve(pool == nil ? 0 : threads * HW), argmax.reserve(N * C * outHW))
    }

    /// Runs `write` over every (n, c) plane with the channel's two coefficients, into the output or, when
    /// pooling is fused, into a per-thread plane that is then ReLU'd and pooled; applies a fused ReLU.
    /// `write(x, offset, y, a, b)` fills the H·W values of y for the plane starting at x[offset].
    private func normalize(_ x: Tensor<Float>, coefficients: (Int) -> (Float, Float),
                           write: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Float, Float) -> Void) -> Tensor<Float> {
        let (N, C, H, W) = x.nchw, HW = H * W
        let relu = fusesReLU, pool = fusedPool
        let (outHW, threads, planeSlices, argmaxSlices) = prepareOutput(for: x)
        x.scalars.withUnsafeBufferPointer { xp in
            output.scalars.withUnsafeMutableBufferPointer { op in
                let x0 = xp.baseAddress!, o0 = op.baseAddress!
                Parallel.forEachChunk(C, threads: threads) { t, channels in
                    for c in channels {
                        let (a, b) = coefficients(c)
                        for n in 0..<N {
                            let plane = n * C + c
                            let y = pool == nil ? o0 + plane * HW : planeSlices.piece(t, size: HW).start
                            write(x0, plane * HW, y, a, b)
                            if let pool {
                                ReLUPoolEpilogue.maxPool(y, planes: 1, height: H, width: W, relu: relu, pool: pool,
                                                         into: o0 + plane * outHW,
                                                         argmax: argmaxSlices.piece(plane, size: outHW).start)
                            } else if relu {
                                ReLUPoolEpilogue.relu(y, count: HW)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    func updateRunningStatistics(mean: [Float], variance: [Float], count m: Int) {
        let unbias = m > 1 ? Float(m) / Float(m - 1) : 1
        for c in 0..<numFeatures {
            runningMean.scalars[c] = (1 - momentum) * runningMean.scalars[c] + momentum * mean[c]
            runningVariance.scalars[c] = (1 - momentum) * runningVariance.scalars[c] + momentum * variance[c] * unbias
        }
        numBatchesTracked += 1
    }

    /// dy (N, C, H, W) → dx (N, C, H, W); accumulates dγ and dβ. After a channels-last forward, dy and dx are in
    /// its layouts (see BatchNorm2D+ChannelsLast.swift).
    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        switch forwardPath {
        case .channelsFirst: return backwardChannelsFirst(dy)
        case .channelsLast(let output): return backwardChannelsLast(dy, outputLayout: output)
        case .transposed(let layout): return backwardTransposed(dy, layout: layout)
        }
    }

    /// `backward` after a channels-first forward.
    func backwardChannelsFirst(_ dy: Tensor<Float>) -> Tensor<Float> {
        if backend == .reference {
            guard let x = cachedInput else { preconditionFailure("BatchNorm2D.backward without a training forward") }
            cachedInput = nil
            let r = Reference.batchNorm2DBackward(dOutput: dy, input: x, gamma: weight.value, eps: eps)
            weight.gradient.add(r.dGamma)
            bias.gradient.add(r.dBeta)
            return r.dInput
        }
        precondition(hasCache, "BatchNorm2D.backward without a training forward")
        guard let x = cachedInput else { preconditionFailure("BatchNorm2D.backward without a training forward") }
        precondition(dy.shape == output.shape, "BatchNorm2D.backward: dOutput \(dy.shape) vs output \(output.shape)")
        hasCache = false
        cachedInput = nil
        let (N, C, H, W) = x.nchw, HW = H * W, m = Float(N * HW)
        let relu = fusesReLU, pooled = fusedPool != nil
        let disjoint = fusedPool.map { $0.stride >= $0.kernel } ?? true
        let outHW = dy.count / max(1, N * C)
        let threads = min(Parallel.threads, C)
        let argmaxSlices = argmax.contents
        let maskedSlices = planes.reserve(pooled ? threads * outHW : 0)
        dInput.resize(to: x.shape)
        // Per channel, on one thread: each plane's dy (dOutput itself, or rebuilt through the fused ReLU and
        // pooling into dx's plane) and its Σdy and Σdy·x̂, added in image order; then dx over the same planes.
        dy.scalars.withUnsafeBufferPointer { dp in
          output.scalars.withUnsafeBufferPointer { op in
            x.scalars.withUnsafeBufferPointer { xp in
                dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                    weight.gradient.scalars.withUnsafeMutableBufferPointer { dgp in
                        bias.gradient.scalars.withUnsafeMutableBufferPointer { dbp in
                          weight.value.scalars.withUnsafeBufferPointer { gp in
                            inverseStd.withUnsafeBufferPointer { sp in
                              mean.withUnsafeBufferPointer { mp in
                                let d0 = dp.baseAddress!, o0 = op.baseAddress!, x0 = xp.baseAddress!, dx0 = dxp.baseAddress!
                                let dg0 = dgp.baseAddress!, db0 = dbp.baseAddress!
                                let g0 = gp.baseAddress!, s0 = sp.baseAddress!, m0 = mp.baseAddress!
                                Parallel.forEachChunk(C, threads: threads) { t, channels in
                                    for c in channels {
                                        // dy of plane (n, c): rebuilt into dx's plane through the fused ReLU and
                                        // pooling, or dOutput's.
                                        func rebuild(_ plane: Int) {
                                            if pooled {
                                                ReLUPoolEpilogue.scatterMasked(d0 + plane * outHW, pooled: o0 + plane * outHW,
                                                                               argmax: argmaxSlices.piece(plane, size: outHW).start,
                                                                               pooledSize: outHW, planeSize: HW, disjoint: disjoint,
                                                                               masked: maskedSlices.piece(t, size: outHW).start,
                                                                               into: dx0 + plane * HW)
                                            } else {
                                                ReLUPoolEpilogue.mask(d0 + plane * HW, by: o0 + plane * HW, count: HW,
                                                                      into: dx0 + plane * HW)
                                            }
                                        }
                                        func gradient(_ plane: Int) -> UnsafePointer<Float> {
                                            relu ? UnsafePointer(dx0 + plane * HW) : d0 + plane * HW
                                        }
                                        let mu = m0[c], s = s0[c]
                                        var sumDy: Float = 0, sumDyXHat: Float = 0
                                        // All planes rebuilt first, so that the sums do not wait on the rebuild's
                                        // scalar stores; the sums then added in image order.
                                        if relu { for n in 0..<N { rebuild(n * C + c) } }
                                        for n in 0..<N {
                                            let plane = n * C + c
                                            let (a, b) = BatchNormKernels.sums(gradient(plane), x0 + plane * HW, count: HW,
                                                                               mean: mu, inverseStd: s)
                                            sumDy += a
                                            sumDyXHat += b
                                        }
                                        db0[c] += sumDy
                                        dg0[c] += sumDyXHat
                                        let k = g0[c] * s / m
                                        for n in 0..<N {
                                            let plane = n * C + c
                                            BatchNormKernels.inputGradient(gradient(plane), x0 + plane * HW, count: HW, mean: mu, inverseStd: s,
                                                                           k: k, m: m, sumDy: sumDy, sumDyXHat: sumDyXHat,
                                                                           into: dx0 + plane * HW)
                                        }
                                    }
                                }
                              }
                            }
                          }
                        }
                    }
                }
            }
          }
        }
        return dInput
    }
}
