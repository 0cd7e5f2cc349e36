//  ModelPath.swift
//
//  What a checkpoint argument names: a .safetensors file as it is, or a run directory's model. In a run
//  directory that means model-best.safetensors when the run has one (chosen on its --validation split, never
//  on the test set); else its final model.safetensors; else its newest epoch checkpoint.

import Foundation

/// Resolving a checkpoint argument that may be a run directory.
public enum ModelPath {
    /// The .safetensors file `path` stands for (see the file header); `path` itself when it is not a directory.
    ///
    /// - Throws: `RunError.badRunDirectory` when `path` is a directory with no model in it.
    public static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        let dir = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        let best = dir + "/model-best.safetensors"
        if FileManager.default.fileExists(atPath: best) { return best }
        let final = dir + "/model.safetensors"
        let hasFinal = FileManager.default.fileExists(atPath: final)
        if hasFinal { return final }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints")) ?? []
        if let newest = names.filter({ $0.hasPrefix("epoch-") && $0.hasSuffix(".safetensors") && !$0.hasSuffix(".state.safetensors") }).max() {
            return dir + "/checkpoints/" + newest
        }
        throw RunError.badRunDirectory(dir, "a directory with no model.safetensors and no epoch checkpoint; give a .safetensors file or a run directory cnn-train wrote")
    }
}
