//  Linear.swift
//
//  Dimensions (the module's legend, Sources/CNN/README.md): N batch, D input features, M output features.
//
//  Forward:   y = x·Wᵀ + b                 x (N, D), W (M, D), b (M), y (N, M)
//  Backward:  dx = dy·W,   dW += dyᵀ·x,   db += Σ_n dy[n, :]

import RealModule

/// A fully connected layer: `nn.Linear(inFeatures, outFeatures)`, weight in PyTorch's (out, in) layout.
public final class Linear: Layer {
    public let inFeatures, outFeatures: Int
    public var backend: Backend
    /// (M, D)
    public let weight: Parameter
    /// (M)
    public let bias: Parameter
    private var input: Tensor<Float>?
    private var output = Tensor<Float>(shape: [0])
    private var dInput = Tensor<Float>(shape: [0])
    private let partial = Workspace<Float>()   // the forward's second-half product over input features, (N, M)

    /// Input features from which the forward splits its product across threads by input features.
    public static let splitInputFeatures = 2048

    public init(inFeatures: Int, outFeatures: Int, backend: Backend = .fast) {
        precondition(inFeatures > 0 && outFeatures > 0, "invalid Linear(\(inFeatures), \(outFeatures))")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.backend = backend
        weight = Parameter(name: "weight", value: Tensor(shape: [outFeatures, inFeatures]))
        bias = Parameter(name: "bias", value: Tensor(shape: [outFeatures]))
    }

    public var spec: LayerSpec { .linear(inFeatures: inFeatures, outFeatures: outFeatures) }
    public var parameters: [Parameter] { [weight, bias] }


    /// x (N, D) → y (N, M)
    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        precondition(outputShape(for: x.shape) != nil, "Linear(\(inFeatures)→\(outFeatures)) cannot take input \(x.shape)")
        if mode == .training { input = x }
        if backend == .reference {
            return Reference.linearForward(input: x, weight: weight.value, bias: bias.value)
        }
        let N = x.shape[0], D = inFeatures, M = outFeatures
        output.resize(to: [N, M])
        output.scalars.withUnsafeMutableBufferPointer { yp in
            x.scalars.withUnsafeBufferPointer { xp in
                weight.value.scalars.withUnsafeBufferPointer { wp in
                    bias.value.scalars.withUnsafeBufferPointer { bp in
                        let y = yp.baseAddress!, x0 = xp.baseAddress!, w = wp.baseAddress!, b = bp.baseAddress!
                        for n in 0..<N { (y + n * M).update(from: b, count: M) }
                        if Parallel.threads > 1 && D >= Self.splitInputFeatures {
                            // Input features split across threads: y = b + x[:, ins₀]·W[:, ins₀]ᵀ + …, each thread
                            // packing only its columns of x and of W (with a split by outputs, each packed all of
                            // x; by rows, all of W); the partial products are added in thread order.
                            let threads = Parallel.threads, parts = partial.reserve((threads - 1) * N * M)
                            Parallel.forEachChunk(D, threads: threads) { t, ins in
                                let c = t == 0 ? y : parts.piece(t - 1, size: N * M).start
                                BLAS.sgemm(transposeA: false, transposeB: true, m: N, n: M, k: ins.count,
                                           a: x0 + ins.lowerBound, lda: D, b: w + ins.lowerBound, ldb: D,
                                           beta: t == 0 ? 1 : 0, c: c, ldc: M)
                            }
                            for t in 1..<threads {
                                let p = parts.piece(t - 1, size: N * M).start
                                for i in 0..<(N * M) { y[i] += p[i] }
                            }
                        } else if M > N {
                            // Output features split across threads: y[:, outs] += x · W[outs]ᵀ. Each thread packs
                            // only its rows of W; split by batch rows, each would pack all of W for a few rows.
                            Parallel.forEachChunk(M, threads: Parallel.threads) { _, outs in
                                guard !outs.isEmpty else { return }
                                BLAS.sgemm(transposeA: false, transposeB: true, m: N, n: outs.count, k: D,
                                           a: x0, lda: D, b: w + outs.lowerBound * D, ldb: D,
                                           beta: 1, c: y + outs.lowerBound, ldc: M)
                            }
                        } else {
                            // Rows of the batch split across threads: y[rows] += x[rows] · Wᵀ
                            Parallel.forEachChunk(N, threads: Parallel.threads) { _, rows in
                                guard !rows.isEmpty else { return }
                                BLAS.sgemm(transposeA: false, transposeB: true, m: rows.count, n: M, k: D,
                                           a: x0 + rows.lowerBound * D, lda: D, b: w, ldb: D,
                                           beta: 1, c: y + rows.lowerBound * M, ldc: M)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// dy (N, M) → dx (N, D); accumulates dW and db.
    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        guard let x = input else { preconditionFailure("Linear.backward without a training forward") }
        input = nil
        precondition(dy.shape == [x.shape[0], outFeatures], "Linear.backward: dOutput \(dy.shape) vs input \(x.shape)")
        if backend == .reference {
            let r = Reference.linearBackward(dOutput: dy, input: x, weight: weight.value)
            weight.gradient.add(r.dWeight)
            bias.gradient.add(r.dBias)
            return r.dInput
        }
        let N = x.shape[0], D = inFeatures, M = outFeatures
        dInput.resize(to: [N, D])
        dy.scalars.withUnsafeBufferPointer { dp in
            x.scalars.withUnsafeBufferPointer { xp in
                weight.value.scalars.withUnsafeBufferPointer { wp in
                    weight.gradient.scalars.withUnsafeMutableBufferPointer { dwp in
                        dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                            let d = dp.baseAddress!, x0 = xp.baseAddress!, w = wp.baseAddress!
                            let dw = dwp.baseAddress!, dx = dxp.baseAddress!
                            // Both products split across threads by input features, so that each thread packs
                            // only its columns of x or W (the measurements against splitting by output features or
                            // batch rows are in Sources/CNN/README.md).
                            Parallel.forEachChunk(D, threads: Parallel.threads) { _, ins in
                                guard !ins.isEmpty else { return }
                                // dW[:, ins] (M, D') += dyᵀ (M, N) · x[:, ins] (N, D')
                                BLAS.sgemm(transposeA: true, transposeB: false, m: M, n: ins.count, k: N,
                                           a: d, lda: M, b: x0 + ins.lowerBound, ldb: D,
                                           beta: 1, c: dw + ins.lowerBound, ldc: D)
                                // dx[:, ins] (N, D') = dy (N, M) · W[:, ins] (M, D')
                                BLAS.sgemm(transposeA: false, transposeB: false, m: N, n: ins.count, k: M,
                                           a: d, lda: M, b: w + ins.lowerBound, ldb: D,
                                           c: dx + ins.lowerBound, ldc: D)
                            }
                        }
                    }
                }
            }
            bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                for n in 0..<N { for j in 0..<M { db[j] += dp[n * M + j] } }
            }
        }
        return dInput
    }
}
