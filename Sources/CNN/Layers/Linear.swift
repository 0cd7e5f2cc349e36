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
            let y = yp.baseAddress!
            for n in 0..<N { (y + n * M).update(from: bias.value.scalars, count: M) }
            x.scalars.withUnsafeBufferPointer { xp in
                weight.value.scalars.withUnsafeBufferPointer { wp in
                    BLAS.sgemm(transposeA: false, transposeB: true, m: N, n: M, k: D,
                               a: xp.baseAddress!, lda: D, b: wp.baseAddress!, ldb: D, beta: 1, c: y, ldc: M)
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
            let d = dp.baseAddress!
            // dW (M, D) += dyᵀ (M, N) · x (N, D)
            x.scalars.withUnsafeBufferPointer { xp in
                weight.gradient.scalars.withUnsafeMutableBufferPointer { dwp in
                    BLAS.sgemm(transposeA: true, transposeB: false, m: M, n: D, k: N,
                               a: d, lda: M, b: xp.baseAddress!, ldb: D, beta: 1, c: dwp.baseAddress!, ldc: D)
                }
            }
            // dx (N, D) = dy (N, M) · W (M, D)
            weight.value.scalars.withUnsafeBufferPointer { wp in
                dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                    BLAS.sgemm(transposeA: false, transposeB: false, m: N, n: D, k: M,
                               a: d, lda: M, b: wp.baseAddress!, ldb: D, c: dxp.baseAddress!, ldc: D)
                }
            }
            bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
                for n in 0..<N { for j in 0..<M { db[j] += d[n * M + j] } }
            }
        }
        return dInput
    }
}
