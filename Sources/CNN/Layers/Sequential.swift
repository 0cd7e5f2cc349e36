//  Sequential.swift
//
//  A chain of layers: forward runs them in order, backward in reverse.

import RealModule

/// One step of a network's execution: a layer alone, or a Conv2D or BatchNorm2D that applies the ReLU (and
/// max pooling) after it itself, as one pass over its output.
public struct ExecutionStep: CustomStringConvertible {
    /// The layers this step computes, by index: one, or the fusing layer and the two or three it absorbs.
    public let layers: Range<Int>
    /// The first layer's work: itself, or the same layer given `epilogue`.
    let head: Layer
    /// What `head` applies to its output; nil for a layer alone.
    public let epilogue: Epilogue?
    let fusing: EpilogueFusing?

    func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        if let fusing, let epilogue { return fusing.forward(x, mode: mode, epilogue: epilogue) }
        return head.forward(x, mode: mode)
    }

    /// The evaluation forward with x and the output in `layout`, which only a convolution step's head takes
    /// other than channels first (see `Sequential.evaluationLayouts`); given `destination`, the output is
    /// written there and an empty tensor returned (`writesIntoDestination`).
    func forward(_ x: Tensor<Float>, mode: Mode, layout: StepLayout,
                 into destination: UnsafeMutablePointer<Float>? = nil) -> Tensor<Float> {
        if layout == .channelsFirst && destination == nil { return forward(x, mode: mode) }
        guard let convolution = head as? ChannelsLastConvolution else {
            preconditionFailure("\(self): only a fast convolution takes or gives channels last or writes into a destination")
        }
        return convolution.forward(x, mode: mode, epilogue: epilogue ?? .none, layout: layout, into: destination)
    }

    /// Whether `forward(_:mode:layout:into:)` can write the output into a destination: a fast convolution's.
    var writesIntoDestination: Bool { (head as? ChannelsLastConvolution)?.backend == .fast }

    /// The training forward with x and the output in `layout` (see `Sequential.trainingLayouts`): only a fast
    /// Conv2D or BatchNorm2D head takes or gives channels last. The backward after it takes dy in
    /// `layout.output` and returns dx in `layout.input` (each head keeps its forward's layouts).
    func trainingForward(_ x: Tensor<Float>, layout: StepLayout) -> Tensor<Float> {
        if layout == .channelsFirst { return forward(x, mode: .training) }
        if let batchNorm = head as? BatchNorm2D {
            return batchNorm.forward(x, mode: .training, epilogue: epilogue ?? .none, layout: layout)
        }
        guard let convolution = head as? Conv2D else {
            preconditionFailure("\(self): only a fast convolution or batch norm takes or gives channels last in training")
        }
        return convolution.forward(x, mode: .training, epilogue: epilogue ?? .none, layout: layout)
    }

    func backward(_ dy: Tensor<Float>) -> Tensor<Float> { head.backward(dy) }

    /// The head's spec and what it absorbs, e.g. "conv2d(1→6, k5, s1, p2) + relu + maxpool2d(k2, s2)", or
    /// "conv2d(1→6, k5, s1, p0) + batchnorm2d(6), folded + relu" for a folded evaluation step.
    public var description: String {
        let name = (head as? FoldedConvolution).map { "\($0.convolution.spec.description) + \($0.batchNorm.spec.description), folded" }
        return (name ?? head.spec.description) + (epilogue?.description ?? "")
    }
}

/// `nn.Sequential`: layers applied in order. Layer `i` owns the checkpoint names `"<i>.weight"`, `"<i>.bias"`, ...
///
/// The layers run as `steps`, a rewrite of the layer list built once (and again when the backend changes):
/// a fast Conv2D or BatchNorm2D followed by a fast ReLU, and possibly then a fast MaxPool2D, becomes one step
/// that applies them as its epilogue, image by image while its output is in cache. The results are bitwise
/// those of the layers one by one (the direct convolution, which exists only fused, agrees to rounding).
/// No layer object is changed by the rewrite; the absorbed layers are simply not run.
public final class Sequential {
    public let layers: [Layer]
    /// The layers as they run; see the type's description.
    public private(set) var steps: [ExecutionStep] = []
    /// The layers as they run in evaluation: `steps` rewritten once more, so that a fast Conv2D step without
    /// an epilogue followed by a fast BatchNorm2D step is one `FoldedConvolution` step carrying the batch
    /// norm's epilogue (the same outputs up to rounding; see FoldedConvolution). Training runs `steps`.
    public private(set) var evaluationSteps: [ExecutionStep] = []

    /// A network of `layers`. With `fusing` (the default), steps fuse epilogues (see above); without it every
    /// layer is a step of its own, which tests use as the baseline.
    public init(_ layers: [Layer], fusing: Bool = true) {
        self.layers = layers
        self.fusing = fusing
        steps = Self.steps(layers, fusing: fusing)
        evaluationSteps = Self.evaluationSteps(steps, fusing: fusing)
    }

    let fusing: Bool
    /// Images per evaluation chunk (see Sequential+Evaluation.swift); nil chooses by the activations' size.
    public var evaluationChunk: Int? = nil
    /// The copies of this network that evaluation's workers 1, 2, … run (Sequential+Evaluation.swift).
    var replicas: [Sequential] = []
    /// A worker's chunk of the evaluation batch.
    var chunkInput = Tensor<Float>(shape: [0])
    /// The evaluation head's output for the whole batch, the chunks' outputs side by side.
    var headOutput = Tensor<Float>(shape: [0])

    /// Whether evaluation hands activations channels last between F(4×4) steps (`evaluationLayouts`), and
    /// training through the batch norm between them (`trainingLayouts`; Sequential+Layouts.swift); tests
    /// switch it off to compare.
    var channelsLastHandoff = true

    /// The evaluation rewrite of `steps` (see `evaluationSteps`); none without fusing.
    static func evaluationSteps(_ steps: [ExecutionStep], fusing: Bool) -> [ExecutionStep] {
        guard fusing else { return steps }
        var folded: [ExecutionStep] = []
        var j = 0
        while j < steps.count {
            if j + 1 < steps.count, steps[j].epilogue == nil, let conv = steps[j].head as? Conv2D, conv.backend == .fast,
               let bn = steps[j + 1].head as? BatchNorm2D, bn.backend == .fast {
                let layer = FoldedConvolution(conv, bn)
                folded.append(ExecutionStep(layers: steps[j].layers.lowerBound..<steps[j + 1].layers.upperBound,
                                            head: layer, epilogue: steps[j + 1].epilogue, fusing: layer))
                j += 2
                continue
            }
            folded.append(steps[j])
            j += 1
        }
        return folded
    }

    /// The rewrite: layer → ReLU [→ MaxPool2D] becomes one step wherever the layer fuses an epilogue and all
    /// of them run on the fast backend.
    static func steps(_ layers: [Layer], fusing: Bool) -> [ExecutionStep] {
        var steps: [ExecutionStep] = []
        var i = 0
        while i < layers.count {
            let layer = layers[i]
            if fusing, let fusable = layer as? EpilogueFusing, fusable.backend == .fast,
               i + 1 < layers.count, layers[i + 1] is ReLU, layers[i + 1].backend == .fast {
                if i + 2 < layers.count, let pool = layers[i + 2] as? MaxPool2D, pool.backend == .fast {
                    steps.append(ExecutionStep(layers: i..<(i + 3), head: layer,
                                               epilogue: Epilogue(relu: true, pool: (pool.kernelSize, pool.stride)), fusing: fusable))
                    i += 3
                } else {
                    steps.append(ExecutionStep(layers: i..<(i + 2), head: layer, epilogue: Epilogue(relu: true), fusing: fusable))
                    i += 2
                }
                continue
            }
            steps.append(ExecutionStep(layers: i..<(i + 1), head: layer, epilogue: nil, fusing: nil))
            i += 1
        }
        return steps
    }

    /// Builds and initialises the network `specs` describes, drawing every random number from `generator`
    /// in layer order (weight before bias), so the same seed gives the same network.
    public convenience init(specs: [LayerSpec], initialization: Initialization = .pytorchDefault,
                            generator: inout RandomGenerator, backend: Backend = .fast) {
        var layers: [Layer] = []
        for spec in specs {
            let (layer, parameters) = Self.layer(spec, backend: backend, generator: &generator)
            if let p = parameters {
                initialization.initialize(weight: p.weight, bias: p.bias, fanIn: p.fanIn, generator: &generator)
            }
            layers.append(layer)
        }
        self.init(layers)
    }

    /// A layer of `spec` on `backend` with zero parameters (dropout's generator seeded from `generator`), and
    /// its weight and bias with their fan-in when it has them, for the initialisation.
    static func layer(_ spec: LayerSpec, backend: Backend, generator: inout RandomGenerator)
        -> (layer: Layer, parameters: (weight: Parameter, bias: Parameter, fanIn: Int)?) {
        switch spec {
        case let .conv2d(c, f, k, s, p):
            let conv = Conv2D(inChannels: c, outChannels: f, kernelSize: k, stride: s, padding: p, backend: backend)
            return (conv, (conv.weight, conv.bias, c * k * k))
        case .relu:
            return (ReLU(backend: backend), nil)
        case let .maxPool2d(k, s):
            return (MaxPool2D(kernelSize: k, stride: s, backend: backend), nil)
        case let .avgPool2d(k, s):
            return (AvgPool2D(kernelSize: k, stride: s, backend: backend), nil)
        case let .batchNorm2d(n, eps, momentum):
            return (BatchNorm2D(numFeatures: n, eps: Float(eps), momentum: Float(momentum), backend: backend), nil)
        case let .dropout(p):
            return (Dropout(p: p, generator: RandomGenerator(seed: generator.next()), backend: backend), nil)
        case .flatten:
            return (Flatten(backend: backend), nil)
        case let .linear(d, m):
            let linear = Linear(inFeatures: d, outFeatures: m, backend: backend)
            return (linear, (linear.weight, linear.bias, d))
        }
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

    /// The network's output for `input` (N, …). Evaluation runs `evaluationSteps` in chunks of images
    /// across threads (Sequential+Evaluation.swift); training runs `steps` on the whole batch.
    public func forward(_ input: Tensor<Float>, mode: Mode) -> Tensor<Float> {
        if mode == .evaluation { return evaluate(input) }
        var x = input
        for (step, layout) in zip(steps, trainingLayouts(forInput: input.shape)) { x = step.trainingForward(x, layout: layout) }
        return x
    }

    /// Backpropagates dLoss/dOutput through every step, accumulating parameter gradients.
    @discardableResult
    public func backward(_ dOutput: Tensor<Float>) -> Tensor<Float> {
        var d = dOutput
        for step in steps.reversed() { d = step.backward(d) }
        return d
    }

    /// Step `i`'s forward alone (for per-step timing): its input is step i − 1's output; in training, in
    /// `layout` (step i's of `trainingLayouts`, channels first by default).
    public func forward(step i: Int, _ x: Tensor<Float>, mode: Mode, layout: StepLayout = .channelsFirst) -> Tensor<Float> {
        mode == .training ? steps[i].trainingForward(x, layout: layout) : steps[i].forward(x, mode: mode)
    }

    /// Step `i`'s backward alone, after its forward and the backward of every later step.
    public func backward(step i: Int, _ dy: Tensor<Float>) -> Tensor<Float> { steps[i].backward(dy) }

    /// Whether `backward` must return dLoss/dInput. Training does not need it, and without it the first
    /// layer, when it is a convolution, skips its input-gradient product and col2im.
    public var needsInputGradient = true {
        didSet { (layers.first as? Conv2D)?.computesInputGradient = needsInputGradient }
    }

    /// Sets every parameter gradient to zero.
    public func zeroGradients() {
        for p in parameters { p.gradient.zero() }
    }

    /// Switches every layer to `backend`, and rewrites the steps for it (only fast layers fuse).
    public func setBackend(_ backend: Backend) {
        for layer in layers { layer.backend = backend }
        replicas = []
        steps = Self.steps(layers, fusing: fusing)
        evaluationSteps = Self.evaluationSteps(steps, fusing: fusing)
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
