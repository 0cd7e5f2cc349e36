//  Optimizer.swift
//
//  What the training loop needs from an optimizer: the rate (and, for one-cycle, the momentum) to use at the
//  next step, one step from the accumulated gradients (which it zeroes), and its state as named tensors so a
//  checkpoint can save and restore it without knowing the optimizer's type.
//
//  State names are "<buffer>.<k>" for the k-th parameter in `parameters` order (SGD: "velocity.k"; Adam:
//  "exp_avg.k", "exp_avg_sq.k") plus optimizer-wide scalars of shape [] (Adam: "step").

/// A named state tensor.
public typealias NamedTensor = (name: String, tensor: Tensor<Float>)

/// The optimizers `--optimizer` chooses from.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
    case sgd, adam, adamw

    /// PyTorch's default learning rate, used when neither a flag nor a recipe gives one (SGD: this tool's 0.05).
    public var defaultLearningRate: Double { self == .sgd ? 0.05 : 1e-3 }
    /// PyTorch's default weight decay (SGD: this tool's 5e-4; Adam 0; AdamW 0.01).
    public var defaultWeightDecay: Double {
        switch self {
        case .sgd: return 5e-4
        case .adam: return 0
        case .adamw: return 0.01
        }
    }

    /// The names and shapes of this optimizer's state for parameters of `parameterShapes`, in `state` order.
    public func stateLayout(parameterShapes: [[Int]]) -> [(name: String, shape: [Int])] {
        let parameters = parameterShapes.map { Parameter(name: "p", value: Tensor(shape: $0)) }
        let optimizer: Optimizer = self == .sgd ? SGD(parameters: parameters, learningRate: 1, momentum: 0.9)
            : Adam(parameters: parameters, weightDecayMode: self == .adam ? .l2 : .decoupled)
        return optimizer.state.map { ($0.name, $0.tensor.shape) }
    }
}

/// What an optimizer cannot restore from a saved state.
public enum OptimizerStateError: Error, Equatable {
    case missing(String)
    case wrongShape(String, found: [Int], expected: [Int])
    case unexpected(String)
    case badValue(String)
}

/// An update rule over a fixed list of parameters.
public protocol Optimizer: AnyObject {
    var parameters: [Parameter] { get }
    /// The rate of the next `step`; set by the loop from the schedule before every step.
    var learningRate: Float { get set }
    /// SGD's momentum μ or Adam's β₁, for schedules that cycle it (one-cycle); set by the loop when they do.
    var scheduledMomentum: Double { get set }

    /// Applies one update from the accumulated gradients, then zeroes them.
    func step()

    /// Every state tensor, named (see the file comment), in a fixed order.
    var state: [NamedTensor] { get }

    /// Restores `state` as `self.state` returned it. Throws naming the first tensor that is missing, has
    /// the wrong shape or does not belong; nothing is changed then.
    func restore(_ state: [NamedTensor]) throws
}

extension Optimizer {
    /// Checks that `saved` has exactly the names and shapes of `current` and returns it as a dictionary.
    public func matchingState(_ saved: [NamedTensor],
                              _ current: [NamedTensor]) throws -> [String: Tensor<Float>] {
        var byName: [String: Tensor<Float>] = [:]
        for (name, tensor) in saved { byName[name] = tensor }
        for (name, tensor) in current {
            guard let found = byName[name] else { throw OptimizerStateError.missing(name) }
            guard found.shape == tensor.shape else {
                throw OptimizerStateError.wrongShape(name, found: found.shape, expected: tensor.shape)
            }
        }
        let known = Set(current.map(\.name))
        if let extra = saved.first(where: { !known.contains($0.name) }) { throw OptimizerStateError.unexpected(extra.name) }
        return byName
    }
}
