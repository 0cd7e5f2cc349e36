//  Flatten.swift
//
//  Forward:   (N, C, H, W) → (N, C·H·W), in C, H, W order (PyTorch's), without copying.
//  Backward:  the inverse reshape.

import RealModule

/// `nn.Flatten()`: keeps the batch dimension and flattens the rest.
public final class Flatten: Layer {
    /// Flattening is a reshape on either backend.
    public var backend: Backend
    private var inputShape: [Int]?

    public init(backend: Backend = .fast) { self.backend = backend }

    public var spec: LayerSpec { .flatten }


    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        guard let shape = outputShape(for: x.shape) else { preconditionFailure("Flatten cannot take input \(x.shape)") }
        if mode == .training { inputShape = x.shape }
        return x.reshaped(shape)
    }

    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        guard let s = inputShape else { preconditionFailure("Flatten.backward without a training forward") }
        inputShape = nil
        return dy.reshaped(s)
    }
}
