//  SGD.swift
//
//  Minibatch SGD in PyTorch's formulation (torch.optim.SGD, dampening 0), for each parameter p with gradient g:
//      g ← g + λ·p                          (weight decay λ)
//      v ← μ·v + g                          (momentum μ; v starts at 0, so the first step gives v = g)
//      g ← g + μ·v   if Nesterov,  else g ← v
//      p ← p − η·g                          (learning rate η)

import RealModule

/// Stochastic gradient descent with momentum (classical or Nesterov) and weight decay.
public final class SGD: Optimizer {
    public var learningRate: Float
    /// μ; a one-cycle schedule may change it between steps.
    public var momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public let parameters: [Parameter]
    /// One velocity per parameter, same shapes, in `parameters` order. Saved with the training state.
    public var velocities: [Tensor<Float>]

    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, nesterov: Bool = false,
                weightDecay: Float = 0) {
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.velocities = parameters.map { Tensor(shape: $0.value.shape) }
    }

    public var scheduledMomentum: Double {
        get { Double(momentum) }
        set { momentum = Float(newValue) }
    }

    public var state: [NamedTensor] {
        velocities.enumerated().map { ("velocity.\($0.offset)", $0.element) }
    }

    public func restore(_ saved: [NamedTensor]) throws {
        let byName = try matchingState(saved, state)
        velocities = velocities.indices.map { byName["velocity.\($0)"]! }
    }

    /// Parameters with at least this many elements are updated on all of `Parallel.threads`.
    public static let parallelCount = 1 << 16

    /// Applies one update from the accumulated gradients, then zeroes them.
    public func step() {
        let (lr, mu, wd, nesterov) = (learningRate, momentum, weightDecay, self.nesterov)
        for (index, p) in parameters.enumerated() {
            p.value.scalars.withUnsafeMutableBufferPointer { wb in
                p.gradient.scalars.withUnsafeMutableBufferPointer { gb in
                    velocities[index].scalars.withUnsafeMutableBufferPointer { vb in
                        guard let w = wb.baseAddress, let g = gb.baseAddress, let v = vb.baseAddress else { return }
                        // Each element on its own: split across threads when large (the update streams
                        // three arrays through memory), with the same results on any thread count.
                        let count = wb.count, threads = count >= Self.parallelCount ? Parallel.threads : 1
                        Parallel.forEachChunk(count, threads: threads) { _, range in
                            for i in range {
                                var d = g[i] + wd * w[i]
                                if mu != 0 {
                                    v[i] = mu * v[i] + d
                                    d = nesterov ? d + mu * v[i] : v[i]
                                }
                                w[i] -= lr * d
                                g[i] = 0
                            }
                        }
                    }
                }
            }
        }
    }
}
