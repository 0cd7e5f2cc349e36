//  Layer.swift
//
//  The Layer abstraction: forward and backward side by side.

import RealModule

/// Whether a forward pass is part of training (batch statistics, dropout, caches for backward) or evaluation.
public enum Mode: Sendable {
    case training
    case evaluation
}

/// Which implementation a layer runs.
///
/// `.fast` (im2col + GEMM, vectorised loops, threads) is what the trainer uses; `.reference` runs the
/// index-by-index loops of `Reference`, which stay forever as the oracle the fast path is tested against.
public enum Backend: Sendable {
    case reference
    case fast
}

/// A learnable tensor and its gradient, both of the same shape.
///
/// A class, so that an optimizer and a checkpoint walk the same objects the layer computes with.
public final class Parameter {
    /// The PyTorch name inside its layer: `"weight"` or `"bias"`.
    public let name: String
    public var value: Tensor<Float>
    /// Accumulated by `backward` (`+=`); zeroed by the optimizer once per step.
    public var gradient: Tensor<Float>

    public init(name: String, value: Tensor<Float>) {
        self.name = name
        self.value = value
        self.gradient = Tensor(shape: value.shape)
    }
}

/// A stateful, non-learnable tensor that belongs in a checkpoint, such as batch norm's running mean.
public struct BufferReference {
    /// The PyTorch name inside its layer, e.g. `"running_mean"`.
    public let name: String
    public let get: () -> Tensor<Float>
    public let set: (Tensor<Float>) -> Void

    public init(name: String, get: @escaping () -> Tensor<Float>, set: @escaping (Tensor<Float>) -> Void) {
        self.name = name
        self.get = get
        self.set = set
    }
}

/// A non-learnable integer that belongs in a checkpoint, such as batch norm's `num_batches_tracked` (I64).
public struct CounterReference {
    /// The PyTorch name inside its layer.
    public let name: String
    public let get: () -> Int64
    public let set: (Int64) -> Void

    public init(name: String, get: @escaping () -> Int64, set: @escaping (Int64) -> Void) {
        self.name = name
        self.get = get
        self.set = set
    }
}

/// A random generator a layer draws from while training (dropout's masks). Its state is saved with the
/// training state, so a resumed run draws what the uninterrupted one drew.
public struct GeneratorReference {
    public let name: String
    public let get: () -> RandomGenerator
    public let set: (RandomGenerator) -> Void

    public init(name: String, get: @escaping () -> RandomGenerator, set: @escaping (RandomGenerator) -> Void) {
        self.name = name
        self.get = get
        self.set = set
    }
}

/// One stage of a network.
///
/// `forward` caches what `backward` needs (in `.training` mode only). `backward` takes dLoss/dOutput, returns
/// dLoss/dInput, and accumulates (`+=`) into each parameter's `gradient`. It must follow the `forward` it
/// differentiates; it releases the cache, so the buffers can be reused by the next step without copying.
public protocol Layer: AnyObject {
    /// What this layer is, in PyTorch's constructor terms; used by checkpoints and `--help`.
    var spec: LayerSpec { get }

    /// Which implementation `forward` and `backward` run.
    var backend: Backend { get set }

    /// The output shape for an input of `inputShape`, or `nil` if the input does not fit the layer.
    func outputShape(for inputShape: [Int]) -> [Int]?

    func forward(_ input: Tensor<Float>, mode: Mode) -> Tensor<Float>
    func backward(_ dOutput: Tensor<Float>) -> Tensor<Float>

    /// Learnable parameters in checkpoint order (`weight` before `bias`); empty for parameterless layers.
    var parameters: [Parameter] { get }

    /// Non-learnable tensors that belong in a checkpoint (batch norm's running statistics).
    var buffers: [BufferReference] { get }

    /// Non-learnable integers that belong in a checkpoint (batch norm's `num_batches_tracked`).
    var counters: [CounterReference] { get }

    /// Random generators whose state belongs in the training state (dropout's).
    var generators: [GeneratorReference] { get }
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [BufferReference] { [] }
    public var counters: [CounterReference] { [] }
    public var generators: [GeneratorReference] { [] }

    /// The output shape for an input of `inputShape`, from the layer's `spec`.
    public func outputShape(for inputShape: [Int]) -> [Int]? { spec.outputShape(for: inputShape) }
}
