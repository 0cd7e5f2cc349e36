//  TrainCommand.swift
//
//  cnn-train: parse and check the flags, then hand over to Training.Trainer.

import ArgumentParser
import CNN
import Foundation
import Training

/// `cnn-train`: trains a network on an IDX dataset and writes checkpoints, metrics and the final model.
public struct TrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-train",
        abstract: "Train a convolutional network on MNIST-style IDX data with minibatch SGD.",
        discussion: """
        Presets: \(Architecture.presets.map { "\($0.name) (\($0.spec))" }.joined(separator: "; ")).
        Spec syntax: layers joined by '-': conv<F>k<K>[s<S>][p<P>], relu, pool<K>[s<S>], avgpool<K>[s<S>], bn, \
        drop<P>, flatten, fc<M>; e.g. conv32k5p2-relu-pool2-fc100-relu-fc10.
        Outputs under --out: config.json, metrics.jsonl, metrics.csv, checkpoints/, model.safetensors.
        """)

    @Option(name: .long, help: "Directory with train-/t10k- images and labels (IDX, optionally .gz).")
    public var data = "Data"

    @Option(name: .long, help: "A preset name or a layer spec.")
    public var arch = "default"

    @Option(name: .long, help: "Number of passes over the training set.")
    public var epochs = 3

    @Option(name: .long, help: "Images per SGD step.")
    public var batchSize = 64

    @Option(name: .long, help: "Base learning rate.")
    public var lr = 0.05

    @Option(name: .long, help: "Momentum (0 for plain SGD).")
    public var momentum = 0.9

    @Flag(name: .long, help: "Use Nesterov momentum.")
    public var nesterov = false

    @Option(name: .long, help: "L2 weight decay.")
    public var weightDecay = 5e-4

    @Option(name: .long, help: "Learning-rate schedule: \(ScheduleName.allCases.map(\.rawValue).joined(separator: ", ")).")
    public var schedule: ScheduleName = .cosine

    @Option(name: .long, help: "For --schedule step: multiply the rate by --step-gamma every this many epochs.")
    public var stepEpochs = 1

    @Option(name: .long, help: "For --schedule step: the factor.")
    public var stepGamma = 0.5

    @Option(name: .long, help: "Linear warm-up length in steps (0 for none).")
    public var warmupSteps = 100

    @Option(name: .customLong("init"), help: "Weight initialisation: pytorch (Kaiming-uniform, a=√5) or he (He-normal).")
    public var initialization = "pytorch"

    @Option(name: .long, help: "Seed for initialisation, shuffling and dropout.")
    public var seed: UInt64 = 1

    @Option(name: .long, help: "Threads for the kernels and BLAS (default: the number of cores; with --resume, the run's own).")
    public var threads: Int?

    @Option(name: .long, help: "Train on the first N training images only.")
    public var limit: Int?

    @Option(name: .long, help: "Run directory (default runs/<timestamp>).")
    public var out: String?

    @Option(name: .long, help: "Also write a checkpoint every N steps.")
    public var checkpointEvery: Int?

    @Option(name: .long, help: "Continue the run in this directory from its newest complete checkpoint.")
    public var resume: String?

    @Option(name: .long, help: "Stop once the test accuracy reaches this fraction, e.g. 0.99.")
    public var targetAccuracy: Double?

    @Flag(name: .long, help: "No progress bar or start-up lines: one plain line per epoch and the summary.")
    public var quiet = false

    @Option(name: .long, help: "Per-epoch lines: text or json.")
    public var logFormat: LogFormat = .text

    public init() {}

    /// Like ArgumentParser's, but a bad flag is reported on one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-train") }

    /// The run's settings from the flags.
    public var trainingConfiguration: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.data = data; c.arch = arch; c.epochs = epochs; c.batchSize = batchSize; c.lr = lr
        c.momentum = momentum; c.nesterov = nesterov; c.weightDecay = weightDecay; c.schedule = schedule
        c.stepEpochs = stepEpochs; c.stepGamma = stepGamma; c.warmupSteps = warmupSteps
        c.initialization = initialization; c.seed = seed; c.limit = limit
        c.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        c.checkpointEvery = checkpointEvery
        c.out = out ?? Self.defaultOut()
        return c
    }

    /// runs/<timestamp>, or runs/<timestamp>-2, -3, ... when a run started in the same second.
    static func defaultOut() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.locale = Locale(identifier: "en_US_POSIX")
        let base = "runs/" + f.string(from: Date())
        var out = base, n = 1
        while FileManager.default.fileExists(atPath: out + "/config.json") {
            n += 1
            out = base + "-\(n)"
        }
        return out
    }

    public func validate() throws {
        let problems = trainingConfiguration.problems()
        if let p = problems.first { throw ValidationError(p) }
        if let t = targetAccuracy, !(t > 0 && t <= 1) { throw ValidationError("--target-accuracy must be in (0, 1] (got \(t))") }
        if resume == nil {
            do { _ = try Architecture.resolve(arch, input: InputDescriptor()) } catch let e as ArchitectureError {
                // Only shape-independent errors here; shape errors are checked against the real data later.
                switch e {
                case .empty, .unknownToken, .badValue: throw ValidationError("--arch: \(e.errorDescription ?? "")")
                default: break
                }
            }
        }
    }

    public func run() throws {
        let printer = ProgressPrinter(format: logFormat, quiet: quiet)
        // Caught from the start: a signal while the data loads stops the run after its first step.
        let signals = StopSignals()
        do {
            var configuration = trainingConfiguration
            // One process per run directory (RunLock): a second one exits here with status 75. Held until the
            // run ends; a refused fresh run leaves no folder behind.
            let lock = try RunLock(directory: resume ?? configuration.out, create: resume == nil)
            defer { lock?.releaseRemovingUnusedDirectory() }
            if let dir = resume, threads == nil {
                // The thread count can change the last bits of the weights; a resumed run keeps its own.
                configuration.threads = (try Trainer.readConfiguration(directory: dir)).threads
            }
            let trainer = try Trainer(configuration: configuration, resume: resume)
            trainer.targetAccuracy = targetAccuracy
            trainer.shouldStop = { signals.received != nil }
            trainer.onEvent = printer.handle
            let summary = try trainer.run()
            printer.summary(summary)
            if summary.interrupted {
                let signal = signals.received ?? SIGINT
                let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
                let checkpoint = summary.lastCheckpoint.map { " after writing \($0)" } ?? ""
                FileHandle.standardError.write(Data("cnn-train: stopped by \(name)\(checkpoint); resume with: \(invocation(of: "cnn-train")) --resume \(summary.directory)\n".utf8))
                throw ExitCode(signal == SIGTERM ? ExitStatus.terminated.rawValue : ExitStatus.interrupted.rawValue)
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            printer.finishLine()
            throw report(error, command: "cnn-train")
        }
    }
}

/// The per-epoch line format.
public enum LogFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}

extension ScheduleName: ExpressibleByArgument {}
