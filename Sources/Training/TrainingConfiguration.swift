//  TrainingConfiguration.swift
//
//  Everything that defines a training run. Written to config.json (every setting resolved: the recipe's, then
//  the flags'); a resumed run reads it back. Keys missing from an older config.json take the defaults below.

import CNN
import Foundation

/// The learning-rate schedule names accepted by `--schedule`.
public enum ScheduleName: String, CaseIterable, Codable, Sendable {
    case constant, step, exponential, cosine, onecycle
}

/// A training run's settings, as given on the command line.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// The recipe the settings started from (`Recipe`); flags given on the command line override it.
    public var recipe = "default"
    public var data = "Data"
    public var arch = "default"
    public var epochs = 3
    public var batchSize = 64
    public var optimizer = OptimizerKind.sgd
    public var lr = 0.05
    /// SGD's momentum; for Adam and AdamW, β₁.
    public var momentum = 0.9
    /// Adam's β₂ and ε.
    public var beta2 = 0.999
    public var adamEpsilon = 1e-8
    public var nesterov = false
    public var weightDecay = 5e-4
    public var schedule = ScheduleName.cosine
    /// For `step`: multiply the rate by `stepGamma` every `stepEpochs` epochs; for `exponential`, every epoch.
    public var stepEpochs = 1
    public var stepGamma = 0.5
    /// Linear warm-up length in optimizer steps, cut to a tenth of the run; not used by `onecycle`.
    public var warmupSteps = 100
    /// For `onecycle` (PyTorch's OneCycleLR): the rising fraction, η_max / η_initial, η_initial / η_final, and
    /// whether momentum (Adam: β₁) cycles between 0.95 and 0.85 against the rate.
    public var pctStart = 0.3
    public var divFactor = 25.0
    public var finalDivFactor = 1e4
    public var cycleMomentum = true
    /// Training images held out for validation (stratified, from the seed); 0 for none.
    public var validation = 0
    /// PyTorch's `label_smoothing` ε for the training loss.
    public var labelSmoothing = 0.0
    /// The decay of the moving average of the weights evaluated as a second model; 0 for none.
    public var ema = 0.0
    /// Augmentation (see Augmentation.swift): largest shift in pixels, rotation in degrees, relative scale, and the
    /// elastic distortion's α and σ in pixels; all 0 is none.
    public var shift = 0.0
    public var rotate = 0.0
    public var scale = 0.0
    public var elasticAlpha = 0.0
    public var elasticSigma = 0.0
    public var initialization = "pytorch"
    public var seed: UInt64 = 1
    public var threads = 2
    public var limit: Int? = nil
    public var mean = 0.1307
    public var std = 0.3081
    public var out = ""
    public var checkpointEvery: Int? = nil
    /// Write a steps.jsonl line every this many steps (`--log-every`); nil for none.
    public var logEvery: Int? = nil
    /// The classes' names in label order (`--classes FILE`, see ClassNames.swift); nil: named by their digits.
    public var classNames: [String]? = nil

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.recipe, &recipe); try read(.data, &data); try read(.arch, &arch); try read(.epochs, &epochs)
        try read(.batchSize, &batchSize); try read(.optimizer, &optimizer); try read(.lr, &lr)
        try read(.momentum, &momentum); try read(.beta2, &beta2); try read(.adamEpsilon, &adamEpsilon)
        try read(.nesterov, &nesterov); try read(.weightDecay, &weightDecay); try read(.schedule, &schedule)
        try read(.stepEpochs, &stepEpochs); try read(.stepGamma, &stepGamma); try read(.warmupSteps, &warmupSteps)
        try read(.pctStart, &pctStart); try read(.divFactor, &divFactor); try read(.finalDivFactor, &finalDivFactor)
        try read(.cycleMomentum, &cycleMomentum); try read(.validation, &validation)
        try read(.labelSmoothing, &labelSmoothing); try read(.ema, &ema); try read(.shift, &shift)
        try read(.rotate, &rotate); try read(.scale, &scale); try read(.elasticAlpha, &elasticAlpha)
        try read(.elasticSigma, &elasticSigma); try read(.initialization, &initialization); try read(.seed, &seed)
        try read(.threads, &threads); try read(.mean, &mean); try read(.std, &std); try read(.out, &out)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery)
        logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery)
        classNames = try c.decodeIfPresent([String].self, forKey: .classNames)
    }

    /// The problems with these settings, one line each; empty when they are usable.
    public func problems() -> [String] {
        var p: [String] = []
        if !(lr.isFinite && lr > 0) { p.append("--lr must be a finite number > 0 (got \(lr))") }
        if batchSize < 1 { p.append("--batch-size must be at least 1 (got \(batchSize))") }
        if epochs < 1 { p.append("--epochs must be at least 1 (got \(epochs))") }
        if !(momentum.isFinite && momentum >= 0 && momentum < 1) { p.append("--momentum must be in [0, 1) (got \(momentum))") }
        if nesterov && momentum == 0 { p.append("--nesterov needs --momentum > 0") }
        if nesterov && optimizer != .sgd { p.append("--nesterov is for --optimizer sgd only") }
        if !(beta2.isFinite && beta2 >= 0 && beta2 < 1) { p.append("--beta2 must be in [0, 1) (got \(beta2))") }
        if !(adamEpsilon.isFinite && adamEpsilon > 0) { p.append("--adam-eps must be > 0 (got \(adamEpsilon))") }
        if !(pctStart.isFinite && pctStart > 0 && pctStart < 1) { p.append("--pct-start must be in (0, 1) (got \(pctStart))") }
        if !(divFactor.isFinite && divFactor >= 1) { p.append("--div-factor must be ≥ 1 (got \(divFactor))") }
        if !(finalDivFactor.isFinite && finalDivFactor >= 1) { p.append("--final-div-factor must be ≥ 1 (got \(finalDivFactor))") }
        if validation < 0 { p.append("--validation must be ≥ 0 (got \(validation))") }
        if let l = limit, validation >= l { p.append("--validation \(validation) leaves no training images of --limit \(l)") }
        if !(labelSmoothing.isFinite && labelSmoothing >= 0 && labelSmoothing < 1) {
            p.append("--label-smoothing must be in [0, 1) (got \(labelSmoothing))")
        }
        if !(ema.isFinite && ema >= 0 && ema < 1) { p.append("--ema must be a decay in (0, 1), or 0 for none (got \(ema))") }
        if !(shift.isFinite && shift >= 0 && shift <= 100) { p.append("--shift must be between 0 and 100 pixels (got \(shift))") }
        if !(rotate.isFinite && rotate >= 0 && rotate <= 180) { p.append("--rotate must be between 0 and 180 degrees (got \(rotate))") }
        if !(scale.isFinite && scale >= 0 && scale < 1) { p.append("--scale must be in [0, 1) (got \(scale))") }
        if !(elasticAlpha.isFinite && elasticAlpha >= 0 && elasticAlpha <= 1000) || !(elasticSigma.isFinite && elasticSigma >= 0 && elasticSigma <= 100)
            || (elasticAlpha > 0) != (elasticSigma > 0) {
            p.append("--elastic must be ALPHA,SIGMA with 0 < ALPHA ≤ 1000 and 0 < SIGMA ≤ 100 pixels (got \(elasticAlpha),\(elasticSigma))")
        }
        if Recipe.named(recipe) == nil {
            p.append("--recipe must be one of \(Recipe.all.map(\.name).joined(separator: ", ")) (got \(recipe))")
        }
        if !(weightDecay.isFinite && weightDecay >= 0) { p.append("--weight-decay must be ≥ 0 (got \(weightDecay))") }
        if threads < 1 || threads > 256 { p.append("--threads must be between 1 and 256 (got \(threads))") }
        if let l = limit, l < 1 { p.append("--limit must be at least 1 (got \(l))") }
        if stepEpochs < 1 { p.append("--step-epochs must be at least 1 (got \(stepEpochs))") }
        if !(stepGamma.isFinite && stepGamma > 0) { p.append("--step-gamma must be > 0 (got \(stepGamma))") }
        if warmupSteps < 0 { p.append("--warmup-steps must be ≥ 0 (got \(warmupSteps))") }
        if !(std.isFinite && std > 0) || !mean.isFinite { p.append("--mean must be finite and --std > 0") }
        if Initialization(rawValue: initialization) == nil {
            p.append("--init must be one of \(Initialization.allCases.map(\.rawValue).joined(separator: ", ")) (got \(initialization))")
        }
        if let c = checkpointEvery, c < 1 { p.append("--checkpoint-every must be at least 1 (got \(c))") }
        if let n = logEvery, n < 1 { p.append("--log-every must be at least 1 (got \(n))") }
        if let names = classNames, names.count != Architecture.classes {
            p.append("--classes: \(names.count) names, but the labels have \(Architecture.classes) classes and the network \(Architecture.classes) outputs")
        }
        return p
    }

    /// The learning-rate schedule these settings describe.
    public var learningRateSchedule: LearningRateSchedule {
        switch schedule {
        case .constant: return .constant
        case .step: return .step(epochs: stepEpochs, gamma: stepGamma)
        case .exponential: return .exponential(gamma: stepGamma)
        case .cosine: return .cosine(minimum: 0)
        case .onecycle:
            return .oneCycle(OneCycle(pctStart: pctStart, divFactor: divFactor, finalDivFactor: finalDivFactor,
                                      cycleMomentum: cycleMomentum))
        }
    }

    /// The augmentation these settings describe.
    public var augmentation: Augmentation {
        Augmentation(shift: shift, rotate: rotate, scale: scale, elasticAlpha: elasticAlpha, elasticSigma: elasticSigma)
    }

    /// The optimizer these settings describe, over `parameters`.
    public func makeOptimizer(_ parameters: [Parameter]) -> Optimizer {
        switch optimizer {
        case .sgd:
            return SGD(parameters: parameters, learningRate: Float(lr), momentum: Float(momentum), nesterov: nesterov,
                       weightDecay: Float(weightDecay))
        case .adam, .adamw:
            return Adam(parameters: parameters, learningRate: Float(lr), beta1: momentum, beta2: beta2,
                        epsilon: Float(adamEpsilon), weightDecay: Float(weightDecay),
                        weightDecayMode: optimizer == .adam ? .l2 : .decoupled)
        }
    }
}
