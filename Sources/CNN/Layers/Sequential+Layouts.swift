//  Sequential+Layouts.swift
//
//  The one place that decides each execution step's input and output layout (ActivationLayout.swift), from
//  the network input's shape and the plans the steps take for the shapes they will see.
//
//  Evaluation (`evaluationLayouts`, over `evaluationSteps`):
//      takes channels last   a fast convolution step (a Conv2D or FoldedConvolution head) whose evaluation
//                            plan on its input is F(4×4)
//      gives channels last   such a step whose epilogue the outputs take channels last: no pooling, or a ReLU
//                            and 2×2 pooling (a separate pooling is channels first)
//      Step i's output, and step i + 1's input, are channels last where step i gives it and step i + 1 takes it.
//      Plans do not depend on N in evaluation, so chunks of any size share these layouts.
//  Training (`trainingLayouts`, over `steps`):
//      a convolution step    a fast Conv2D step whose training plan on its input is F(4×4) takes channels
//                            last; without an epilogue it also gives it
//      a batch norm step     a fast BatchNorm2D step takes channels last when it runs its channels-last
//                            kernels on a channels-last input (`BatchNorm2D.path`), and gives either layout
//      Channels last flows from a convolution step that gives it into the batch norm step after it that takes
//      it, and from a batch norm step whose input came channels last into the convolution step after it that
//      takes it; a batch norm step followed by anything else gives channels first. The backward runs on the
//      same layouts: each step's dy comes in its output's layout, its dx leaves in its input's.
//  Everything else is channels first: the network's input and output, every step from one whose input or
//  output shape does not fit, and every step without `channelsLastHandoff`.

extension ExecutionStep {
    /// Whether this evaluation step runs F(4×4) on an input of `shape` (N, C, H, W) (a finite one), and so
    /// can take it channels last; and whether it can also give its output channels last (F(4×4) outputs
    /// channels last, which a ReLU and a 2×2 pooling keep; a separate pooling is channels first).
    func channelsLast(forInput shape: [Int]) -> (takes: Bool, gives: Bool) {
        guard let convolution = head as? ChannelsLastConvolution,
              case .winograd4x4? = convolution.evaluationPlan(forInput: shape, epilogue: epilogue ?? .none)
        else { return (false, false) }
        let e = epilogue ?? .none
        return (true, e.pool == nil || (e.relu && e.pools2x2))
    }

    /// How this training step can join a channels-last handoff on an input of `shape` (N, C, H, W):
    /// `convolutionTakes` when it is a fast convolution running F(4×4) on it (so x can come channels last),
    /// `convolutionGives` when moreover it has no epilogue (so y can leave channels last), `batchNormTakes`
    /// when it is a fast batch norm that runs its channels-last kernels on a channels-last input (and gives
    /// either layout).
    func trainingChannelsLast(forInput shape: [Int]) -> TrainingHandoff {
        let e = epilogue ?? .none
        if let batchNorm = head as? BatchNorm2D {
            let path = batchNorm.path(for: StepLayout(input: .channelsLast, output: .channelsFirst), epilogue: e)
            return TrainingHandoff(batchNormTakes: path == .channelsLast(output: .channelsFirst))
        }
        guard let convolution = head as? Conv2D, convolution.backend == .fast,
              case .winograd4x4? = try? convolution.plan(forInput: shape, mode: .training, epilogue: e)
        else { return TrainingHandoff() }
        return TrainingHandoff(convolutionTakes: true, convolutionGives: epilogue == nil)
    }

    /// See `trainingChannelsLast(forInput:)`.
    struct TrainingHandoff {
        var convolutionTakes = false, convolutionGives = false, batchNormTakes = false
    }
}

extension Sequential {
    /// The layout of each training step's input and output for a network input of `shape` (N, …), by the
    /// training rules at the top of this file. All channels first without `channelsLastHandoff`.
    public func trainingLayouts(forInput shape: [Int]) -> [StepLayout] {
        channelsLastHandoff ? Self.trainingLayouts(steps, layers: layers, input: shape)
            : Array(repeating: .channelsFirst, count: steps.count)
    }

    /// See the instance method; steps after one whose input shape does not fit stay channels first.
    static func trainingLayouts(_ steps: [ExecutionStep], layers: [Layer], input: [Int]) -> [StepLayout] {
        let joins = perStep(steps, layers: layers, input: input, otherwise: ExecutionStep.TrainingHandoff()) {
            $0.trainingChannelsLast(forInput: $1)
        }
        return chained(count: steps.count) { i, input in
            let next = i + 1 < steps.count ? joins[i + 1] : ExecutionStep.TrainingHandoff()
            return (joins[i].convolutionGives && next.batchNormTakes)
                || (joins[i].batchNormTakes && input == .channelsLast && next.convolutionTakes)
        }
    }

    /// The layout of each evaluation step's input and output for a network input of `shape` (N, …), by the
    /// evaluation rules at the top of this file: what the evaluation rewrite decides once the shapes are
    /// known (`evaluationSteps` are built without them). All channels first without `channelsLastHandoff`.
    public func evaluationLayouts(forInput shape: [Int]) -> [StepLayout] {
        channelsLastHandoff ? Self.evaluationLayouts(evaluationSteps, layers: layers, input: shape)
            : Array(repeating: .channelsFirst, count: evaluationSteps.count)
    }

    /// See the instance method; steps after one whose input shape does not fit stay channels first.
    static func evaluationLayouts(_ steps: [ExecutionStep], layers: [Layer], input: [Int]) -> [StepLayout] {
        let channelsLast = perStep(steps, layers: layers, input: input, otherwise: (takes: false, gives: false)) {
            $0.channelsLast(forInput: $1)
        }
        return chained(count: steps.count) { i, _ in
            i + 1 < steps.count && channelsLast[i].gives && channelsLast[i + 1].takes
        }
    }

    /// `value(step, its input's shape)` for each of `steps`, following a network input of `input` through
    /// `layers`; `otherwise` for a step whose input or output shape does not fit, and for every step after it.
    static func perStep<Value>(_ steps: [ExecutionStep], layers: [Layer], input: [Int], otherwise: Value,
                               _ value: (ExecutionStep, [Int]) -> Value) -> [Value] {
        var shape: [Int]? = input
        var values: [Value] = []
        for step in steps {
            let stepInput = shape
            for i in step.layers { shape = shape.flatMap { layers[i].outputShape(for: $0) } }
            if let stepInput, shape != nil { values.append(value(step, stepInput)) } else { values.append(otherwise) }
        }
        return values
    }

    /// `count` step layouts, each step's input the previous step's output (the first's channels first):
    /// step i's output is channels last where `handsOn(i, step i's input layout)`.
    static func chained(count: Int, handsOn: (Int, ActivationLayout) -> Bool) -> [StepLayout] {
        var layouts: [StepLayout] = []
        var input = ActivationLayout.channelsFirst
        for i in 0..<count {
            let output: ActivationLayout = handsOn(i, input) ? .channelsLast : .channelsFirst
            layouts.append(StepLayout(input: input, output: output))
            input = output
        }
        return layouts
    }
}
