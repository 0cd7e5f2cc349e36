//  Adam.swift
//
//  Adam and AdamW in PyTorch's formulation (torch.optim.Adam / AdamW, amsgrad off), for each parameter p with
//  gradient g at step t = 1, 2, …:
//      Adam:   g ← g + λ·p                          (L2 weight decay λ, added to the gradient)
//      AdamW:  p ← p·(1 − η·λ)                      (decoupled weight decay, before the update)
//      m ← β₁·m + (1 − β₁)·g                        (exp_avg; m, v start at 0)
//      v ← β₂·v + (1 − β₂)·g²                       (exp_avg_sq)
//      p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//  β₁ is read at every step, so a one-cycle schedule that cycles it also changes the bias correction 1 − β₁ᵗ,
//  as in PyTorch. Defaults as PyTorch's: β = (0.9, 0.999), ε = 1e-8.

import RealModule

/// How weight decay enters an Adam step.
public enum WeightDecayMode: Sendable {
    /// Adam: λ·p is added to the gradient (and so is scaled by the adaptive denominator).
    case l2
    /// AdamW: p is multiplied by 1 − η·λ before the update (Loshchilov and Hutter).
    case decoupled
}

/// Adam (`.l2`) or AdamW (`.decoupled`).
public final class Adam: Optimizer {
    public var learningRate: Float
    /// β₁, in Double as PyTorch's Python float; a one-cycle schedule may change it between steps.
    public var beta1: Double
    public let beta2: Double
    public let epsilon: Float
    public let weightDecay: Float
    public let weightDecayMode: WeightDecayMode
    public let parameters: [Parameter]
    /// Steps taken so far (PyTorch's `state["step"]`).
    public private(set) var stepCount = 0
    /// m and v, one each per parameter, in `parameters` order.
    public private(set) var firstMoments: [Tensor<Float>]
    public private(set) var secondMoments: [Tensor<Float>]

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, weightDecayMode: WeightDecayMode = .l2) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.weightDecayMode = weightDecayMode
        firstMoments = parameters.map { Tensor(shape: $0.value.shape) }
        secondMoments = parameters.map { Tensor(shape: $0.value.shape) }
    }

    public var scheduledMomentum: Double {
        get { beta1 }
        set { beta1 = newValue }
    }

    public func step() {
        stepCount += 1
        // Scalars in Double, as PyTorch computes them from Python floats, each rounded once to Float.
        let t = Double(stepCount)
        let correction1 = 1 - Double.pow(beta1, t), correction2 = 1 - Double.pow(beta2, t)
        let stepSize = Float(Double(learningRate) / correction1), root2 = Float(correction2.squareRoot())
        let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2), eps = epsilon
        let l2 = weightDecayMode == .l2 ? weightDecay : 0
        let shrink = weightDecayMode == .decoupled ? Float(1 - Double(learningRate) * Double(weightDecay)) : 1
        for (index, p) in parameters.enumerated() {
            p.value.scalars.withUnsafeMutableBufferPointer { wb in
                p.gradient.scalars.withUnsafeMutableBufferPointer { gb in
                    firstMoments[index].scalars.withUnsafeMutableBufferPointer { mb in
                        secondMoments[index].scalars.withUnsafeMutableBufferPointer { vb in
                            guard let w = wb.baseAddress, let g = gb.baseAddress, let m = mb.baseAddress,
                                  let v = vb.baseAddress else { return }
                            let count = wb.count, threads = count >= SGD.parallelCount ? Parallel.threads : 1
                            Parallel.forEachChunk(count, threads: threads) { _, range in
                                for i in range {
                                    w[i] *= shrink
                                    let d = g[i] + l2 * w[i]
                                    m[i] += w1 * (d - m[i])            // PyTorch's lerp: m + (1 − β₁)(g − m)
                                    v[i] = b2 * v[i] + w2 * d * d
                                    w[i] -= stepSize * m[i] / (v[i].squareRoot() / root2 + eps)
                                    g[i] = 0
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public var state: [NamedTensor] {
        [("step", Tensor(shape: [], scalars: [Float(stepCount)]))]
            + firstMoments.enumerated().map { ("exp_avg.\($0.offset)", $0.element) }
            + secondMoments.enumerated().map { ("exp_avg_sq.\($0.offset)", $0.element) }
    }

    public func restore(_ saved: [NamedTensor]) throws {
        let byName = try matchingState(saved, state)
        let step = byName["step"]!.scalars[0]
        guard step >= 0, step < 0x1p24, step == step.rounded() else { throw OptimizerStateError.badValue("step") }
        stepCount = Int(step)
        firstMoments = firstMoments.indices.map { byName["exp_avg.\($0)"]! }
        secondMoments = secondMoments.indices.map { byName["exp_avg_sq.\($0)"]! }
    }
}
