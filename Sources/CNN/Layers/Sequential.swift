//  Sequential.swift
//
//  A chain of layers: forward runs them in order, backward in reverse.

import RealModule

/// `nn.Sequential`: layers applied in order. Layer `i` owns the checkpoint names `"<i>.weight"`, `"<i>.bias"`, ...
public final class Sequential {
    public let layers: [Layer]

    /// A network of `layers`. With `fusing` (the default), fast convolutions absorb a following ReLU and
    /// max pooling (see `fuse`); without it every layer runs on its own, which tests use as the baseline.
    public init(_ layers: [Layer], fusing: Bool = true) {
        self.layers = layers
        self.fusing = fusing
        fuse()
    }

    private let fusing: Bool

    /// Lets each fast Conv2D or BatchNorm2D that is followed by a fast ReLU (and then, possibly, a fast
    /// MaxPool2D) do their work itself, image by image while its output is in cache; see Conv2D. This saves several passes
    /// over the largest activations per step, and the results are bitwise those of the separate layers.
    private func fuse() {
        for (i, layer) in layers.enumerated() {
            guard let fusable = layer as? ReLUPoolFusable else { continue }
            let relu = i + 1 < layers.count ? layers[i + 1] as? ReLU : nil
            let pool = i + 2 < layers.count ? layers[i + 2] as? MaxPool2D : nil
            let fusesReLU = fusing && fusable.backend == .fast && relu?.backend == .fast
            let fusesPool = fusesReLU && pool?.backend == .fast
            fusable.fusesReLU = fusesReLU
            fusable.fusedPool = fusesPool ? pool.map { ($0.kernelSize, $0.stride) } : nil
            relu?.isFusedIntoPrevious = fusesReLU
            pool?.isFusedIntoConvolution = fusesPool
        }
    }

    /// Builds and initialises the network `specs` describes, drawing every random number from `generator`
    /// in layer order (weight before bias), so the same seed gives the same network.
    public convenience init(specs: [LayerSpec], initialization: Initialization = .pytorchDefault,
                            generator: inout RandomGenerator, backend: Backend = .fast) {
        var layers: [Layer] = []
        for spec in specs {
            switch spec {
            case let .conv2d(c, f, k, s, p):
                let conv = Conv2D(inChannels: c, outChannels: f, kernelSize: k, stride: s, padding: p, backend: backend)
                initialization.initialize(weight: conv.weight, bias: conv.bias, fanIn: c * k * k, generator: &generator)
                layers.append(conv)
            case .relu:
                layers.append(ReLU(backend: backend))
            case let .maxPool2d(k, s):
                layers.append(MaxPool2D(kernelSize: k, stride: s, backend: backend))
            case let .avgPool2d(k, s):
                layers.append(AvgPool2D(kernelSize: k, stride: s, backend: backend))
            case let .batchNorm2d(n, eps, momentum):
                layers.append(BatchNorm2D(numFeatures: n, eps: Float(eps), momentum: Float(momentum), backend: backend))
            case let .dropout(p):
                layers.append(Dropout(p: p, generator: RandomGenerator(seed: generator.next()), backend: backend))
            case .flatten:
                layers.append(Flatten())
            case let .linear(d, m):
                let linear = Linear(inFeatures: d, outFeatures: m, backend: backend)
                initialization.initialize(weight: linear.weight, bias: linear.bias, fanIn: d, generator: &generator)
                layers.append(linear)
            }
        }
        self.init(layers)
    }

    /// The layer descriptions, in order.
    public var specs: [LayerSpec] { layers.map(\.spec) }

    /// Every learnable parameter, in checkpoint order: layer by layer, weight before bias.
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// The output shape for `inputShape`, or `nil` if some layer cannot take what the previous one gives.
    public func outputShape(for inputShape: [Int]) -> [Int]? {
        var shape = inputShape
        for layer in layers {
            guard let next = layer.outputShape(for: shape) else { return nil }
            shape = next
        }
        return shape
    }

    public func forward(_ input: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        var x = input
        for layer in layers { x = layer.forward(x, mode: mode) }
        return x
    }

    /// Backpropagates dLoss/dOutput through every layer, accumulating parameter gradients.
    @discardableResult
    public func backward(_ dOutput: Tensor<Float>) -> Tensor<Float> {
        var d = dOutput
        for layer in layers.reversed() { d = layer.backward(d) }
        return d
    }

    /// Whether `backward` must return dLoss/dInput. Training does not need it, and without it the first
    /// layer, when it is a convolution, skips its input-gradient product and col2im.
    public var needsInputGradient = true {
        didSet { (layers.first as? Conv2D)?.computesInputGradient = needsInputGradient }
    }

    /// Sets every parameter gradient to zero.
    public func zeroGradients() {
        for p in parameters { p.gradient.zero() }
    }

    /// Switches every layer to `backend`.
    public func setBackend(_ backend: Backend) {
        for layer in layers {
            switch layer {
            case let l as Conv2D: l.backend = backend
            case let l as ReLU: l.backend = backend
            case let l as MaxPool2D: l.backend = backend
            case let l as AvgPool2D: l.backend = backend
            case let l as BatchNorm2D: l.backend = backend
            case let l as Linear: l.backend = backend
            case let l as Dropout: l.backend = backend
            default: break
            }
        }
        fuse()
    }
}

extension Sequential {
    /// Whether `specs` chain from `input` without a shape mismatch (and without building anything).
    public static func validate(_ specs: [LayerSpec], input: [Int]) -> Bool {
        var shape = input
        for spec in specs {
            guard let next = spec.outputShape(for: shape) else { return false }
            shape = next
        }
        return true
    }
}

extension Sequential {
    /// The first layer of `specs` that cannot train on a batch of shape `input` (which the specs fit), with
    /// why, or nil when every layer can (see `LayerSpec.trainingProblem`).
    public static func trainingProblem(_ specs: [LayerSpec], input: [Int]) -> (layer: Int, message: String)? {
        var shape = input
        for (i, spec) in specs.enumerated() {
            if let problem = spec.trainingProblem(for: shape) { return (i, problem) }
            guard let next = spec.outputShape(for: shape) else { return nil }
            shape = next
        }
        return nil
    }
}
