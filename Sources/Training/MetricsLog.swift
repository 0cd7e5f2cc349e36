//  MetricsLog.swift
//
//  metrics.jsonl and metrics.csv: one row per epoch; steps.jsonl (with --log-every N): one row every N
//  steps. Rows are appended as whole lines and flushed, so the files always parse, even after a crash. The
//  JSON lines are written by Foundation's JSONEncoder (`JSONLine`): keys in snake case and sorted, numbers
//  in the shortest form that reads back to the same Double.

import Foundation

/// One line of JSON as every file and printout of the tools writes it: Foundation's JSONEncoder, keys
/// sorted (so a line is the same bytes in every process), slashes left as they are, and non-finite numbers,
/// which JSON has no literal for, as the strings "inf", "-inf" and "nan" (which `decoder` reads back).
public enum JSONLine {
    public static func encoder(snakeCase: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
        return encoder
    }

    public static func decoder(snakeCase: Bool = false) -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        if snakeCase { decoder.keyDecodingStrategy = .convertFromSnakeCase }
        return decoder
    }

    /// `value` as one line of JSON (no newline).
    public static func text<T: Encodable>(_ value: T, snakeCase: Bool = false) throws -> String {
        String(decoding: try encoder(snakeCase: snakeCase).encode(value), as: UTF8.self)
    }

    /// The lines of `bytes` that decode as `T`, skipping the others (a torn last line cannot occur, but a
    /// hand-edited file might hold anything).
    static func rows<T: Decodable>(_ bytes: [UInt8]?, as: T.Type) -> [T] {
        guard let bytes else { return [] }
        let decoder = decoder(snakeCase: true)
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { try? decoder.decode(T.self, from: Data($0.utf8)) }
    }
}

/// One epoch's figures. Accuracies are fractions in [0, 1].
public struct EpochMetrics: Codable, Equatable, Sendable {
    public var epoch: Int
    public var step: Int
    public var lr: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    /// Wall time of this epoch's training steps and evaluation.
    public var seconds: Double
    /// Wall time since the run started (across resumes).
    public var elapsedSeconds: Double
    /// Training images per second in this epoch.
    public var imagesPerSecond: Double
    /// On the held-out training images (`--validation`); nil without them.
    public var valLoss: Double? = nil
    public var valAccuracy: Double? = nil
    /// The moving average of the weights (`--ema`) on the test and held-out images; nil without it.
    public var emaTestLoss: Double? = nil
    public var emaTestAccuracy: Double? = nil
    public var emaValLoss: Double? = nil
    public var emaValAccuracy: Double? = nil

    public static let columns = ["epoch", "step", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                          "seconds", "elapsed_seconds", "images_per_second"]

    /// Columns a run has when it holds out images or averages weights, after the ones every run has.
    static let optionalColumns = ["val_loss", "val_accuracy", "ema_test_loss", "ema_test_accuracy", "ema_val_loss",
                                  "ema_val_accuracy"]

    /// The columns of a run's metrics: every run's, then those of validation and of the EMA model it has.
    public static func columns(validation: Bool, ema: Bool) -> [String] {
        columns + optionalColumns.filter { ($0.contains("val_") ? validation : true) && ($0.hasPrefix("ema_") ? ema : true) }
    }

    var values: [String] {
        [String(epoch), String(step), fmt(lr), fmt(trainLoss), fmt(trainAccuracy), fmt(testLoss), fmt(testAccuracy),
         fixed(seconds, 3), fixed(elapsedSeconds, 3), fixed(imagesPerSecond, 1)]
    }

    var optionalValues: [Double?] { [valLoss, valAccuracy, emaTestLoss, emaTestAccuracy, emaValLoss, emaValAccuracy] }

    /// Every column this row has a value for, with its value as metrics.csv writes it.
    var pairs: [(String, String)] {
        Array(zip(Self.columns, values)) + zip(Self.optionalColumns, optionalValues).compactMap { name, v in v.map { (name, fmt($0)) } }
    }

    /// The row as one line of metrics.jsonl: every column it has a value for, full precision.
    public func jsonLine() throws -> String { try JSONLine.text(self, snakeCase: true) }

    /// The row as CSV under `columns` (empty where the row has no value).
    public func csvLine(_ columns: [String] = EpochMetrics.columns) -> String {
        let byName = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        return columns.map { byName[$0] ?? "" }.joined(separator: ",")
    }

    /// Six significant digits (losses, accuracies, rates).
    private func fmt(_ v: Double) -> String {
        v.isFinite ? String(format: "%.6g", v) : "null"
    }

    /// A fixed number of decimals (times, throughput), whatever the magnitude.
    private func fixed(_ v: Double, _ decimals: Int) -> String {
        v.isFinite ? String(format: "%.\(decimals)f", v) : "null"
    }
}

/// Appends epoch rows to metrics.jsonl and metrics.csv in a run directory.
public struct MetricsLog {
    public let jsonlPath: String
    public let csvPath: String
    /// The CSV header: `EpochMetrics.columns(validation:ema:)`.
    public let columns: [String]

    public init(directory: String, columns: [String] = EpochMetrics.columns) {
        jsonlPath = directory + "/metrics.jsonl"
        csvPath = directory + "/metrics.csv"
        self.columns = columns
    }

    /// Creates both files with no rows (the CSV with its header), replacing what was there.
    public func start() throws {
        try AtomicWrite.text("", to: jsonlPath)
        try AtomicWrite.text(columns.joined(separator: ",") + "\n", to: csvPath)
    }

    /// Appends one row to each file, each as a single write of a whole line.
    public func append(_ m: EpochMetrics) throws {
        try AtomicWrite.appendLine(try m.jsonLine(), to: jsonlPath)
        try AtomicWrite.appendLine(m.csvLine(columns), to: csvPath)
    }

    /// The rows of metrics.jsonl, skipping lines that do not parse.
    public func rows() -> [EpochMetrics] {
        JSONLine.rows(AtomicWrite.contents(of: jsonlPath), as: EpochMetrics.self)
    }

    /// Keeps only the rows of epochs ≤ `epoch` (used when resuming from a checkpoint taken at that epoch).
    public func truncate(toEpoch epoch: Int) throws {
        let kept = rows().filter { $0.epoch <= epoch }
        try AtomicWrite.text(try kept.map { try $0.jsonLine() + "\n" }.joined(), to: jsonlPath)
        try AtomicWrite.text(([columns.joined(separator: ",")] + kept.map { $0.csvLine(columns) }).joined(separator: "\n") + "\n",
                             to: csvPath)
    }
}

/// One line of steps.jsonl: the training loss and accuracy over the images of the last `--log-every` steps
/// (the steps after the previous line, across epoch boundaries), written after global step `step`.
public struct StepMetrics: Codable, Equatable, Sendable {
    /// The epoch `step` belongs to (1-based).
    public var epoch: Int
    /// Steps taken since the run started (global, across epochs and resumes).
    public var step: Int
    /// The learning rate of step `step`.
    public var lr: Double
    /// The mean training loss and the fraction correct over the images of the steps since the previous line.
    public var loss: Double
    public var accuracy: Double
    /// Wall time since the run started (across resumes).
    public var elapsedSeconds: Double

    public init(epoch: Int, step: Int, lr: Double, loss: Double, accuracy: Double, elapsedSeconds: Double) {
        self.epoch = epoch; self.step = step; self.lr = lr; self.loss = loss; self.accuracy = accuracy
        self.elapsedSeconds = elapsedSeconds
    }

    public func jsonLine() throws -> String { try JSONLine.text(self, snakeCase: true) }
}

/// Appends step rows to steps.jsonl in a run directory (only runs with `--log-every` have one).
public struct StepLog {
    public let path: String

    public init(directory: String) {
        path = directory + "/steps.jsonl"
    }

    /// Creates the file with no rows, replacing what was there.
    public func start() throws {
        try AtomicWrite.text("", to: path)
    }

    /// Appends one row as a single write of a whole line.
    public func append(_ m: StepMetrics) throws {
        try AtomicWrite.appendLine(try m.jsonLine(), to: path)
    }

    /// The rows of steps.jsonl, skipping lines that do not parse; empty when there is no file.
    public func rows() -> [StepMetrics] {
        JSONLine.rows(AtomicWrite.contents(of: path), as: StepMetrics.self)
    }

    /// Keeps only the rows of steps ≤ `step` (used when resuming from a checkpoint taken after that step), so
    /// the resumed run writes each later row once, as an uninterrupted run does.
    public func truncate(toStep step: Int) throws {
        try AtomicWrite.text(try rows().filter { $0.step <= step }.map { try $0.jsonLine() + "\n" }.joined(), to: path)
    }
}
