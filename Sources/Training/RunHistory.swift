//  RunHistory.swift
//
//  The epochs a run directory's metrics.jsonl holds, and the steps its steps.jsonl holds (with
//  --log-every), named for a legend (what `cnn-plot curves` draws).

import Foundation

/// One run's complete epochs, its logged steps and the name a chart gives it.
public struct RunHistory: Sendable {
    public var name: String
    public var epochs: [EpochMetrics]
    /// The rows of steps.jsonl; empty when the run has none.
    public var steps: [StepMetrics]

    public init(name: String, epochs: [EpochMetrics], steps: [StepMetrics] = []) {
        self.name = name
        self.epochs = epochs
        self.steps = steps
    }

    /// Steps per epoch, from the first complete epoch (whose row holds the global step it ended at).
    public var stepsPerEpoch: Int? {
        guard let first = epochs.first, first.epoch > 0, first.step > 0 else { return nil }
        return first.step / first.epoch
    }

    /// Reads `metrics.jsonl` of each run directory. Runs are named by their last path component, or by the
    /// path as given when two would share a name.
    ///
    /// - Throws: `RunError.badRunDirectory` naming a directory that is missing or has no complete epoch.
    public static func load(runDirectories: [String]) throws -> [RunHistory] {
        let names = runDirectories.map { dir -> String in
            let trimmed = dir.hasSuffix("/") && dir.count > 1 ? String(dir.dropLast()) : dir
            return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
        }
        return try zip(runDirectories, names).map { dir, name in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RunError.badRunDirectory(dir, "no such run directory")
            }
            let log = MetricsLog(directory: dir)
            guard FileManager.default.fileExists(atPath: log.jsonlPath) else {
                throw RunError.badRunDirectory(dir, "no metrics.jsonl; give the directory cnn-train wrote (its --out)")
            }
            let rows = log.rows()
            guard !rows.isEmpty else { throw RunError.badRunDirectory(dir, "metrics.jsonl has no complete epoch yet") }
            let unique = names.filter { $0 == name }.count == 1
            return RunHistory(name: unique ? name : dir, epochs: rows, steps: StepLog(directory: dir).rows())
        }
    }
}
