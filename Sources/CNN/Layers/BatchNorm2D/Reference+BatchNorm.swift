//  Reference+BatchNorm.swift
//
//  Spatial batch normalisation (PyTorch's nn.BatchNorm2d), forward and backward, as plain loops.
//  Statistics are per channel c, over the m = N·H·W positions (n, h, w) of that channel.
//
//  Dimensions in the module's letters (Sources/CNN/README.md, "Dimension legend"):
//    N batch, C channels, H×W input, F filters, HH×WW kernel, S stride, P padding, Ho×Wo output;
//    m   N·H·W, the number of values each channel's statistics are taken over.
//  Batch norm has no kernel, stride or padding: the output (N, C, H, W) has the input's shape.
//
//  Forward, for each channel c (every sum Σ runs over n, h, w):
//    μ   = (1/m) Σ x                       batch mean
//    σ²  = (1/m) Σ (x − μ)²                biased batch variance
//    σ   = √(σ² + ε)
//    x̂   = (x − μ) / σ
//    y   = γ · x̂ + β

import RealModule

extension Reference {
    /// The per-channel mean μ and biased variance σ² of an (N, C, H, W) tensor, each of shape (C), summed in
    /// Double whatever T is: as the oracle, the reference must be the more accurate implementation, and a
    /// Float sum of thousands of values with a large mean (1000 + N(0, 1)) loses four decimal digits.
    private static func batchNorm2DStatistics<T: TensorScalar>(_ x: Tensor<T>) -> (mean: [Double], variance: [Double]) {
        let (N, C, H, W) = x.nchw
        let m = Double(N * H * W)
        var mean = [Double](repeating: 0, count: C)
        var variance = [Double](repeating: 0, count: C)
        for c in 0..<C {
            var sum: Double = 0
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        sum += Double(x[n, c, h, w])
                    }
                }
            }
            let mu = sum / m
            var squares: Double = 0
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let d = Double(x[n, c, h, w]) - mu
                        squares += d * d
                    }
                }
            }
            mean[c] = mu
            variance[c] = squares / m
        }
        return (mean, variance)
    }

    /// Checks that `input` is (N, C, H, W) with N·H·W > 1 (batch statistics of one value are no statistics;
    /// PyTorch refuses them too) and that every per-channel tensor has shape (C).
    private static func batchNorm2DCheckShapes<T: TensorScalar>(
        _ caller: String, input x: Tensor<T>, _ perChannel: [(name: String, tensor: Tensor<T>)]
    ) {
        precondition(x.rank == 4, "\(caller) expects an input (N, C, H, W), got shape \(x.shape)")
        precondition(x.shape[0] * x.shape[2] * x.shape[3] > 1,
                     "\(caller): input \(x.shape) has \(BatchNorm2D.tooFewValuesMessage)")
        for (name, t) in perChannel {
            precondition(t.shape == [x.shape[1]],
                         "\(caller): \(name) \(t.shape) does not match the \(x.shape[1]) channels of input \(x.shape)")
        }
    }

    // MARK: - Forward

    /// Batch norm forward pass in training mode: normalises with the statistics of this batch.
    ///
    ///     y[n, c, h, w] = γ[c] · (x[n, c, h, w] − μ[c]) / √(σ²[c] + ε) + β[c]
    ///
    /// with μ and σ² the mean and biased variance (divided by m = N·H·W) of channel c over n, h, w.
    /// The caller updates its running statistics from the returned mean and variance; PyTorch's running
    /// variance uses the unbiased estimate σ² · m / (m − 1).
    ///
    /// - Parameters:
    ///   - input: x, shape (N, C, H, W), N·H·W ≥ 2.
    ///   - gamma: γ, shape (C).
    ///   - beta: β, shape (C).
    ///   - eps: ε > 0, added to the variance.
    /// - Returns: output y (N, C, H, W), mean μ (C), variance σ² (C, biased).
    public static func batchNorm2DForwardTraining<T: TensorScalar>(
        input x: Tensor<T>, gamma: Tensor<T>, beta: Tensor<T>, eps: T
    ) -> (output: Tensor<T>, mean: Tensor<T>, variance: Tensor<T>) {
        batchNorm2DCheckShapes("batchNorm2DForwardTraining", input: x, [("gamma", gamma), ("beta", beta)])
        let (N, C, H, W) = x.nchw
        let (mean, variance) = batchNorm2DStatistics(x)
        var y = Tensor<T>(shape: x.shape)
        for c in 0..<C {
            let sigma = (variance[c] + Double(eps)).squareRoot()
            let g = Double(gamma.scalars[c]), b = Double(beta.scalars[c])
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let xHat = (Double(x[n, c, h, w]) - mean[c]) / sigma
                        y[n, c, h, w] = T(g * xHat + b)
                    }
                }
            }
        }
        return (y, Tensor(shape: [C], scalars: mean.map { T($0) }), Tensor(shape: [C], scalars: variance.map { T($0) }))
    }

    /// Batch norm forward pass in evaluation mode: normalises with the running statistics.
    ///
    ///     y[n, c, h, w] = γ[c] · (x[n, c, h, w] − runningMean[c]) / √(runningVariance[c] + ε) + β[c]
    ///
    /// - Parameters:
    ///   - input: x, shape (N, C, H, W).
    ///   - gamma: γ, shape (C).
    ///   - beta: β, shape (C).
    ///   - runningMean: shape (C).
    ///   - runningVariance: shape (C).
    ///   - eps: ε > 0, added to the variance.
    /// - Returns: y, shape (N, C, H, W).
    public static func batchNorm2DForwardEvaluation<T: TensorScalar>(
        input x: Tensor<T>, gamma: Tensor<T>, beta: Tensor<T>,
        runningMean: Tensor<T>, runningVariance: Tensor<T>, eps: T
    ) -> Tensor<T> {
        precondition(x.rank == 4, "batchNorm2DForwardEvaluation expects an input (N, C, H, W), got shape \(x.shape)")
        let (N, C, H, W) = x.nchw
        for (name, t) in [("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVariance", runningVariance)] {
            precondition(t.shape == [C],
                         "batchNorm2DForwardEvaluation: \(name) \(t.shape) does not match the \(C) channels of input \(x.shape)")
        }
        var y = Tensor<T>(shape: x.shape)
        for c in 0..<C {
            let sigma = (runningVariance.scalars[c] + eps).squareRoot()
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let xHat = (x[n, c, h, w] - runningMean.scalars[c]) / sigma
                        y[n, c, h, w] = gamma.scalars[c] * xHat + beta.scalars[c]
                    }
                }
            }
        }
        return y
    }

    // MARK: - Backward

    /// Batch norm backward pass (training mode), recomputing μ and σ² from `input`.
    ///
    /// Derivation, per channel c, every Σ over the m = N·H·W positions (n, h, w), σ = √(σ² + ε):
    ///
    ///     1. dβ   = Σ dy
    ///     2. dγ   = Σ dy · x̂
    ///     3. dx̂   = γ · dy
    ///     4. dσ²  = Σ dx̂ · (x − μ) · (−½)(σ² + ε)^(−3/2)            = −(γ / 2σ²) · Σ dy · x̂
    ///     5. dμ   = Σ dx̂ · (−1/σ) + dσ² · (−2/m) Σ (x − μ)           = −(γ/σ) · Σ dy     (Σ (x − μ) = 0)
    ///     6. dx   = dx̂ / σ + dσ² · 2(x − μ)/m + dμ / m
    ///             = (γ/σ) · dy − (γ/σ)/m · x̂ · Σ dy · x̂ − (γ/σ)/m · Σ dy     (using x − μ = σ · x̂)
    ///             = (γ/σ)/m · (m · dy − Σ dy − x̂ · Σ (dy · x̂))
    ///
    /// - Parameters:
    ///   - dOutput: dy, shape (N, C, H, W).
    ///   - input: x from the forward pass, shape (N, C, H, W).
    ///   - gamma: γ from the forward pass, shape (C).
    ///   - eps: ε, as in the forward pass.
    /// - Returns: dInput (N, C, H, W), dGamma (C), dBeta (C).
    public static func batchNorm2DBackward<T: TensorScalar>(
        dOutput dy: Tensor<T>, input x: Tensor<T>, gamma: Tensor<T>, eps: T
    ) -> (dInput: Tensor<T>, dGamma: Tensor<T>, dBeta: Tensor<T>) {
        batchNorm2DCheckShapes("batchNorm2DBackward", input: x, [("gamma", gamma)])
        precondition(dy.shape == x.shape, "batchNorm2DBackward: dOutput \(dy.shape) does not match input \(x.shape)")
        let (N, C, H, W) = x.nchw
        let m = Double(N * H * W)
        let (mean, variance) = batchNorm2DStatistics(x)

        var dx = Tensor<T>(shape: x.shape)
        var dGamma = Tensor<T>(shape: [C])
        var dBeta = Tensor<T>(shape: [C])
        for c in 0..<C {
            let mu = mean[c]
            let sigma = (variance[c] + Double(eps)).squareRoot()
            // Σ dy and Σ dy · x̂ (terms 1 and 2), in Double as the statistics.
            var sumDy: Double = 0
            var sumDyXHat: Double = 0
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let xHat = (Double(x[n, c, h, w]) - mu) / sigma
                        sumDy += Double(dy[n, c, h, w])
                        sumDyXHat += Double(dy[n, c, h, w]) * xHat
                    }
                }
            }
            dBeta.scalars[c] = T(sumDy)
            dGamma.scalars[c] = T(sumDyXHat)
            // Term 6.
            let scale = Double(gamma.scalars[c]) / sigma / m
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let xHat = (Double(x[n, c, h, w]) - mu) / sigma
                        dx[n, c, h, w] = T(scale * (m * Double(dy[n, c, h, w]) - sumDy - xHat * sumDyXHat))
                    }
                }
            }
        }
        return (dx, dGamma, dBeta)
    }
}
