//  EvalCommand.swift
//
//  cnn-eval: rebuild a network from a checkpoint alone and evaluate it.

import ArgumentParser
import BuildInfo
import CNN
import Foundation
import IDX
import SafeTensors
import Training

/// `cnn-eval CHECKPOINT`: accuracy, loss, per-class figures, confusion matrix.
public struct EvalCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-eval",
        abstract: "Evaluate a checkpoint, or an ensemble of several: accuracy, loss, per-class accuracy, precision and recall, confusion matrix.",
        version: BuildInfo.versionLine(tool: "cnn-eval"))

    @Argument(help: "A .safetensors checkpoint written by cnn-train, or a run directory (its best model).")
    public var checkpoint: String

    @Argument(help: ArgumentHelp("More checkpoints or run directories: the ensemble of all averages their softmax probabilities (architectures may differ; the input shape and classes may not).", valueName: "checkpoint"))
    public var others: [String] = []

    @Flag(name: .long, help: "Test-time augmentation: average each model's probabilities over the image and the image moved one pixel right, left, down and up (background filled in).")
    public var tta = false

    @OptionGroup public var dataOptions: DataOptions
    public var data: String { dataOptions.data }

    @Option(name: .long, help: "Which split: test or train.")
    public var split: SplitName = .test

    @OptionGroup public var batchOptions: BatchSizeOptions
    public var batchSize: Int { batchOptions.batchSize ?? 1000 }

    @OptionGroup public var threadOptions: ThreadOptions
    public var threads: Int { threadOptions.count }

    @Flag(name: .long, help: "Print one JSON object instead of tables.")
    public var json = false

    @Flag(name: .long, help: "Print the checkpoint's network layer by layer (output shape, parameters, forward FLOPs, convolution algorithm) and the totals; read no data.")
    public var summary = false

    @Option(name: .long, help: ArgumentHelp("Also write every image's logits to FILE: raw little-endian float32, images × classes, in data order.", valueName: "FILE"))
    public var logits: String?

    @Flag(name: .long, help: "Only check that the checkpoint loads (container, checksum, architecture) and, if there is one, its .state.safetensors beside it; read no data.")
    public var verify = false

    public init() {}

    /// Like ArgumentParser's, but every error is one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-eval") }

    public func validate() throws {
        if logits != nil, isEnsemble {
            throw ValidationError("--logits: takes one checkpoint without --tta (an ensemble has no logits)")
        }
    }

    /// Every checkpoint given, in order.
    public var members: [String] { [checkpoint] + others }

    /// Whether this evaluates an ensemble (several checkpoints, or --tta over one).
    public var isEnsemble: Bool { !others.isEmpty || tta }

    public func run() throws {
        do {
            if verify {
                for path in members { print(try verifyCheckpoint(path)) }
                return
            }
            if summary {
                for path in members {
                    let resolved = try ModelPath.resolve(path)
                    let model = try Checkpoint.read(contentsOf: resolved)
                    if !others.isEmpty { print("model: \(resolved)") }
                    print(ModelSummary.make(model.network.specs, input: model.input, batchSize: batchSize).text)
                }
                return
            }
            if isEnsemble {
                let e = try evaluateEnsemble()
                print(json ? try Self.json(e) : Self.text(e))
                return
            }
            let path = try ModelPath.resolve(checkpoint)
            let result = try evaluate()
            let names = try Checkpoint.read(contentsOf: path).classNames
            if json {
                print(try Self.json(result, checkpoint: path, names: names))
            } else {
                if path != checkpoint { print("model: \(path)\n") }
                print(Self.text(result, names: names))
            }
        } catch {
            throw report(error, command: "cnn-eval")
        }
    }

    /// Loads the checkpoint, and the training state beside it if there is one (`<name>.state.safetensors`),
    /// with every check a resumed run makes; returns one line describing them.
    public func verifyCheckpoint(_ path: String? = nil) throws -> String {
        let checkpoint = try ModelPath.resolve(path ?? self.checkpoint)
        let model = try Checkpoint.read(contentsOf: checkpoint)
        let parameters = model.network.parameters
        var line = "\(checkpoint): ok: \(model.network.layers.count) layers, \(parameters.reduce(0) { $0 + $1.value.count }) parameters"
        if let epoch = model.metadata["epoch"], let step = model.metadata["global_step"] {
            line += ", epoch \(epoch), step \(step)"
        }
        if checkpoint.hasSuffix(".safetensors"), !checkpoint.hasSuffix(".state.safetensors") {
            let statePath = String(checkpoint.dropLast(".safetensors".count)) + ".state.safetensors"
            if FileManager.default.fileExists(atPath: statePath) {
                let state = try TrainingState.read(contentsOf: statePath, shapes: parameters.map(\.value.shape))
                line += "; \(statePath): ok: epoch \(state.epoch), step \(state.globalStep)"
            }
        }
        return line
    }

    /// Loads the checkpoint and the data, checks that they fit, and evaluates.
    public func evaluate() throws -> EvaluationResult {
        Parallel.setThreads(threads)
        let checkpoint = try ModelPath.resolve(self.checkpoint)
        let model = try Checkpoint.read(contentsOf: checkpoint)
        let data = try DataSource(directory: self.data).load(split == .test ? .test : .train, for: model, at: checkpoint)
        if let logits {
            let values = Evaluator.logits(model.network, on: data, batchSize: batchSize)
            try AtomicFile.write(values.withUnsafeBytes { Array($0) }, to: logits)
        }
        return Evaluator.evaluate(model.network, on: data, batchSize: batchSize)
    }

    /// Loads every member (a run directory stands for its model, see `ModelPath`) and the data once, and
    /// evaluates each member and their ensemble, with --tta over `Ensemble.ttaShifts`.
    public func evaluateEnsemble() throws -> Ensemble.Evaluation {
        Parallel.setThreads(threads)
        var loaded: [Ensemble.Member] = []
        for path in members {
            let resolved = try ModelPath.resolve(path)
            loaded.append(Ensemble.Member(path: resolved, checkpoint: try Checkpoint.read(contentsOf: resolved)))
        }
        try Ensemble.checkCompatible(loaded)
        let images = try LabeledImages.load(directory: data, split: split == .test ? .test : .train)
        return try Ensemble.evaluate(loaded, on: images, shifts: tta ? Ensemble.ttaShifts : [.none], batchSize: batchSize)
    }

    /// A line per member and one for the ensemble, then the ensemble's full report.
    static func text(_ e: Ensemble.Evaluation) -> String {
        let views = e.shifts.count > 1 ? ", \(e.shifts.count) views each (--tta)" : ""
        let ensembleName = "ensemble of \(e.members.count)\(views)"
        // The widest name sets the column, so no name is cut.
        let width = max(24, ensembleName.count, e.members.map(\.path.count).max() ?? 0)
        func row(_ name: String, _ r: EvaluationResult) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "  %7.2f%%  %.4f\n", r.accuracy * 100, r.loss)
        }
        var out = "model".padding(toLength: width, withPad: " ", startingAt: 0) + "  accuracy  loss\n"
        for m in e.members { out += row(m.path, m.result) }
        out += row(ensembleName, e.ensemble) + "\nthe ensemble:\n"
        return out + text(e.ensemble, names: e.classNames)
    }

    /// The tables; with `names`, classes are named by them (the confusion matrix's rows as "k name", its
    /// columns by number), else by their digits.
    static func text(_ r: EvaluationResult, names: [String]? = nil) -> String {
        func label(_ k: Int) -> String { ClassNames.label(k, in: names) }
        func padded(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        var out = String(format: "accuracy %.2f%% (%d/%d)  loss %.4f\n\n", r.accuracy * 100, r.correct, r.total, r.loss)
        let classes = r.confusion.count
        let width = max(5, (0..<classes).map { label($0).count }.max() ?? 0)
        out += padded("class", width) + "  accuracy  precision  recall   images\n"
        let precision = r.perClassPrecision, recall = r.perClassAccuracy
        for k in 0..<classes {
            out += padded(label(k), width) + String(format: "  %7.2f%%  %8.2f%%  %6.2f%%  %7d\n", recall[k] * 100, precision[k] * 100,
                                                    recall[k] * 100, r.confusion[k].reduce(0, +))
        }
        let rowLabels = (0..<classes).map { names == nil ? String($0) : "\($0) \(label($0))" }
        let rowWidth = max(5, rowLabels.map(\.count).max() ?? 0)
        out += "\nconfusion matrix (rows: true class, columns: predicted)\n" + String(repeating: " ", count: rowWidth + 1)
        out += (0..<classes).map { String(format: "%6d", $0) }.joined() + "\n"
        for (k, row) in r.confusion.enumerated() {
            out += rowLabels[k].padding(toLength: rowWidth, withPad: " ", startingAt: 0) + " " + row.map { String(format: "%6d", $0) }.joined() + "\n"
        }
        out += "\nmost confused (true → predicted: count)\n"
        out += r.mostConfused.prefix(5).map { "  \(label($0.truth)) → \(label($0.predicted)): \($0.count)" }.joined(separator: "\n")
        return out
    }

    /// What `--json` prints, in this order.
    struct JSONReport: Encodable {
        struct Pair: Encodable {
            var truth: Int, predicted: Int, count: Int
            /// With class names: those of `truth` and `predicted`.
            var trueName: String?, predictedName: String?
            enum CodingKeys: String, CodingKey {
                case truth = "true", predicted, count, trueName = "true_name", predictedName = "predicted_name"
            }
        }
        /// The checkpoint's class names in label order; absent without them.
        var classNames: [String]?
        var checkpoint: String?
        var accuracy: Double
        var correct: Int
        var total: Int
        var loss: Double
        var perClassAccuracy: [Double]
        var perClassPrecision: [Double]
        var confusionMatrix: [[Int]]
        var mostConfused: [Pair]
        /// Only for an ensemble (several checkpoints or --tta), where the figures above are the ensemble's.
        var ensemble: EnsembleReport?
        enum CodingKeys: String, CodingKey {
            case checkpoint, classNames = "class_names", accuracy, correct, total, loss, perClassAccuracy = "per_class_accuracy"
            case perClassPrecision = "per_class_precision", confusionMatrix = "confusion_matrix", mostConfused = "most_confused"
            case ensemble
        }
    }

    /// The `ensemble` object: its size, the views (`[dx, dy]`: right, down), its figures and each member's.
    struct EnsembleReport: Encodable {
        struct Member: Encodable { var checkpoint: String, accuracy: Double, correct: Int, total: Int, loss: Double }
        var size: Int
        var tta: Bool
        var shifts: [[Int]]
        var accuracy: Double
        var loss: Double
        var members: [Member]
    }

    /// For an ensemble: the ensemble's figures at the top, as for one checkpoint but with no `checkpoint`,
    /// and the `ensemble` object.
    static func json(_ e: Ensemble.Evaluation) throws -> String {
        let r = e.ensemble
        let members = e.members.map {
            EnsembleReport.Member(checkpoint: $0.path, accuracy: $0.result.accuracy, correct: $0.result.correct,
                                  total: $0.result.total, loss: $0.result.loss)
        }
        let ensemble = EnsembleReport(size: e.members.count, tta: e.shifts.count > 1, shifts: e.shifts.map { [$0.dx, $0.dy] },
                                      accuracy: r.accuracy, loss: r.loss, members: members)
        return try jsonText(JSONReport(classNames: e.classNames, checkpoint: nil, accuracy: r.accuracy, correct: r.correct, total: r.total, loss: r.loss,
                                       perClassAccuracy: r.perClassAccuracy, perClassPrecision: r.perClassPrecision,
                                       confusionMatrix: r.confusion,
                                       mostConfused: r.mostConfused.prefix(10).map { pair in
                                           JSONReport.Pair(truth: pair.truth, predicted: pair.predicted, count: pair.count,
                                                           trueName: e.classNames.map { ClassNames.label(pair.truth, in: $0) },
                                                           predictedName: e.classNames.map { ClassNames.label(pair.predicted, in: $0) })
                                       },
                                       ensemble: ensemble))
    }

    /// One JSON object (see `JSONReport`), written by JSONEncoder.
    static func json(_ r: EvaluationResult, checkpoint: String, names: [String]? = nil) throws -> String {
        try jsonText(JSONReport(classNames: names, checkpoint: checkpoint, accuracy: r.accuracy, correct: r.correct, total: r.total, loss: r.loss,
                                perClassAccuracy: r.perClassAccuracy, perClassPrecision: r.perClassPrecision,
                                confusionMatrix: r.confusion,
                                mostConfused: r.mostConfused.prefix(10).map { pair in
                                    JSONReport.Pair(truth: pair.truth, predicted: pair.predicted, count: pair.count,
                                                    trueName: names.map { ClassNames.label(pair.truth, in: $0) },
                                                    predictedName: names.map { ClassNames.label(pair.predicted, in: $0) })
                                }))
    }
}

/// `--split` values.
public enum SplitName: String, CaseIterable, ExpressibleByArgument {
    case test, train
}
