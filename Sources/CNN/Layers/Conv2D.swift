//  Conv2D.swift
//
//  Dimension legend: N batch, C input channels, H×W input, F filters, HH×WW kernel, S stride, P padding,
//  Ho = 1 + (H + 2P − HH) / S and Wo = 1 + (W + 2P − WW) / S (rounded down, as PyTorch), L = Ho·Wo.
//
//  Forward:   y[n,f,i,j] = b[f] + Σ_c Σ_k Σ_l w[f,c,k,l] · x[n, c, i·S − P + k, j·S − P + l]
//  Backward:  db[f]      = Σ_n Σ_i Σ_j dy[n,f,i,j]
//             dw[f,c,k,l] = Σ_n Σ_i Σ_j dy[n,f,i,j] · x[n, c, i·S − P + k, j·S − P + l]
//             dx[n,c,h,w] = Σ_f Σ_{i,j,k,l: i·S−P+k=h, j·S−P+l=w} dy[n,f,i,j] · w[f,c,k,l]
//  Fast path, with cols = im2col(x) of shape (C·HH·WW, N·L) and W as an (F, C·HH·WW) matrix:
//             Y = W · cols (+ b),   dW += dY · colsᵀ,   dcols = Wᵀ · dY,   dx = col2im(dcols).

import RealModule

/// A 2-D convolution with square kernels, stride and zero padding: `nn.Conv2d`.
public final class Conv2D: Layer {
    public let inChannels, outChannels, kernelSize, stride, padding: Int
    public var backend: Backend
    /// (F, C, HH, WW)
    public let weight: Parameter
    /// (F)
    public let bias: Parameter

    private var input: Tensor<Float>?          // reference backend: x for backward
    private var cols: [Float] = []             // fast backend: im2col(x), (C·HH·WW, N·L)
    private var geometry: ConvGeometry?
    private var product: [Float] = []          // (F, N·L) workspace for forward and backward
    private var dCols: [Float] = []
    private var output = Tensor<Float>(shape: [0])
    private var dInput = Tensor<Float>(shape: [0])

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


    /// x (N, C, H, W) → y (N, F, Ho, Wo)
    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        guard let outShape = outputShape(for: x.shape) else {
            preconditionFailure("Conv2D(\(inChannels)→\(outChannels), k\(kernelSize)) cannot take input \(x.shape)")
        }
        if backend == .reference {
            if mode == .training { input = x }
            return Reference.conv2DForward(input: x, weight: weight.value, bias: bias.value, stride: stride, padding: padding)
        }
        let g = ConvGeometry(n: x.shape[0], c: inChannels, h: x.shape[2], w: x.shape[3],
                             kh: kernelSize, kw: kernelSize, stride: stride, padding: padding)
        geometry = g
        let K = g.patchSize, NL = g.columns, L = g.positions, F = outChannels
        if cols.count != K * NL { cols = [Float](repeating: 0, count: K * NL) }
        if product.count != F * NL { product = [Float](repeating: 0, count: F * NL) }
        output.resize(to: outShape)
        x.scalars.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { Im2Col.forward(xp.baseAddress!, g, into: $0.baseAddress!) }
        }
        // product (F, N·L) = W (F, K) · cols (K, N·L)
        weight.value.scalars.withUnsafeBufferPointer { wp in
            cols.withUnsafeBufferPointer { cp in
                product.withUnsafeMutableBufferPointer { pp in
                    BLAS.sgemm(transposeA: false, transposeB: false, m: F, n: NL, k: K,
                               a: wp.baseAddress!, lda: K, b: cp.baseAddress!, ldb: NL, c: pp.baseAddress!, ldc: NL)
                }
            }
        }
        // y[n, f, :] = product[f, n·L ..< (n+1)·L] + b[f]
        product.withUnsafeBufferPointer { pp in
            bias.value.scalars.withUnsafeBufferPointer { bp in
                output.scalars.withUnsafeMutableBufferPointer { yp in
                    let p = pp.baseAddress!, b = bp.baseAddress!, y = yp.baseAddress!
                    Parallel.forEach(g.n) { n in
                        for f in 0..<F {
                            let src = p + f * NL + n * L, dst = y + (n * F + f) * L, bf = b[f]
                            for l in 0..<L { dst[l] = src[l] + bf }
                        }
                    }
                }
            }
        }
        if mode != .training { geometry = nil }
        return output
    }

    /// dy (N, F, Ho, Wo) → dx (N, C, H, W); accumulates dW and db.
    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        if backend == .reference {
            guard let x = input else { preconditionFailure("Conv2D.backward without a training forward") }
            input = nil
            let (dx, dw, db) = Reference.conv2DBackward(dOutput: dy, input: x, weight: weight.value,
                                                        stride: stride, padding: padding)
            weight.gradient.add(dw)
            bias.gradient.add(db)
            return dx
        }
        guard let g = geometry else { preconditionFailure("Conv2D.backward without a training forward") }
        let K = g.patchSize, NL = g.columns, L = g.positions, F = outChannels
        precondition(dy.shape == [g.n, F, g.ho, g.wo], "Conv2D.backward: dOutput \(dy.shape) does not match the forward")
        // product (F, N·L) ← dy permuted; db[f] += Σ product[f, :]
        dy.scalars.withUnsafeBufferPointer { dyp in
            product.withUnsafeMutableBufferPointer { pp in
                bias.gradient.scalars.withUnsafeMutableBufferPointer { dbp in
                    let d = dyp.baseAddress!, p = pp.baseAddress!, db = dbp.baseAddress!
                    Parallel.forEach(F) { f in
                        var sum: Float = 0
                        for n in 0..<g.n {
                            let src = d + (n * F + f) * L, dst = p + f * NL + n * L
                            for l in 0..<L { dst[l] = src[l]; sum += src[l] }
                        }
                        db[f] += sum
                    }
                }
            }
        }
        if dCols.count != K * NL { dCols = [Float](repeating: 0, count: K * NL) }
        product.withUnsafeBufferPointer { pp in
            cols.withUnsafeBufferPointer { cp in
                // dW (F, K) += dY (F, N·L) · colsᵀ (N·L, K)
                weight.gradient.scalars.withUnsafeMutableBufferPointer { dwp in
                    BLAS.sgemm(transposeA: false, transposeB: true, m: F, n: K, k: NL,
                               a: pp.baseAddress!, lda: NL, b: cp.baseAddress!, ldb: NL,
                               beta: 1, c: dwp.baseAddress!, ldc: K)
                }
            }
            // dcols (K, N·L) = Wᵀ (K, F) · dY (F, N·L)
            weight.value.scalars.withUnsafeBufferPointer { wp in
                dCols.withUnsafeMutableBufferPointer { dcp in
                    BLAS.sgemm(transposeA: true, transposeB: false, m: K, n: NL, k: F,
                               a: wp.baseAddress!, lda: K, b: pp.baseAddress!, ldb: NL, c: dcp.baseAddress!, ldc: NL)
                }
            }
        }
        dInput.resize(to: [g.n, g.c, g.h, g.w])
        dCols.withUnsafeBufferPointer { dcp in
            dInput.scalars.withUnsafeMutableBufferPointer { Im2Col.backward(dcp.baseAddress!, g, into: $0.baseAddress!) }
        }
        geometry = nil
        return dInput
    }
}
