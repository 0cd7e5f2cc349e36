//  ClassNames.swift
//
//  The names of the classes, for data that is not digits (Fashion-MNIST, KMNIST): `cnn-train --classes FILE`
//  reads one name a line, in label order (line 1 names label 0). A run keeps them in config.json's
//  configuration ("class_names") and in every checkpoint's metadata ("class_names": a JSON array of
//  strings, written by JSONEncoder). cnn-eval, cnn-predict and the pictures label class k with names[k],
//  and with the digit k when a checkpoint has no names (those written before the names existed, or trained
//  without --classes).

import Foundation

public enum ClassNames {
    /// The checkpoint metadata key.
    public static let metadataKey = "class_names"
    /// The longest name taken, in characters, so that tables and pictures stay readable.
    public static let maximumLength = 40

    /// Reads a names file written for `classes` classes.
    ///
    /// - Throws: `ClassNamesError` naming the file: unreadable, an empty or over-long name, a name given
    ///   twice, or another number of names than `classes`.
    public static func read(contentsOf path: String, classes: Int) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw ClassNamesError.unreadable(path, !exists ? "no such file" : isDirectory.boolValue ? "it is a directory" : "cannot read it")
        }
        guard data.count <= 1 << 20, let text = String(data: data, encoding: .utf8) else {
            throw ClassNamesError.malformed(path, "not a UTF-8 text file of at most 1 MiB")
        }
        return try parse(text, path: path, classes: classes)
    }

    /// The names in `text`: one a line (LF or CR LF), spaces around a name ignored, a final newline optional;
    /// `path` names the file in errors.
    public static func parse(_ text: String, path: String, classes: Int) throws -> [String] {
        // "\r\n" is one Character in Swift, so it is turned into "\n" before splitting.
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if lines.last == "" { lines.removeLast() }
        var seen: [String: Int] = [:]
        for (i, name) in lines.enumerated() {
            guard !name.isEmpty else { throw ClassNamesError.malformed(path, "line \(i + 1) is empty") }
            guard name.count <= maximumLength else {
                throw ClassNamesError.malformed(path, "line \(i + 1) is longer than \(maximumLength) characters")
            }
            guard !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
                throw ClassNamesError.malformed(path, "line \(i + 1) holds a control character")
            }
            if let first = seen[name] { throw ClassNamesError.malformed(path, "line \(i + 1) repeats '\(name)' of line \(first)") }
            seen[name] = i + 1
        }
        guard lines.count == classes else { throw ClassNamesError.wrongCount(path, names: lines.count, classes: classes) }
        return lines
    }

    /// The metadata value: a JSON array of the names.
    public static func metadataValue(_ names: [String]) throws -> String {
        try JSONLine.text(names)
    }

    /// The names in `metadata`, nil when it has none; `outputs` is the number of classes the network scores.
    ///
    /// - Throws: `CheckpointError.badMetadata` naming `path` when the value is not a JSON array of `outputs` strings.
    public static func decode(_ metadata: [String: String], outputs: Int, path: String) throws -> [String]? {
        guard let value = metadata[metadataKey] else { return nil }
        guard let names = try? JSONDecoder().decode([String].self, from: Data(value.utf8)) else {
            throw CheckpointError.badMetadata(path, "\"\(metadataKey)\" is not a JSON array of strings")
        }
        guard names.count == outputs else {
            throw CheckpointError.badMetadata(path, "\"\(metadataKey)\" has \(names.count) names but the network scores \(outputs) classes")
        }
        return names
    }

    /// What to call class `k`: its name, or its digits without names.
    public static func label(_ k: Int, in names: [String]?) -> String {
        if let names, names.indices.contains(k) { return names[k] }
        return String(k)
    }
}

extension Checkpoint {
    /// The number of classes the network scores (its output's size for one image).
    public var outputs: Int {
        network.outputShape(for: [1, input.channels, input.height, input.width])?.dropFirst().reduce(1, *) ?? 0
    }

    /// The class names in the metadata (checked when the checkpoint was read), nil without them.
    public var classNames: [String]? {
        try? ClassNames.decode(metadata, outputs: outputs, path: "")
    }
}

/// What is wrong with a `--classes` file. The messages name the file.
public enum ClassNamesError: Error, LocalizedError, Equatable {
    case unreadable(String, String)
    case malformed(String, String)
    case wrongCount(String, names: Int, classes: Int)

    public var errorDescription: String? {
        let hint = "HINT: one class name a line, in label order (line 1 names label 0)"
        switch self {
        case let .unreadable(f, why):
            return "--classes \(f): \(why)"
        case let .malformed(f, why):
            return "--classes \(f): \(why); \(hint)"
        case let .wrongCount(f, n, classes):
            return "--classes \(f): \(n) name\(n == 1 ? "" : "s"), but the labels have \(classes) classes; \(hint)"
        }
    }
}
