//  RunHistory.swift
//
//  The epochs a run directory's metrics.jsonl holds, named for a legend (what `cnn-plot curves` draws).

import Foundation

/// One run's complete epochs and the name a chart gives it.
public struct RunHistory: Sendable {
    public var name: String
    public var epochs: [EpochMetrics]

    public init(name: String, epochs: [EpochMetrics]) {
        self.name = name
        self.epochs = epochs
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
            return RunHistory(name: unique ? name : dir, epochs: rows)
        }
    }
}
