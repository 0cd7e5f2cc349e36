//  Linear.swift
//
//  Dimension legend: N batch, D input features, M output features.
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
                        // Rows of the batch split across threads: y[rows] = b ⊗ 1 + x[rows] · Wᵀ
                        Parallel.forEachChunk(N, threads: Parallel.threads) { _, rows in
                            guard !rows.isEmpty else { return }
                            for n in rows { (y + n * M).update(from: b, count: M) }
                            BLAS.sgemm(transposeA: false, transposeB: true, m: rows.count, n: M, k: D,
                                       a: x0 + rows.lowerBound * D, lda: D, b: w, ldb: D,
                                       beta: 1, c: y + rows.lowerBound * M, ldc: M)
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
                            // dW[outs] (M', D) += dy[:, outs]ᵀ (M', N) · x (N, D): output features split across threads
                            Parallel.forEachChunk(M, threads: Parallel.threads) { _, outs in
                                guard !outs.isEmpty else { return }
                                BLAS.sgemm(transposeA: true, transposeB: false, m: outs.count, n: D, k: N,
                                           a: d + outs.lowerBound, lda: M, b: x0, ldb: D,
                                           beta: 1, c: dw + outs.lowerBound * D, ldc: D)
                            }
                            // dx[rows] (N', D) = dy[rows] (N', M) · W (M, D): batch rows split across threads
                            Parallel.forEachChunk(N, threads: Parallel.threads) { _, rows in
                                guard !rows.isEmpty else { return }
                                BLAS.sgemm(transposeA: false, transposeB: false, m: rows.count, n: D, k: M,
                                           a: d + rows.lowerBound * M, lda: M, b: w, ldb: D,
                                           c: dx + rows.lowerBound * D, ldc: D)
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
