//  BuildInfo.swift
//
//  The version of the tools and the git commit they were built from (`commit`, in the file BuildInfoPlugin
//  writes before each build), for `--version`.

/// What `--version` prints.
public enum BuildInfo {
    /// The tools' version: the one constant, also written into every checkpoint's metadata and config.json
    /// (Training.Trainer) and into exported ONNX models.
    public static let version = "0.1.0"

    /// "cnn-train 0.1.0 (commit 0123456789ab)".
    public static func versionLine(tool: String) -> String {
        "\(tool) \(version) (commit \(commit))"
    }
}
