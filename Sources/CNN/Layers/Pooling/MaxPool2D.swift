//  MaxPool2D.swift
//
//  Dimensions (the module's legend, Sources/CNN/README.md): N, C, H, W input; K kernel, S stride; Ho = 1 + (H − K) / S, Wo = 1 + (W − K) / S.
//
//  Forward:   y[n,c,i,j] = max_{k,l < K} x[n, c, i·S + k, j·S + l]
//  Backward:  the whole of dy[n,c,i,j] goes to the window's first maximum (row-major order, as PyTorch);
//             overlapping windows (S < K) add up.

import RealModule

/// Max pooling without padding: `nn.MaxPool2d(kernel, stride)`.
public final class MaxPool2D: Layer {
    public let kernelSize, stride: Int
    public var backend: Backend
    private var cachedInput: Tensor<Float>?      // reference backend
    private var argmax: [Int32] = []             // fast backend: flat index within the (n, c) plane, per output
    private var inputShape: [Int]?
    private var output = Tensor<Float>(shape: [0])
    private var dInput = Tensor<Float>(shape: [0])

    public init(kernelSize: Int, stride: Int? = nil, backend: Backend = .fast) {
        precondition(kernelSize > 0 && (stride ?? kernelSize) > 0, "invalid MaxPool2D(k\(kernelSize))")
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.backend = backend
    }

    public var spec: LayerSpec { .maxPool2d(kernelSize: kernelSize, stride: stride) }


    /// x (N, C, H, W) → y (N, C, Ho, Wo)
    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        guard let outShape = outputShape(for: x.shape) else {
            preconditionFailure("MaxPool2D(k\(kernelSize)) cannot take input \(x.shape)")
        }
        if backend == .reference {
            if mode == .training { cachedInput = x }
            return Reference.maxPool2DForward(input: x, kernel: kernelSize, stride: stride)
        }
        let (H, W) = (x.shape[2], x.shape[3]), (Ho, Wo) = (outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1], K = kernelSize, S = stride
        output.resize(to: outShape)
        if argmax.count != output.count { argmax = [Int32](repeating: 0, count: output.count) }
        x.scalars.withUnsafeBufferPointer { xp in
            output.scalars.withUnsafeMutableBufferPointer { yp in
                argmax.withUnsafeMutableBufferPointer { ap in
                    let x0 = xp.baseAddress!, y0 = yp.baseAddress!, a0 = ap.baseAddress!
                    // One plane per task; the pooling kernel is the one fused layers use too.
                    Parallel.forEach(planes) { p in
                        ReLUPoolEpilogue.maxPool(x0 + p * H * W, planes: 1, height: H, width: W, pool: (K, S),
                                                 into: y0 + p * Ho * Wo, argmax: a0 + p * Ho * Wo)
                    }
                }
            }
        }
        if mode == .training { inputShape = x.shape }
        return output
    }

    /// dy (N, C, Ho, Wo) → dx (N, C, H, W)
    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        if backend == .reference {
            guard let x = cachedInput else { preconditionFailure("MaxPool2D.backward without a training forward") }
            cachedInput = nil
            return Reference.maxPool2DBackward(dOutput: dy, input: x, kernel: kernelSize, stride: stride)
        }
        guard let s = inputShape else { preconditionFailure("MaxPool2D.backward without a training forward") }
        inputShape = nil
        precondition(dy.count == argmax.count, "MaxPool2D.backward: dOutput \(dy.shape) does not match the forward")
        let planes = s[0] * s[1], HW = s[2] * s[3], out = dy.count / max(planes, 1)
        dInput.resize(to: s)
        dy.scalars.withUnsafeBufferPointer { dp in
            argmax.withUnsafeBufferPointer { ap in
                dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                    let d0 = dp.baseAddress!, a0 = ap.baseAddress!, dx0 = dxp.baseAddress!
                    Parallel.forEach(planes) { p in
                        let dx = dx0 + p * HW
                        dx.update(repeating: 0, count: HW)
                        for o in 0..<out { dx[Int(a0[p * out + o])] += d0[p * out + o] }
                    }
                }
            }
        }
        return dInput
    }
}
