//  ReLU.swift
//
//  Forward:   y = 0 where x < 0, else x (a NaN stays NaN, as PyTorch)
//  Backward:  dx = dy · [x > 0]   (the same mask as [y > 0])

import RealModule

/// The rectified linear unit: `nn.ReLU`. Any shape.
public final class ReLU: Layer {
    public var backend: Backend
    private var cachedOutput: Tensor<Float>?   // y; its sign is the mask
    private var cachedInput: Tensor<Float>?    // reference backend
    private var output = Tensor<Float>(shape: [0])
    private var dInput = Tensor<Float>(shape: [0])

    public init(backend: Backend = .fast) { self.backend = backend }

    public var spec: LayerSpec { .relu }

    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        if backend == .reference {
            if mode == .training { cachedInput = x }
            return Reference.reluForward(input: x)
        }
        output.resize(to: x.shape)
        x.scalars.withUnsafeBufferPointer { xp in
            output.scalars.withUnsafeMutableBufferPointer { yp in
                for i in 0..<xp.count { yp[i] = ReLUPoolEpilogue.relu(xp[i]) }
            }
        }
        if mode == .training { cachedOutput = output }
        return output
    }

    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        if backend == .reference {
            guard let x = cachedInput else { preconditionFailure("ReLU.backward without a training forward") }
            cachedInput = nil
            return Reference.reluBackward(dOutput: dy, input: x)
        }
        guard let y = cachedOutput else { preconditionFailure("ReLU.backward without a training forward") }
        cachedOutput = nil
        precondition(dy.shape == y.shape, "ReLU.backward: dOutput \(dy.shape) vs output \(y.shape)")
        dInput.resize(to: dy.shape)
        dy.scalars.withUnsafeBufferPointer { dp in
            y.scalars.withUnsafeBufferPointer { yp in
                dInput.scalars.withUnsafeMutableBufferPointer { dx in
                    for i in 0..<dp.count { dx[i] = yp[i] > 0 ? dp[i] : 0 }
                }
            }
        }
        return dInput
    }
}
