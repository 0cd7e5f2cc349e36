//  MetricsLog.swift
//
//  metrics.jsonl and metrics.csv: one row per epoch, appended as whole lines and flushed, so both files
//  always parse, even after a crash.

import Foundation

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

    /// Every column this row has a value for, with its value as written.
    var pairs: [(String, String)] {
        Array(zip(Self.columns, values)) + zip(Self.optionalColumns, optionalValues).compactMap { name, v in v.map { (name, fmt($0)) } }
    }

    public var jsonLine: String {
        "{" + pairs.map { "\"\($0)\":\($1)" }.joined(separator: ",") + "}"
    }

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
        try AtomicWrite.appendLine(m.jsonLine, to: jsonlPath)
        try AtomicWrite.appendLine(m.csvLine(columns), to: csvPath)
    }

    /// The rows of metrics.jsonl, skipping lines that do not parse (a torn last line cannot occur, but a
    /// hand-edited file might).
    public func rows() -> [EpochMetrics] {
        guard let bytes = AtomicWrite.contents(of: jsonlPath) else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return text.split(separator: "\n").compactMap { try? decoder.decode(EpochMetrics.self, from: Data($0.utf8)) }
    }

    /// Keeps only the rows of epochs ≤ `epoch` (used when resuming from a checkpoint taken at that epoch).
    public func truncate(toEpoch epoch: Int) throws {
        let kept = rows().filter { $0.epoch <= epoch }
        try AtomicWrite.text(kept.map { $0.jsonLine + "\n" }.joined(), to: jsonlPath)
        try AtomicWrite.text(([columns.joined(separator: ",")] + kept.map { $0.csvLine(columns) }).joined(separator: "\n") + "\n",
                             to: csvPath)
    }
}
