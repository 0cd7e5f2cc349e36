//  Dropout.swift
//
//  Inverted dropout. In training, each element is kept with probability 1 − p and scaled by 1/(1 − p):
//      mask = [u ≥ p] / (1 − p),  u ~ U[0, 1);   y = x · mask;   dx = dy · mask
//  In evaluation, y = x.

import RealModule

/// `nn.Dropout(p)`, with its own generator derived from the network's seed.
public final class Dropout: Layer {
    public let p: Double
    public var backend: Backend
    /// Draws the masks. Saved and restored with the training state so a resumed run repeats exactly.
    public var generator: RandomGenerator
    private var mask = Tensor<Float>(shape: [0])
    private var hasMask = false
    private var output = Tensor<Float>(shape: [0])
    private var dInput = Tensor<Float>(shape: [0])

    public init(p: Double, generator: RandomGenerator, backend: Backend = .fast) {
        precondition(p >= 0 && p < 1, "invalid Dropout(p: \(p)); p must be in [0, 1)")
        self.p = p
        self.generator = generator
        self.backend = backend
    }

    public var spec: LayerSpec { .dropout(p: p) }
    public var generators: [GeneratorReference] {
        [GeneratorReference(name: "generator", get: { self.generator }, set: { self.generator = $0 })]
    }

    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        guard mode == .training else { return x }
        mask.resize(to: x.shape)
        let keep = Float(1 / (1 - p)), drop = Float(p)
        mask.scalars.withUnsafeMutableBufferPointer { m in
            for i in 0..<m.count { m[i] = generator.nextUniform() >= drop ? keep : 0 }
        }
        hasMask = true
        if backend == .reference { return Reference.dropoutForward(input: x, mask: mask) }
        output.resize(to: x.shape)
        output.scalars.withUnsafeMutableBufferPointer { y in
            x.scalars.withUnsafeBufferPointer { xp in
                mask.scalars.withUnsafeBufferPointer { m in
                    for i in 0..<y.count { y[i] = xp[i] * m[i] }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Tensor<Float>) -> Tensor<Float> {
        precondition(hasMask && dy.shape == mask.shape, "Dropout.backward without a matching training forward")
        hasMask = false
        if backend == .reference { return Reference.dropoutBackward(dOutput: dy, mask: mask) }
        dInput.resize(to: dy.shape)
        dInput.scalars.withUnsafeMutableBufferPointer { dx in
            dy.scalars.withUnsafeBufferPointer { d in
                mask.scalars.withUnsafeBufferPointer { m in
                    for i in 0..<dx.count { dx[i] = d[i] * m[i] }
                }
            }
        }
        return dInput
    }
}
