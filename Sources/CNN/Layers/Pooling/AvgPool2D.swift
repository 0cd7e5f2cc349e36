//  AvgPool2D.swift
//
//  Dimensions (the module's legend, Sources/CNN/README.md): N, C, H, W input; K kernel, S stride; Ho = 1 + (H − K) / S, Wo = 1 + (W − K) / S.
//
//  Forward:   y[n,c,i,j] = (1/K²) Σ_{k,l < K} x[n, c, i·S + k, j·S + l]
//  Backward:  dx[n, c, i·S + k, j·S + l] += dy[n,c,i,j] / K²   for every window (overlaps add up)

import RealModule

/// Average pooling without padding: `nn.AvgPool2d(kernel, stride)`.
public final class AvgPool2D: Layer {
    public let kernelSize, stride: Int
    public var backend: Backend
    private var inputShape: [Int]?
    private var output = Tensor<Float>(shape: [0])
    private var dInput = Tensor<Float>(shape: [0])

    public init(kernelSize: Int, stride: Int? = nil, backend: Backend = .fast) {
        precondition(kernelSize > 0 && (stride ?? kernelSize) > 0, "invalid AvgPool2D(k\(kernelSize))")
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.backend = backend
    }

    public var spec: LayerSpec { .avgPool2d(kernelSize: kernelSize, stride: stride) }


    /// x (N, C, H, W) → y (N, C, Ho, Wo)
    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        guard let outShape = outputShape(for: x.shape) else {
            preconditionFailure("AvgPool2D(k\(kernelSize)) cannot take input \(x.shape)")
        }
        if mode == .training { inputShape = x.shape }
        if backend == .reference {
            return Reference.avgPool2DForward(input: x, kernel: kernelSize, stride: stride)
        }
        let (H, W) = (x.shape[2], x.shape[3]), (Ho, Wo) = (outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1], K = kernelSize, S = stride, scale = 1 / Float(K * K)
        output.resize(to: outShape)
        x.scalars.withUnsafeBufferPointer { xp in
            output.scalars.withUnsafeMutableBufferPointer { yp in
                let x0 = xp.baseAddress!, y0 = yp.baseAddress!
                Parallel.forEach(planes) { p in
                    let xs = x0 + p * H * W, ys = y0 + p * Ho * Wo
                    for i in 0..<Ho {
                        for j in 0..<Wo {
                            var sum: Float = 0
                            for k in 0..<K {
                                let row = xs + (i * S + k) * W + j * S
                                for l in 0..<K { sum += row[l] }
                            }
                            ys[i * Wo + j] = sum * scale
                        }
                    }
                }
            }
        }
        return output
    }

    /// dy (N, C, Ho, Wo) → dx (N, C, H, W)
    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        guard let s = inputShape else { preconditionFailure("AvgPool2D.backward without a training forward") }
        inputShape = nil
        if backend == .reference {
            return Reference.avgPool2DBackward(dOutput: dy, inputShape: s, kernel: kernelSize, stride: stride)
        }
        let (H, W) = (s[2], s[3]), (Ho, Wo) = (dy.shape[2], dy.shape[3])
        let planes = s[0] * s[1], K = kernelSize, S = stride, scale = 1 / Float(K * K)
        dInput.resize(to: s)
        dy.scalars.withUnsafeBufferPointer { dp in
            dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                let d0 = dp.baseAddress!, dx0 = dxp.baseAddress!
                Parallel.forEach(planes) { p in
                    let dx = dx0 + p * H * W, d = d0 + p * Ho * Wo
                    dx.update(repeating: 0, count: H * W)
                    for i in 0..<Ho {
                        for j in 0..<Wo {
                            let g = d[i * Wo + j] * scale
                            for k in 0..<K {
                                let row = dx + (i * S + k) * W + j * S
                                for l in 0..<K { row[l] += g }
                            }
                        }
                    }
                }
            }
        }
        return dInput
    }
}
