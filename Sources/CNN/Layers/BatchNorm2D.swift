//  BatchNorm2D.swift
//
//  Spatial batch normalisation. Dimension legend: N, C, H, W; m = N·H·W values per channel.
//
//  Training forward, per channel c:
//      μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²,   x̂ = (x − μ) / √(σ² + ε),   y = γ·x̂ + β
//      running_mean ← (1 − momentum)·running_mean + momentum·μ
//      running_var  ← (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)     (unbiased, as PyTorch)
//  Evaluation forward:  y = γ·(x − running_mean) / √(running_var + ε) + β
//  Backward (closed form):
//      dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ / (m·√(σ² + ε)) · (m·dy − dβ − x̂·dγ)

import RealModule

/// Batch normalisation over N, H and W per channel: `nn.BatchNorm2d(numFeatures, eps, momentum)`.
public final class BatchNorm2D: Layer {
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

    private var cachedInput: Tensor<Float>?     // reference backend
    private var xHat = Tensor<Float>(shape: [0])  // fast backend, (N, C, H, W)
    private var inverseStd: [Float] = []        // fast backend, (C)
    private var hasCache = false
    private var output = Tensor<Float>(shape: [0])
    private var dInput = Tensor<Float>(shape: [0])

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

    /// eps and momentum as the decimals that were given (Float's shortest round-trip form), e.g. 1e-05, not
    /// 9.99999974738e-06.
    public var spec: LayerSpec {
        .batchNorm2d(numFeatures: numFeatures, eps: Double("\(eps)") ?? Double(eps),
                     momentum: Double("\(momentum)") ?? Double(momentum))
    }
    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [BufferReference] {
        [BufferReference(name: "running_mean", get: { self.runningMean }, set: { self.runningMean = $0 }),
         BufferReference(name: "running_var", get: { self.runningVariance }, set: { self.runningVariance = $0 })]
    }


    /// x (N, C, H, W) → y (N, C, H, W)
    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        precondition(outputShape(for: x.shape) != nil, "BatchNorm2D(\(numFeatures)) cannot take input \(x.shape)")
        let (N, C, H, W) = x.nchw, HW = H * W, m = N * HW
        if mode == .evaluation {
            if backend == .reference {
                return Reference.batchNorm2DForwardEvaluation(input: x, gamma: weight.value, beta: bias.value,
                    runningMean: runningMean, runningVariance: runningVariance, eps: eps)
            }
            output.resize(to: x.shape)
            x.scalars.withUnsafeBufferPointer { xp in
                output.scalars.withUnsafeMutableBufferPointer { yp in
                    for c in 0..<C {
                        let scale = weight.value.scalars[c] / (runningVariance.scalars[c] + eps).squareRoot()
                        let shift = bias.value.scalars[c] - runningMean.scalars[c] * scale
                        for n in 0..<N {
                            let o = (n * C + c) * HW
                            for i in o..<(o + HW) { yp[i] = xp[i] * scale + shift }
                        }
                    }
                }
            }
            return output
        }

        var batchMean = [Float](repeating: 0, count: C), batchVariance = [Float](repeating: 0, count: C)
        if backend == .reference {
            cachedInput = x
            let r = Reference.batchNorm2DForwardTraining(input: x, gamma: weight.value, beta: bias.value, eps: eps)
            batchMean = r.mean.scalars
            batchVariance = r.variance.scalars
            updateRunningStatistics(mean: batchMean, variance: batchVariance, count: m)
            return r.output
        }
        output.resize(to: x.shape)
        xHat.resize(to: x.shape)
        if inverseStd.count != C { inverseStd = [Float](repeating: 0, count: C) }
        x.scalars.withUnsafeBufferPointer { xp in
            xHat.scalars.withUnsafeMutableBufferPointer { hp in
                output.scalars.withUnsafeMutableBufferPointer { yp in
                    inverseStd.withUnsafeMutableBufferPointer { sp in
                        batchMean.withUnsafeMutableBufferPointer { mp in
                            batchVariance.withUnsafeMutableBufferPointer { vp in
                                let x0 = xp.baseAddress!, h0 = hp.baseAddress!, y0 = yp.baseAddress!
                                let s0 = sp.baseAddress!, m0 = mp.baseAddress!, v0 = vp.baseAddress!
                                let gamma = weight.value.scalars, beta = bias.value.scalars
                                Parallel.forEach(C) { c in
                                    // Per-image partial sums in Float, accumulated in Double.
                                    var sum: Double = 0
                                    for n in 0..<N { sum += Double(Reductions.sum(x0 + (n * C + c) * HW, HW)) }
                                    let mean = Float(sum / Double(m))
                                    var squares: Double = 0
                                    for n in 0..<N {
                                        squares += Double(Reductions.sumOfSquaredDeviations(x0 + (n * C + c) * HW, HW, from: mean))
                                    }
                                    let variance = Float(squares / Double(m))
                                    let inv = 1 / (variance + eps).squareRoot()
                                    let g = gamma[c], b = beta[c]
                                    for n in 0..<N {
                                        let o = (n * C + c) * HW
                                        for i in o..<(o + HW) {
                                            let h = (x0[i] - mean) * inv
                                            h0[i] = h
                                            y0[i] = g * h + b
                                        }
                                    }
                                    m0[c] = mean; v0[c] = variance; s0[c] = inv
                                }
                            }
                        }
                    }
                }
            }
        }
        hasCache = true
        updateRunningStatistics(mean: batchMean, variance: batchVariance, count: m)
        return output
    }

    private func updateRunningStatistics(mean: [Float], variance: [Float], count m: Int) {
        let unbias = m > 1 ? Float(m) / Float(m - 1) : 1
        for c in 0..<numFeatures {
            runningMean.scalars[c] = (1 - momentum) * runningMean.scalars[c] + momentum * mean[c]
            runningVariance.scalars[c] = (1 - momentum) * runningVariance.scalars[c] + momentum * variance[c] * unbias
        }
        numBatchesTracked += 1
    }

    /// dy (N, C, H, W) → dx (N, C, H, W); accumulates dγ and dβ.
    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        if backend == .reference {
            guard let x = cachedInput else { preconditionFailure("BatchNorm2D.backward without a training forward") }
            cachedInput = nil
            let r = Reference.batchNorm2DBackward(dOutput: dy, input: x, gamma: weight.value, eps: eps)
            weight.gradient.add(r.dGamma)
            bias.gradient.add(r.dBeta)
            return r.dInput
        }
        precondition(hasCache, "BatchNorm2D.backward without a training forward")
        precondition(dy.shape == xHat.shape, "BatchNorm2D.backward: dOutput \(dy.shape) vs input \(xHat.shape)")
        hasCache = false
        let (N, C, H, W) = dy.nchw, HW = H * W, m = Float(N * HW)
        dInput.resize(to: dy.shape)
        dy.scalars.withUnsafeBufferPointer { dp in
            xHat.scalars.withUnsafeBufferPointer { hp in
                dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                    weight.gradient.scalars.withUnsafeMutableBufferPointer { dgp in
                        bias.gradient.scalars.withUnsafeMutableBufferPointer { dbp in
                            let d0 = dp.baseAddress!, h0 = hp.baseAddress!, dx0 = dxp.baseAddress!
                            let dg0 = dgp.baseAddress!, db0 = dbp.baseAddress!
                            let gamma = weight.value.scalars, inverseStd = self.inverseStd
                            Parallel.forEach(C) { c in
                                var sumDy: Float = 0, sumDyXHat: Float = 0
                                for n in 0..<N {
                                    let o = (n * C + c) * HW
                                    sumDy += Reductions.sum(d0 + o, HW)
                                    sumDyXHat += Reductions.dot(d0 + o, h0 + o, HW)
                                }
                                db0[c] += sumDy
                                dg0[c] += sumDyXHat
                                let k = gamma[c] * inverseStd[c] / m
                                for n in 0..<N {
                                    let o = (n * C + c) * HW
                                    for i in o..<(o + HW) { dx0[i] = k * (m * d0[i] - sumDy - h0[i] * sumDyXHat) }
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
