//  Trainer.swift
//
//  The training loop: shuffle from the seed, minibatch steps of the chosen optimizer over the fast layers, evaluate every epoch,
//  write checkpoints, metrics and the final model.
//
//  Run directory:
//    config.json                       every setting, the resolved architecture, seed and version (BuildInfo.version)
//    metrics.jsonl, metrics.csv        one row per epoch
//    steps.jsonl                       with --log-every N: one row every N steps
//    checkpoints/epoch-0001.safetensors (+ .state.safetensors)   after every epoch
//    checkpoints/step-00001234.safetensors (+ .state.safetensors) every --checkpoint-every steps
//    model.safetensors                 the final model
//    model-best.safetensors            with --validation: the model of the epoch of highest validation accuracy
//    model-ema.safetensors             with --ema: the moving average of the weights at the end

import BuildInfo
import CNN
import Foundation
import IDX
import SafeTensors

/// What a run reports while it trains, for a front end to show.
public enum TrainingEvent {
    case started(network: Sequential, train: Int, test: Int, directory: String, resumedFrom: String?)
    case progress(epoch: Int, step: Int, steps: Int, loss: Double, accuracy: Double, imagesPerSecond: Double, eta: Double)
    case epochFinished(EpochMetrics)
    case checkpointWritten(String)
    case targetReached(accuracy: Double, seconds: Double)
    /// Something the user should know that does not stop the run (a warm-up cut, a run extended), one line.
    case notice(String)
}

/// How a run ended.
public struct TrainingSummary {
    public let metrics: [EpochMetrics]
    public let directory: String
    public let modelPath: String
    public let seconds: Double
    /// Set when a stop was requested (signal) before the last epoch; the run can be resumed.
    public let interrupted: Bool
    /// The newest checkpoint written (or resumed from): where `--resume` starts.
    public var lastCheckpoint: String? = nil

    /// The epoch of highest validation accuracy (the first of equals); nil without validation, since the test
    /// set is never used to choose.
    public var best: EpochMetrics? {
        metrics.reduce(nil as EpochMetrics?) { best, m in
            guard let v = m.valAccuracy else { return best }
            return v > (best?.valAccuracy ?? -1) ? m : best
        }
    }
}

public final class Trainer {
    public let configuration: TrainingConfiguration
    public let network: Sequential
    public let train: Dataset
    public let test: Dataset
    /// The held-out training images (`--validation`), never trained on.
    public let validation: Dataset?
    public let directory: String
    /// Stop once the validation accuracy reaches this fraction; `run()` refuses it without validation images.
    public var targetAccuracy: Double?
    /// Polled after every step; when it returns true the run writes a checkpoint and returns.
    public var shouldStop: () -> Bool = { false }
    public var onEvent: (TrainingEvent) -> Void = { _ in }
    /// Where the wall time went, from the process's start (see `RunTimings`).
    public let timings: RunTimings

    private let optimizer: Optimizer
    /// The moving average of the weights (`--ema`).
    private let average: ExponentialMovingAverage?
    private var state: TrainingState
    private var resumedFrom: String?
    /// The newest checkpoint written or resumed from, all of whose weights are finite; named when a run diverges.
    private var lastGoodCheckpoint: String?
    /// The learning rate of the step taken last, for the divergence message.
    private var currentRate = 0.0
    private let metricsLog: MetricsLog
    /// steps.jsonl, with `--log-every`.
    private let stepLog: StepLog?

    /// Notices from setting up the run, sent as `.notice` events when it starts.
    private var notices: [String] = []

    /// Loads the data and builds (or restores) the network. Checks everything before writing anything.
    ///
    /// With `resume`, every setting comes from the run's config.json but the threads of `configuration`;
    /// `extendTo` (more epochs than the run was started with) makes the rest of the run follow the schedule
    /// of a run of that many epochs, and is written back to config.json.
    public init(configuration: TrainingConfiguration, resume: String? = nil, extendTo epochs: Int? = nil) throws {
        var config = configuration
        var extendedFrom: Int?
        if let dir = resume {
            config = try Self.readConfiguration(directory: dir)
            config.out = dir
            config.threads = configuration.threads
            if let n = epochs, n != config.epochs {
                guard n > config.epochs else {
                    throw RunError.invalidConfiguration(["--epochs \(n) with --resume: the run in \(dir) has \(config.epochs) epochs, and a resumed run can only be extended"])
                }
                extendedFrom = config.epochs
                config.epochs = n
            }
        }
        let problems = config.problems()
        guard problems.isEmpty else { throw RunError.invalidConfiguration(problems) }
        self.configuration = config
        Parallel.setThreads(config.threads)
        let timings = RunTimings()
        self.timings = timings

        let source = DataSource(directory: config.data, mean: config.mean, std: config.std, limit: config.limit,
                                validation: config.validation, seed: config.seed)
        (train, validation, test) = try timings.measure(.dataLoad) { try source.loadForTraining() }
        let specs = try Architecture.resolve(config.arch, input: train.input)
        try Architecture.checkTrainable(specs, input: train.input, examples: train.count, batchSize: config.batchSize)
        var generator = RandomGenerator(seed: config.seed)
        let initialization = Initialization(rawValue: config.initialization) ?? .pytorchDefault
        network = Sequential(specs: specs, initialization: initialization, generator: &generator)
        network.needsInputGradient = false
        optimizer = config.makeOptimizer(network.parameters)
        if config.ema > 0 {
            var unused = RandomGenerator(seed: 0)
            average = ExponentialMovingAverage(of: network, shadow: Sequential(specs: specs, generator: &unused), decay: Float(config.ema))
        } else {
            average = nil
        }
        state = TrainingState(epoch: 0, stepInEpoch: 0, globalStep: 0, optimizer: config.optimizer,
                              optimizerState: optimizer.state, dropoutGenerators: [])
        directory = config.out
        metricsLog = MetricsLog(directory: directory, columns: EpochMetrics.columns(validation: config.validation > 0, ema: config.ema > 0))
        stepLog = config.logEvery == nil ? nil : StepLog(directory: directory)

        if let dir = resume {
            try restore(from: dir)
            if let from = extendedFrom {
                try writeConfiguration(specs: specs)
                notices.append("extending the run from \(from) to \(config.epochs) epochs: from step \(state.globalStep) on, the schedule is the one a \(config.epochs)-epoch run has")
            }
        } else {
            // A fresh run never overwrites another run's config.json, metrics and checkpoints.
            guard !FileManager.default.fileExists(atPath: directory + "/config.json") else {
                throw RunError.runExists(directory)
            }
            try timings.measure(.writing) {
                try AtomicWrite.makeDirectory(directory + "/checkpoints")
                try writeConfiguration(specs: specs)
                try metricsLog.start()
                try stepLog?.start()
            }
        }
    }

    // MARK: The loop

    public var stepsPerEpoch: Int { (train.count + configuration.batchSize - 1) / configuration.batchSize }

    /// Trains until the last epoch, the target accuracy, or a stop request.
    public func run() throws -> TrainingSummary {
        let config = configuration
        let plan = LearningRatePlan(base: config.lr, schedule: config.learningRateSchedule, warmupSteps: config.warmupSteps,
                                    stepsPerEpoch: stepsPerEpoch, totalSteps: stepsPerEpoch * config.epochs)
        onEvent(.started(network: network, train: train.count, test: test.count, directory: directory, resumedFrom: resumedFrom))
        for notice in notices { onEvent(.notice(notice)) }
        if targetAccuracy != nil, validation == nil {
            throw RunError.invalidConfiguration(["--target-accuracy: needs a run with --validation N; the test set reports results, it never decides when a run stops"])
        }
        if plan.warmupSteps < plan.requestedWarmupSteps {
            onEvent(.notice("the warm-up of \(plan.requestedWarmupSteps) steps is cut to \(plan.warmupSteps), a tenth of the run's \(plan.totalSteps) steps"))
        }
        let loss = SoftmaxCrossEntropy(labelSmoothing: Float(config.labelSmoothing))
        let pipeline = config.augmentation.isIdentity ? nil : BatchPipeline(dataset: train, augmentation: config.augmentation, seed: config.seed)
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        let runStart = Date()
        let elapsedBefore = state.elapsedSeconds
        var interrupted = false
        timings.enter(.training)
        defer { timings.enter(.writing) }

        epochs: while state.epoch < config.epochs {
            let epoch = state.epoch + 1
            var shuffle = RandomGenerator(seed: Self.shuffleSeed(config.seed, epoch: epoch))
            let order = train.shuffledIndices(using: &shuffle)
            let epochStart = Date().addingTimeInterval(-state.partialSeconds)
            // The rate of the epoch's last step taken so far: a run resumed after that step has no step left
            // to take in this epoch, and must still log the rate the uninterrupted run logged.
            var lr = plan.rate(atStep: state.stepInEpoch > 0 ? state.globalStep - 1 : state.globalStep)
            while state.stepInEpoch < stepsPerEpoch {
                let start = state.stepInEpoch * config.batchSize
                let batch = order[start..<min(train.count, start + config.batchSize)]
                if let p = pipeline {
                    p.batch(epoch: epoch, order: order, start: start, count: batch.count, into: &x, labels: &y)
                } else {
                    train.batch(batch, into: &x, labels: &y)
                }
                lr = plan.rate(atStep: state.globalStep)
                currentRate = lr
                optimizer.learningRate = Float(lr)
                if let momentum = plan.momentum(atStep: state.globalStep) { optimizer.scheduledMomentum = momentum }
                let logits = network.forward(x, mode: .training)
                let r = loss(logits: logits, labels: y)
                guard r.loss.isFinite else {
                    throw RunError.diverged(epoch: epoch, step: state.globalStep + 1, lr: lr, checkpoint: lastGoodCheckpoint)
                }
                network.backward(r.dLogits)
                optimizer.step()
                average?.update()
                state.globalStep += 1
                state.stepInEpoch += 1
                state.partialLoss += Double(r.loss) * Double(y.count)
                state.partialCorrect += r.correct
                state.partialSeen += y.count
                let seconds = Date().timeIntervalSince(epochStart)
                state.partialSeconds = seconds
                let ips = Double(state.partialSeen) / max(seconds, 1e-9)
                onEvent(.progress(epoch: epoch, step: state.stepInEpoch, steps: stepsPerEpoch,
                                  loss: state.partialLoss / Double(state.partialSeen),
                                  accuracy: Double(state.partialCorrect) / Double(state.partialSeen),
                                  imagesPerSecond: ips, eta: Double(train.count - state.partialSeen) / max(ips, 1e-9)))
                // Before any checkpoint of this step: a run killed in between redoes the step and writes the line again.
                try logStep(epoch: epoch, lr: lr, loss: Double(r.loss), correct: r.correct, count: y.count,
                            elapsed: elapsedBefore + Date().timeIntervalSince(runStart))
                if let every = config.checkpointEvery, state.globalStep % every == 0, state.stepInEpoch < stepsPerEpoch {
                    state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(runStart)
                    try writeCheckpoint(name: String(format: "step-%08d", state.globalStep))
                }
                if shouldStop() {
                    state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(runStart)
                    try writeCheckpoint(name: String(format: "step-%08d", state.globalStep))
                    interrupted = true
                    break epochs
                }
            }
            let (result, held, averaged, averagedHeld) = timings.measure(.evaluation) {
                (Evaluator.evaluate(network, on: test),
                 validation.map { Evaluator.evaluate(network, on: $0) },
                 average.map { Evaluator.evaluate($0.network, on: test) },
                 average.flatMap { a in validation.map { Evaluator.evaluate(a.network, on: $0) } })
            }
            let seconds = Date().timeIntervalSince(epochStart)
            var row = EpochMetrics(epoch: epoch, step: state.globalStep, lr: lr,
                                   trainLoss: state.partialLoss / Double(max(1, state.partialSeen)),
                                   trainAccuracy: Double(state.partialCorrect) / Double(max(1, state.partialSeen)),
                                   testLoss: result.loss, testAccuracy: result.accuracy, seconds: seconds,
                                   elapsedSeconds: elapsedBefore + Date().timeIntervalSince(runStart),
                                   imagesPerSecond: Double(state.partialSeen) / max(state.partialSeconds, 1e-9))
            row.valLoss = held?.loss; row.valAccuracy = held?.accuracy
            row.emaTestLoss = averaged?.loss; row.emaTestAccuracy = averaged?.accuracy
            row.emaValLoss = averagedHeld?.loss; row.emaValAccuracy = averagedHeld?.accuracy
            // The best so far, by validation accuracy, among the epochs logged before this one.
            let bestBefore = TrainingSummary(metrics: metricsLog.rows(), directory: directory, modelPath: "", seconds: 0,
                                             interrupted: false).best?.valAccuracy ?? -1
            state.epoch = epoch
            state.stepInEpoch = 0
            state.partialLoss = 0; state.partialCorrect = 0; state.partialSeen = 0; state.partialSeconds = 0
            state.elapsedSeconds = row.elapsedSeconds
            // Checked before anything of this epoch is written, so the last checkpoint stays the last good one.
            guard result.loss.isFinite, networkIsFinite() else {
                throw RunError.diverged(epoch: epoch, step: state.globalStep, lr: lr, checkpoint: lastGoodCheckpoint)
            }
            try timings.measure(.writing) {
                try metricsLog.append(row)
                // Before the epoch's checkpoint: a run killed in between redoes this epoch and writes the same bytes.
                if let v = held?.accuracy, v > bestBefore {
                    try checkpoint(metrics: row).write(to: directory + "/model-best.safetensors")
                }
                try writeCheckpoint(name: String(format: "epoch-%04d", epoch), metrics: row)
            }
            onEvent(.epochFinished(row))
            // Only the held-out images decide when to stop; the test set reports (TrainCommand refuses the flag
            // without --validation).
            if let target = targetAccuracy, let chosen = held?.accuracy, chosen >= target {
                onEvent(.targetReached(accuracy: chosen, seconds: row.elapsedSeconds))
                break
            }
            // A stop requested during the epoch's last step or its evaluation: the epoch checkpoint just
            // written is where a resumed run starts, so do not begin the next epoch.
            if state.epoch < config.epochs, shouldStop() {
                interrupted = true
                break
            }
        }
        let modelPath = directory + "/model.safetensors"
        timings.enter(.writing)
        if !interrupted {
            try checkpoint(metrics: metricsLog.rows().last).write(to: modelPath)
            onEvent(.checkpointWritten(modelPath))
            if let a = average {
                let path = directory + "/model-ema.safetensors"
                try checkpoint(metrics: metricsLog.rows().last, network: a.network).write(to: path)
                onEvent(.checkpointWritten(path))
            }
        }
        return TrainingSummary(metrics: metricsLog.rows(), directory: directory, modelPath: modelPath,
                               seconds: elapsedBefore + Date().timeIntervalSince(runStart), interrupted: interrupted,
                               lastCheckpoint: lastGoodCheckpoint)
    }

    /// Adds the step just taken to the running sums since the last steps.jsonl line, and every `--log-every`
    /// global steps writes their means as a line and starts the sums again.
    private func logStep(epoch: Int, lr: Double, loss: Double, correct: Int, count: Int, elapsed: Double) throws {
        guard let log = stepLog, let every = configuration.logEvery else { return }
        state.windowLoss += loss * Double(count)
        state.windowCorrect += correct
        state.windowSeen += count
        guard state.globalStep % every == 0 else { return }
        let row = StepMetrics(epoch: epoch, step: state.globalStep, lr: lr, loss: state.windowLoss / Double(max(1, state.windowSeen)),
                              accuracy: Double(state.windowCorrect) / Double(max(1, state.windowSeen)), elapsedSeconds: elapsed)
        try timings.measure(.writing) { try log.append(row) }
        state.windowLoss = 0; state.windowCorrect = 0; state.windowSeen = 0
    }

    /// The seed of epoch `epoch`'s shuffle: a fixed function of the run's seed, so a resumed run
    /// reshuffles exactly as the original did.
    static func shuffleSeed(_ seed: UInt64, epoch: Int) -> UInt64 {
        seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03
    }

    // MARK: Checkpoints

    private func checkpoint(metrics: EpochMetrics?, network: Sequential? = nil) -> Checkpoint {
        var meta = ["seed": String(configuration.seed), "version": BuildInfo.version, "epoch": String(state.epoch),
                    "global_step": String(state.globalStep), "arch": configuration.arch]
        if let names = configuration.classNames, let value = try? ClassNames.metadataValue(names) { meta[ClassNames.metadataKey] = value }
        if let m = metrics {
            let averaged = network != nil
            if let a = averaged ? m.emaTestAccuracy : m.testAccuracy { meta["test_accuracy"] = String(a) }
            if let l = averaged ? m.emaTestLoss : m.testLoss { meta["test_loss"] = String(l) }
            if let a = averaged ? m.emaValAccuracy : m.valAccuracy { meta["val_accuracy"] = String(a) }
            if let l = averaged ? m.emaValLoss : m.valLoss { meta["val_loss"] = String(l) }
        }
        return Checkpoint(network: network ?? self.network, input: train.input, metadata: meta)
    }

    /// Writes checkpoints/<name>.safetensors and its state file, the state first, each atomically.
    @discardableResult
    private func writeCheckpoint(name: String, metrics: EpochMetrics? = nil) throws -> String {
        let previous = timings.enter(.writing)
        defer { timings.enter(previous) }
        let base = directory + "/checkpoints/" + name
        // Weights that overflowed in the step just taken are not a checkpoint anyone wants to resume from.
        guard networkIsFinite() else {
            throw RunError.diverged(epoch: state.epoch + (state.stepInEpoch > 0 ? 1 : 0), step: state.globalStep,
                                    lr: currentRate, checkpoint: lastGoodCheckpoint)
        }
        state.optimizer = configuration.optimizer
        state.optimizerState = optimizer.state
        state.averagedState = average?.state ?? []
        state.dropoutGenerators = network.layers.flatMap(\.generators).map { $0.get().stateWords }
        try state.file().write(to: base + ".state.safetensors")
        try checkpoint(metrics: metrics).write(to: base + ".safetensors")
        lastGoodCheckpoint = base + ".safetensors"
        onEvent(.checkpointWritten(base + ".safetensors"))
        return base + ".safetensors"
    }

    /// True when every parameter and buffer (batch-norm statistics) is finite.
    private func networkIsFinite() -> Bool {
        for layer in network.layers {
            for p in layer.parameters where !p.value.scalars.allSatisfy(\.isFinite) { return false }
            for b in layer.buffers where !b.get().scalars.allSatisfy(\.isFinite) { return false }
        }
        return true
    }

    /// A checkpoint found in `checkpoints/` and how far into the run it is.
    struct ResumeCandidate: Equatable {
        var stem: String
        var epoch: Int
        var globalStep: Int
    }

    /// The order in which `--resume` tries checkpoints: the furthest first. Furthest means the larger global
    /// step; at the same step (a stop at an epoch's last step leaves `step-N` beside the later `epoch-K` of the
    /// same step), the one with more completed epochs, since it also holds the epoch's evaluation; then, so
    /// the order is total, an `epoch-` file before a `step-` file and the larger name first.
    static func resumeOrder(_ a: ResumeCandidate, _ b: ResumeCandidate) -> Bool {
        if a.globalStep != b.globalStep { return a.globalStep > b.globalStep }
        if a.epoch != b.epoch { return a.epoch > b.epoch }
        let aEpoch = a.stem.hasPrefix("epoch-"), bEpoch = b.stem.hasPrefix("epoch-")
        if aEpoch != bEpoch { return aEpoch }
        return a.stem > b.stem
    }

    /// Restores weights and state from the furthest complete checkpoint in `dir/checkpoints` (see
    /// `resumeOrder`). A checkpoint is complete when its model and state files both load, their checksums
    /// match, they fit the run's architecture and agree on the step; anything else is skipped. With no model
    /// checkpoint at all the run starts from the beginning; with some but none complete it throws.
    private func restore(from dir: String) throws {
        let folder = dir + "/checkpoints"
        AtomicWrite.removeStaleTemporaryFiles(in: folder)
        AtomicWrite.removeStaleTemporaryFiles(in: dir)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let shapes = network.parameters.map(\.value.shape)
        var candidates: [(candidate: ResumeCandidate, state: TrainingState)] = []
        for name in names where name.hasSuffix(".state.safetensors") && !name.hasPrefix(".") {
            let stem = String(name.dropLast(".state.safetensors".count))
            guard FileManager.default.fileExists(atPath: folder + "/" + stem + ".safetensors"),
                  let s = try? TrainingState.read(contentsOf: folder + "/" + name, shapes: shapes),
                  s.optimizer == configuration.optimizer,
                  s.stepInEpoch <= stepsPerEpoch, s.globalStep == s.epoch * stepsPerEpoch + s.stepInEpoch
            else { continue }
            candidates.append((ResumeCandidate(stem: stem, epoch: s.epoch, globalStep: s.globalStep), s))
        }
        candidates.sort { Self.resumeOrder($0.candidate, $1.candidate) }
        for (candidate, s) in candidates {
            let model = folder + "/" + candidate.stem + ".safetensors"
            guard let saved = try? Checkpoint.read(contentsOf: model),
                  saved.network.specs == network.specs,
                  saved.metadata["global_step"] == String(s.globalStep)
            else { continue }
            let generators = network.layers.flatMap(\.generators)
            guard generators.count == s.dropoutGenerators.count else { continue }
            guard (try? optimizer.restore(s.optimizerState)) != nil else { continue }
            if let a = average {
                guard (try? a.restore(s.averagedState)) != nil else { continue }
            } else if !s.averagedState.isEmpty {
                continue
            }
            for (p, q) in zip(network.parameters, saved.network.parameters) { p.value = q.value }
            for (a, b) in zip(network.layers, saved.network.layers) {
                for (x, y) in zip(a.buffers, b.buffers) { x.set(y.get()) }
                for (x, y) in zip(a.counters, b.counters) { x.set(y.get()) }
            }
            for (g, words) in zip(generators, s.dropoutGenerators) { g.set(RandomGenerator(state: words)) }
            state = s
            resumedFrom = model
            lastGoodCheckpoint = model
            try metricsLog.truncate(toEpoch: s.epoch)
            try stepLog?.truncate(toStep: s.globalStep)
            return
        }
        // Killed before its first checkpoint was complete (there may be the state file it writes first): nothing
        // was lost but time, so start again from step 0, which gives what the uninterrupted run gives. Model
        // checkpoints that exist but none of which loads are another matter.
        let models = names.filter { $0.hasSuffix(".safetensors") && !$0.hasSuffix(".state.safetensors") && !$0.hasPrefix(".") }
        guard !models.isEmpty else {
            try AtomicWrite.makeDirectory(folder)
            try metricsLog.start()
            try stepLog?.start()
            return
        }
        throw RunError.nothingToResume(dir)
    }

    // MARK: config.json

    /// config.json's object: the version, the seed, the input and architecture as in checkpoints, and every
    /// setting (snake_case keys). Keys sorted at every level, by `JSONLine`'s encoder, pretty-printed.
    private struct ConfigurationFile: Encodable {
        let version: String
        let seed: UInt64
        let input: ArchitectureJSON.InputObject
        let architecture: [ArchitectureJSON.LayerObject]
        let configuration: TrainingConfiguration
    }

    private func writeConfiguration(specs: [LayerSpec]) throws {
        let encoder = JSONLine.encoder(snakeCase: true)
        encoder.outputFormatting.insert(.prettyPrinted)
        let file = ConfigurationFile(version: BuildInfo.version, seed: configuration.seed,
                                     input: .init(train.input), architecture: specs.map(ArchitectureJSON.LayerObject.init),
                                     configuration: configuration)
        try AtomicWrite.text(String(decoding: try encoder.encode(file), as: UTF8.self) + "\n", to: directory + "/config.json")
    }

    /// The settings a run directory was started with.
    public static func readConfiguration(directory: String) throws -> TrainingConfiguration {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunError.badRunDirectory(directory, "no config.json; is this a cnn-train run directory?")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let inner = object["configuration"],
              let innerData = try? JSONSerialization.data(withJSONObject: inner) else {
            throw RunError.badRunDirectory(directory, "config.json is not valid JSON with a \"configuration\" object")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(TrainingConfiguration.self, from: innerData)
        } catch {
            throw RunError.badRunDirectory(directory, "config.json's \"configuration\" is incomplete or malformed")
        }
    }
}
