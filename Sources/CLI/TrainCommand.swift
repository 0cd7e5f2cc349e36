//  TrainCommand.swift
//
//  cnn-train: parse and check the flags, then hand over to Training.Trainer.

import ArgumentParser
import BuildInfo
import CNN
import Foundation
import Training

/// `cnn-train`: trains a network on an IDX dataset and writes checkpoints, metrics and the final model.
public struct TrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-train",
        abstract: "Train a convolutional network on MNIST-style IDX data (SGD, Adam or AdamW; named recipes).",
        discussion: """
        Presets: \(Architecture.presets.map { "\($0.name) (\($0.spec))" }.joined(separator: "; ")).
        Spec syntax: layers joined by '-': conv<F>k<K>[s<S>][p<P>], relu, pool<K>[s<S>], avgpool<K>[s<S>], bn, \
        drop<P>, flatten, fc<M>; e.g. conv32k5p2-relu-pool2-fc100-relu-fc10.
        Outputs under --out: config.json, metrics.jsonl, metrics.csv, checkpoints/, model.safetensors, and \
        steps.jsonl with --log-every.
        """,
        version: BuildInfo.versionLine(tool: "cnn-train"))

    @Option(name: .long, help: "A named bundle of settings (see --list-recipes); flags given here override it.")
    public var recipe = "default"

    @Flag(name: .long, help: "Print every recipe and the settings it changes, then exit.")
    public var listRecipes = false

    @OptionGroup public var dataOptions: DataOptions
    public var data: String { dataOptions.data }

    @Option(name: .long, help: "A preset name or a layer spec (default: the recipe's; default).")
    public var arch: String?

    @Option(name: .long, help: "Number of passes over the training set (default: the recipe's; 3). With --resume, a larger number extends the run.")
    public var epochs: Int?

    @OptionGroup public var batchOptions: BatchSizeOptions
    public var batchSize: Int? { batchOptions.batchSize }

    @Option(name: .long, help: "Optimizer: \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ")) (default: the recipe's; sgd). Another one than the recipe's brings PyTorch's default --lr and --weight-decay unless they are given.")
    public var optimizer: OptimizerKind?

    @Option(name: .long, help: "Base learning rate; for onecycle, the peak (default: the recipe's; sgd 0.05, adam and adamw 1e-3).")
    public var lr: Double?

    @Option(name: .long, help: "SGD momentum (0 for plain SGD), or Adam's beta1 (default: the recipe's; 0.9).")
    public var momentum: Double?

    @Option(name: .long, help: "Adam's beta2 (default 0.999).")
    public var beta2: Double?

    @Option(name: .customLong("adam-eps"), help: "Adam's epsilon (default 1e-8).")
    public var adamEpsilon: Double?

    @Flag(name: .long, help: "Use Nesterov momentum (SGD).")
    public var nesterov = false

    @Option(name: .long, help: "Weight decay: L2 for sgd and adam, decoupled for adamw (default: the recipe's; sgd 5e-4, adam 0, adamw 0.01).")
    public var weightDecay: Double?

    @Option(name: .long, help: "Learning-rate schedule: \(ScheduleName.allCases.map(\.rawValue).joined(separator: ", ")) (default: the recipe's; cosine).")
    public var schedule: ScheduleName?

    @Option(name: .long, help: "For --schedule step: multiply the rate by --step-gamma every this many epochs.")
    public var stepEpochs: Int?

    @Option(name: .long, help: "For --schedule step and exponential: the factor (default 0.5).")
    public var stepGamma: Double?

    @Option(name: .long, help: "Linear warm-up length in steps (0 for none; at most a tenth of the run; default 100).")
    public var warmupSteps: Int?

    @Option(name: .long, help: "For --schedule onecycle: the fraction of the run spent rising (default 0.3).")
    public var pctStart: Double?

    @Option(name: .long, help: "For --schedule onecycle: peak rate / initial rate (default 25).")
    public var divFactor: Double?

    @Option(name: .long, help: "For --schedule onecycle: initial rate / final rate (default 1e4).")
    public var finalDivFactor: Double?

    @Flag(name: .long, inversion: .prefixedNo, help: "For --schedule onecycle: cycle momentum (Adam: beta1) between 0.95 and 0.85 against the rate, as PyTorch does by default.")
    public var cycleMomentum: Bool?

    @Option(name: .long, help: "Hold out N training images (stratified by class, from the seed) to choose model-best.safetensors and to judge --target-accuracy (default: the recipe's; 0).")
    public var validation: Int?

    @Option(name: .long, help: "Label smoothing epsilon of the training loss, as PyTorch's (default: the recipe's; 0).")
    public var labelSmoothing: Double?

    @Option(name: .long, help: "Also keep a moving average of the weights with this decay, e.g. 0.999, evaluated every epoch and saved as model-ema.safetensors (default: the recipe's; 0, none).")
    public var ema: Double?

    @OptionGroup public var augmentationOptions: AugmentationOptions

    @Option(name: .customLong("init"), help: "Weight initialisation: pytorch (Kaiming-uniform, a=√5) or he (He-normal).")
    public var initialization: String?

    @Option(name: .long, help: "Seed for initialisation, shuffling and dropout.")
    public var seed: UInt64 = 1

    @OptionGroup public var threadOptions: ThreadOptions
    public var threads: Int? { threadOptions.threads }

    @Option(name: .long, help: "Train on the first N training images only.")
    public var limit: Int?

    @Option(name: .long, help: "Run directory (default runs/<timestamp>).")
    public var out: String?

    @Option(name: .long, help: "Also write a checkpoint every N steps.")
    public var checkpointEvery: Int?

    @Option(name: .long, help: ArgumentHelp("Name the classes: FILE holds one name a line, in label order (line 1 names label 0), as many as the labels have classes. Stored in config.json and every checkpoint; cnn-eval, cnn-predict and cnn-plot then use them.", valueName: "FILE"))
    public var classes: String?

    @Option(name: .long, help: ArgumentHelp("Every N steps, append to steps.jsonl the training loss and accuracy averaged over the images of the last N steps (not since the epoch's start), with the epoch, step, lr and elapsed seconds.", valueName: "N"))
    public var logEvery: Int?

    @Option(name: .long, help: "Continue the run in this directory from its newest complete checkpoint.")
    public var resume: String?

    @Option(name: .long, help: "Stop once the validation accuracy reaches this fraction, e.g. 0.99 (needs --validation; the test set never decides).")
    public var targetAccuracy: Double?

    @Flag(name: .long, help: "No progress bar or start-up lines: one plain line per epoch and the summary.")
    public var quiet = false

    @Flag(name: .long, help: "Print the network layer by layer (output shape, parameters, forward FLOPs, convolution algorithm) and the totals, and stop without training.")
    public var summary = false

    @Option(name: .long, help: "Per-epoch lines: text or json.")
    public var logFormat: LogFormat = .text

    @Flag(name: .long, help: "At the end, print where the wall time went since the process started: start-up, data load, training, evaluation, writing.")
    public var timings = false

    public init() {}

    /// Like ArgumentParser's, but every error is one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-train") }

    /// The training settings given on the command line: each flag's name and how it changes a configuration.
    /// The one place that maps flags onto `TrainingConfiguration`.
    var givenSettings: [(flag: String, apply: (inout TrainingConfiguration) -> Void)] {
        var given: [(String, (inout TrainingConfiguration) -> Void)] = []
        func add<T>(_ flag: String, _ value: T?, _ apply: @escaping (inout TrainingConfiguration, T) -> Void) {
            if let value { given.append((flag, { apply(&$0, value) })) }
        }
        if data != "Data" { add("--data", data) { $0.data = $1 } }
        add("--arch", arch) { $0.arch = $1 }
        add("--epochs", epochs) { $0.epochs = $1 }
        add("--batch-size", batchSize) { $0.batchSize = $1 }
        add("--optimizer", optimizer) { c, kind in
            // Another optimizer than the recipe's starts from its own defaults (--lr and --weight-decay, given
            // or not, are applied after this).
            if kind != c.optimizer {
                c.lr = kind.defaultLearningRate
                c.weightDecay = kind.defaultWeightDecay
                if kind != .sgd { c.nesterov = false }
            }
            c.optimizer = kind
        }
        add("--lr", lr) { $0.lr = $1 }
        add("--momentum", momentum) { $0.momentum = $1 }
        add("--beta2", beta2) { $0.beta2 = $1 }
        add("--adam-eps", adamEpsilon) { $0.adamEpsilon = $1 }
        if nesterov { add("--nesterov", true) { $0.nesterov = $1 } }
        add("--weight-decay", weightDecay) { $0.weightDecay = $1 }
        add("--schedule", schedule) { $0.schedule = $1 }
        add("--step-epochs", stepEpochs) { $0.stepEpochs = $1 }
        add("--step-gamma", stepGamma) { $0.stepGamma = $1 }
        add("--warmup-steps", warmupSteps) { $0.warmupSteps = $1 }
        add("--pct-start", pctStart) { $0.pctStart = $1 }
        add("--div-factor", divFactor) { $0.divFactor = $1 }
        add("--final-div-factor", finalDivFactor) { $0.finalDivFactor = $1 }
        add(cycleMomentum == false ? "--no-cycle-momentum" : "--cycle-momentum", cycleMomentum) { $0.cycleMomentum = $1 }
        add("--validation", validation) { $0.validation = $1 }
        add("--label-smoothing", labelSmoothing) { $0.labelSmoothing = $1 }
        add("--ema", ema) { $0.ema = $1 }
        add("--shift", augmentationOptions.shift) { $0.shift = $1 }
        add("--rotate", augmentationOptions.rotate) { $0.rotate = $1 }
        add("--scale", augmentationOptions.scale) { $0.scale = $1 }
        add("--elastic", augmentationOptions.elastic) { $0.elasticAlpha = $1.alpha; $0.elasticSigma = $1.sigma }
        add("--init", initialization) { $0.initialization = $1 }
        if seed != 1 { add("--seed", seed) { $0.seed = $1 } }
        add("--limit", limit) { $0.limit = $1 }
        add("--checkpoint-every", checkpointEvery) { $0.checkpointEvery = $1 }
        add("--log-every", logEvery) { $0.logEvery = $1 }
        // Read again here after validate() has checked the file.
        add("--classes", classes.flatMap { try? ClassNames.read(contentsOf: $0, classes: Architecture.classes) }) { $0.classNames = $1 }
        return given
    }

    /// The run's settings: the recipe's, then the flags'.
    public var trainingConfiguration: TrainingConfiguration {
        var c = (Recipe.named(recipe) ?? Recipe.all[0]).configuration
        for setting in givenSettings { setting.apply(&c) }
        c.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        c.out = out ?? Self.defaultOut()
        return c
    }

    /// With --resume, the flags that the run's own config.json replaces (all but --epochs, --threads,
    /// --target-accuracy, --quiet and --log-format), each as a one-line warning.
    public var ignoredByResume: [String] {
        guard let dir = resume else { return [] }
        var ignored = givenSettings.map(\.flag).filter { $0 != "--epochs" }
        if recipe != "default" { ignored.insert("--recipe", at: 0) }
        if out != nil { ignored.append("--out") }
        return ignored.map { "cnn-train: warning: \($0) is ignored with --resume: the run in \(dir) keeps the settings of its config.json" }
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
        if listRecipes { return }
        guard Recipe.named(recipe) != nil else {
            throw ValidationError("--recipe must be one of \(Recipe.all.map(\.name).joined(separator: ", ")) (got \(recipe))")
        }
        if let file = classes {
            do { _ = try ClassNames.read(contentsOf: file, classes: Architecture.classes) } catch let e as ClassNamesError {
                throw ValidationError(e.errorDescription ?? "--classes \(file): cannot be read")
            }
        }
        let problems = trainingConfiguration.problems()
        if let p = problems.first { throw ValidationError(p) }
        if let t = targetAccuracy, !(t > 0 && t <= 1) { throw ValidationError("--target-accuracy must be in (0, 1] (got \(t))") }
        if targetAccuracy != nil, resume == nil, trainingConfiguration.validation == 0 {
            throw ValidationError("--target-accuracy: needs --validation N; the test set reports results, it never decides when a run stops")
        }
        if resume == nil {
            do { _ = try Architecture.resolve(trainingConfiguration.arch, input: InputDescriptor()) } catch let e as ArchitectureError {
                // Only shape-independent errors here; shape errors are checked against the real data later.
                switch e {
                case .empty, .unknownToken, .badValue: throw ValidationError("--arch: \(e.errorDescription ?? "")")
                default: break
                }
            }
        }
    }

    public func run() throws {
        if listRecipes {
            print(Recipe.listing)
            return
        }
        if summary {
            do {
                let c = trainingConfiguration
                let data = try DataSource(directory: c.data, mean: c.mean, std: c.std).load(.test)
                let specs = try Architecture.resolve(c.arch, input: data.input)
                print(ModelSummary.make(specs, input: data.input, batchSize: c.batchSize).text)
                return
            } catch {
                throw report(error, command: "cnn-train")
            }
        }
        for warning in ignoredByResume { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
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
            let trainer = try Trainer(configuration: configuration, resume: resume, extendTo: resume == nil ? nil : epochs)
            trainer.targetAccuracy = targetAccuracy
            trainer.shouldStop = { signals.received != nil }
            trainer.onEvent = printer.handle
            let summary = try trainer.run()
            printer.summary(summary)
            if timings { printer.timings(trainer.timings) }
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
extension OptimizerKind: ExpressibleByArgument {}

/// The augmentation flags, shared by cnn-train and cnn-bench.
public struct AugmentationOptions: ParsableArguments {
    @Option(name: .long, help: "Augment: shift each training image by up to PX pixels each way, a new draw every epoch (default: the recipe's; 0).")
    public var shift: Double?

    @Option(name: .long, help: "Augment: rotate by up to DEG degrees either way (default: the recipe's; 0).")
    public var rotate: Double?

    @Option(name: .long, help: "Augment: scale by a factor in [1 - F, 1 + F] (default: the recipe's; 0).")
    public var scale: Double?

    @Option(name: .long, help: "Augment: an elastic distortion ALPHA,SIGMA in pixels (Simard et al. 2003), e.g. 34,4 (default: none).")
    public var elastic: ElasticSetting?

    public init() {}

    public func validate() throws {
        var c = TrainingConfiguration()
        let a = augmentation()
        c.shift = a.shift; c.rotate = a.rotate; c.scale = a.scale; c.elasticAlpha = a.elasticAlpha; c.elasticSigma = a.elasticSigma
        if let p = c.problems().first { throw ValidationError(p) }
        if elastic != nil, a.elasticAlpha == 0 || a.elasticSigma == 0 {
            throw ValidationError("--elastic must be ALPHA,SIGMA with both > 0 (got \(a.elasticAlpha),\(a.elasticSigma))")
        }
    }

    /// These flags on top of `base` (a recipe's or no augmentation).
    public func augmentation(over base: Augmentation = Augmentation()) -> Augmentation {
        var a = base
        if let v = shift { a.shift = v }
        if let v = rotate { a.rotate = v }
        if let v = scale { a.scale = v }
        if let e = elastic { a.elasticAlpha = e.alpha; a.elasticSigma = e.sigma }
        return a
    }
}

/// `--elastic ALPHA,SIGMA`.
public struct ElasticSetting: ExpressibleByArgument, Equatable {
    public var alpha: Double
    public var sigma: Double

    public init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let a = parts[0], let s = parts[1] else { return nil }
        alpha = a
        sigma = s
    }
}
