//  Trainer.swift
//
//  The training loop: shuffle from the seed, minibatch SGD over the fast layers, evaluate every epoch,
//  write checkpoints, metrics and the final model.
//
//  Run directory:
//    config.json                       every setting, the resolved architecture, seed and version
//    metrics.jsonl, metrics.csv        one row per epoch
//    checkpoints/epoch-0001.safetensors (+ .state.safetensors)   after every epoch
//    checkpoints/step-00001234.safetensors (+ .state.safetensors) every --checkpoint-every steps
//    model.safetensors                 the final model

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
}

/// How a run ended.
public struct TrainingSummary {
    public let metrics: [EpochMetrics]
    public let directory: String
    public let modelPath: String
    public let seconds: Double
    /// Set when a stop was requested (signal) before the last epoch; the run can be resumed.
    public let interrupted: Bool

    public var best: EpochMetrics? { metrics.max { $0.testAccuracy < $1.testAccuracy } }
}

public final class Trainer {
    public static let version = "0.1.0"

    public let configuration: TrainingConfiguration
    public let network: Sequential
    public let train: Dataset
    public let test: Dataset
    public let directory: String
    /// Stop once the test accuracy reaches this fraction.
    public var targetAccuracy: Double?
    /// Polled after every step; when it returns true the run writes a checkpoint and returns.
    public var shouldStop: () -> Bool = { false }
    public var onEvent: (TrainingEvent) -> Void = { _ in }

    private let optimizer: SGD
    private var state: TrainingState
    private var resumedFrom: String?
    private let metricsLog: MetricsLog

    /// Loads the data and builds (or restores) the network. Checks everything before writing anything.
    public init(configuration: TrainingConfiguration, resume: String? = nil) throws {
        var config = configuration
        if let dir = resume {
            config = try Self.readConfiguration(directory: dir)
            config.out = dir
            config.threads = configuration.threads
        }
        let problems = config.problems()
        guard problems.isEmpty else { throw RunError.invalidConfiguration(problems) }
        self.configuration = config
        Parallel.setThreads(config.threads)

        train = try Dataset.load(directory: config.data, split: .train, mean: config.mean, std: config.std, limit: config.limit)
        test = try Dataset.load(directory: config.data, split: .test, mean: config.mean, std: config.std)
        guard train.input.height == test.input.height, train.input.width == test.input.width else {
            throw RunError.badRunDirectory(config.data, "training images are \(train.input.height)×\(train.input.width) but test images are \(test.input.height)×\(test.input.width)")
        }
        let specs = try Architecture.resolve(config.arch, input: train.input)
        var generator = RandomGenerator(seed: config.seed)
        let initialization = Initialization(rawValue: config.initialization) ?? .pytorchDefault
        network = Sequential(specs: specs, initialization: initialization, generator: &generator)
        network.needsInputGradient = false
        optimizer = SGD(parameters: network.parameters, learningRate: Float(config.lr), momentum: Float(config.momentum),
                        nesterov: config.nesterov, weightDecay: Float(config.weightDecay))
        state = TrainingState(epoch: 0, stepInEpoch: 0, globalStep: 0, velocities: optimizer.velocities,
                              dropoutGenerators: [])
        directory = config.out
        metricsLog = MetricsLog(directory: directory)

        if let dir = resume {
            try restore(from: dir)
        } else {
            try AtomicWrite.makeDirectory(directory + "/checkpoints")
            try writeConfiguration(specs: specs)
            try metricsLog.start()
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
        let loss = SoftmaxCrossEntropy()
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        let runStart = Date()
        let elapsedBefore = state.elapsedSeconds
        var interrupted = false
        var lastCheckpoint: String? = nil

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
                train.batch(batch, into: &x, labels: &y)
                lr = plan.rate(atStep: state.globalStep)
                optimizer.learningRate = Float(lr)
                let logits = network.forward(x, mode: .training)
                let r = loss(logits: logits, labels: y)
                guard r.loss.isFinite else {
                    throw RunError.diverged(epoch: epoch, step: state.globalStep + 1, lr: lr, checkpoint: lastCheckpoint)
                }
                network.backward(r.dLogits)
                optimizer.step()
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
                if let every = config.checkpointEvery, state.globalStep % every == 0, state.stepInEpoch < stepsPerEpoch {
                    state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(runStart)
                    lastCheckpoint = try writeCheckpoint(name: String(format: "step-%08d", state.globalStep))
                }
                if shouldStop() {
                    state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(runStart)
                    lastCheckpoint = try writeCheckpoint(name: String(format: "step-%08d", state.globalStep))
                    interrupted = true
                    break epochs
                }
            }
            let result = Evaluator.evaluate(network, on: test)
            let seconds = Date().timeIntervalSince(epochStart)
            let row = EpochMetrics(epoch: epoch, step: state.globalStep, lr: lr,
                                   trainLoss: state.partialLoss / Double(max(1, state.partialSeen)),
                                   trainAccuracy: Double(state.partialCorrect) / Double(max(1, state.partialSeen)),
                                   testLoss: result.loss, testAccuracy: result.accuracy, seconds: seconds,
                                   elapsedSeconds: elapsedBefore + Date().timeIntervalSince(runStart),
                                   imagesPerSecond: Double(state.partialSeen) / max(state.partialSeconds, 1e-9))
            state.epoch = epoch
            state.stepInEpoch = 0
            state.partialLoss = 0; state.partialCorrect = 0; state.partialSeen = 0; state.partialSeconds = 0
            state.elapsedSeconds = row.elapsedSeconds
            try metricsLog.append(row)
            lastCheckpoint = try writeCheckpoint(name: String(format: "epoch-%04d", epoch), metrics: row)
            onEvent(.epochFinished(row))
            if let target = targetAccuracy, result.accuracy >= target {
                onEvent(.targetReached(accuracy: result.accuracy, seconds: row.elapsedSeconds))
                break
            }
        }
        let modelPath = directory + "/model.safetensors"
        if !interrupted {
            try checkpoint(metrics: metricsLog.rows().last).write(to: modelPath)
            onEvent(.checkpointWritten(modelPath))
        }
        return TrainingSummary(metrics: metricsLog.rows(), directory: directory, modelPath: modelPath,
                               seconds: elapsedBefore + Date().timeIntervalSince(runStart), interrupted: interrupted)
    }

    /// The seed of epoch `epoch`'s shuffle: a fixed function of the run's seed, so a resumed run
    /// reshuffles exactly as the original did.
    static func shuffleSeed(_ seed: UInt64, epoch: Int) -> UInt64 {
        seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03
    }

    // MARK: Checkpoints

    private func checkpoint(metrics: EpochMetrics?) -> Checkpoint {
        var meta = ["seed": String(configuration.seed), "version": Self.version, "epoch": String(state.epoch),
                    "global_step": String(state.globalStep), "arch": configuration.arch]
        if let m = metrics {
            meta["test_accuracy"] = String(m.testAccuracy)
            meta["test_loss"] = String(m.testLoss)
        }
        return Checkpoint(network: network, input: train.input, metadata: meta)
    }

    /// Writes checkpoints/<name>.safetensors and its state file, the state first, each atomically.
    @discardableResult
    private func writeCheckpoint(name: String, metrics: EpochMetrics? = nil) throws -> String {
        let base = directory + "/checkpoints/" + name
        state.velocities = optimizer.velocities
        state.dropoutGenerators = network.layers.compactMap { ($0 as? Dropout)?.generator.stateWords }
        try state.file().write(to: base + ".state.safetensors")
        try checkpoint(metrics: metrics).write(to: base + ".safetensors")
        onEvent(.checkpointWritten(base + ".safetensors"))
        return base + ".safetensors"
    }

    /// Restores weights and state from the newest complete checkpoint in `dir/checkpoints`.
    private func restore(from dir: String) throws {
        let folder = dir + "/checkpoints"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var candidates: [(step: Int, model: String, state: String)] = []
        for name in names where name.hasSuffix(".state.safetensors") {
            let stem = String(name.dropLast(".state.safetensors".count))
            let model = folder + "/" + stem + ".safetensors"
            guard FileManager.default.fileExists(atPath: model),
                  let s = try? TrainingState.read(contentsOf: folder + "/" + name, shapes: network.parameters.map(\.value.shape))
            else { continue }
            candidates.append((s.globalStep, model, folder + "/" + name))
        }
        for candidate in candidates.sorted(by: { $0.step > $1.step }) {
            guard let saved = try? Checkpoint.read(contentsOf: candidate.model),
                  saved.network.specs == network.specs,
                  let s = try? TrainingState.read(contentsOf: candidate.state, shapes: network.parameters.map(\.value.shape))
            else { continue }
            for (p, q) in zip(network.parameters, saved.network.parameters) { p.value = q.value }
            for (a, b) in zip(network.layers, saved.network.layers) {
                for (x, y) in zip(a.buffers, b.buffers) { x.set(y.get()) }
                if let bn = a as? BatchNorm2D, let saved = b as? BatchNorm2D { bn.numBatchesTracked = saved.numBatchesTracked }
            }
            let dropouts = network.layers.compactMap { $0 as? Dropout }
            guard dropouts.count == s.dropoutGenerators.count else { continue }
            for (d, words) in zip(dropouts, s.dropoutGenerators) { d.generator = RandomGenerator(state: words) }
            optimizer.velocities = s.velocities
            state = s
            resumedFrom = candidate.model
            try metricsLog.truncate(toEpoch: s.epoch)
            return
        }
        throw RunError.nothingToResume(dir)
    }

    // MARK: config.json

    private func writeConfiguration(specs: [LayerSpec]) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let configuration = String(decoding: try encoder.encode(self.configuration), as: UTF8.self)
        let text = """
        {
          "version": "\(Self.version)",
          "seed": \(self.configuration.seed),
          "input": \(ArchitectureJSON.encode(train.input)),
          "architecture": \(ArchitectureJSON.encode(specs)),
          "configuration": \(configuration.replacingOccurrences(of: "\n", with: "\n  "))
        }

        """
        try AtomicWrite.text(text, to: directory + "/config.json")
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
