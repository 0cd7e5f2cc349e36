//  Reference+BatchNorm.swift
//
//  Spatial batch normalisation (PyTorch's nn.BatchNorm2d), forward and backward, as plain loops.
//  Statistics are per channel c, over the m = N·H·W positions (n, h, w) of that channel.
//
//  Dimension legend:
//    N   batch size              C   input channels        H, W    input height and width
//    F   filters (out channels)  HH, WW  kernel height and width
//    S   stride                  P   zero padding          Ho, Wo  output height and width
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

import RealModule

extension Reference {
    /// The per-channel mean μ and biased variance σ² of an (N, C, H, W) tensor, each of shape (C).
    private static func batchNorm2DStatistics<T: TensorScalar>(_ x: Tensor<T>) -> (mean: Tensor<T>, variance: Tensor<T>) {
        let (N, C, H, W) = x.nchw
        let m = T(N * H * W)
        var mean = Tensor<T>(shape: [C])
        var variance = Tensor<T>(shape: [C])
        for c in 0..<C {
            var sum: T = 0
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        sum += x[n, c, h, w]
                    }
                }
            }
            let mu = sum / m
            var squares: T = 0
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let d = x[n, c, h, w] - mu
                        squares += d * d
                    }
                }
            }
            mean.scalars[c] = mu
            variance.scalars[c] = squares / m
        }
        return (mean, variance)
    }

    /// Checks that `input` is (N, C, H, W) with N·H·W > 0 and that every per-channel tensor has shape (C).
    private static func batchNorm2DCheckShapes<T: TensorScalar>(
        _ caller: String, input x: Tensor<T>, _ perChannel: [(name: String, tensor: Tensor<T>)]
    ) {
        precondition(x.rank == 4, "\(caller) expects an input (N, C, H, W), got shape \(x.shape)")
        precondition(x.shape[0] * x.shape[2] * x.shape[3] > 0,
                     "\(caller): input \(x.shape) has no values per channel to take statistics over")
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
    ///   - input: x, shape (N, C, H, W), N·H·W ≥ 1.
    ///   - gamma: γ, shape (C).
    ///   - beta: β, shape (C).
    ///   - eps: ε > 0, added to the variance.
    /// - Returns: output y (N, C, H, W), mean μ (C), variance σ² (C, biased).
    public static func batchNorm2DForwardTraining<T: TensorScalar>(
        input x: Tensor<T>, gamma: Tensor<T>, beta: Tensor<T>, eps: T
    ) -> (output: Tensor<T>, mean: Tensor<T>, variance: Tensor<T>) {
        batchNorm2DCheckShapes("batchNorm2DForwardTraining", input: x, [("gamma", gamma), ("beta", beta)])
        let (mean, variance) = batchNorm2DStatistics(x)
        let y = batchNorm2DForwardEvaluation(input: x, gamma: gamma, beta: beta,
                                             runningMean: mean, runningVariance: variance, eps: eps)
        return (y, mean, variance)
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
        let m = T(N * H * W)
        let (mean, variance) = batchNorm2DStatistics(x)

        var dx = Tensor<T>(shape: x.shape)
        var dGamma = Tensor<T>(shape: [C])
        var dBeta = Tensor<T>(shape: [C])
        for c in 0..<C {
            let mu = mean.scalars[c]
            let sigma = (variance.scalars[c] + eps).squareRoot()
            // Σ dy and Σ dy · x̂ (terms 1 and 2).
            var sumDy: T = 0
            var sumDyXHat: T = 0
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let xHat = (x[n, c, h, w] - mu) / sigma
                        sumDy += dy[n, c, h, w]
                        sumDyXHat += dy[n, c, h, w] * xHat
                    }
                }
            }
            dBeta.scalars[c] = sumDy
            dGamma.scalars[c] = sumDyXHat
            // Term 6.
            let scale = gamma.scalars[c] / sigma / m
            for n in 0..<N {
                for h in 0..<H {
                    for w in 0..<W {
                        let xHat = (x[n, c, h, w] - mu) / sigma
                        dx[n, c, h, w] = scale * (m * dy[n, c, h, w] - sumDy - xHat * sumDyXHat)
                    }
                }
            }
        }
        return (dx, dGamma, dBeta)
    }
}
