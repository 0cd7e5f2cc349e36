//  AtomicWrite.swift
//
//  Whole-file writes (temporary file, fsync, rename) and whole-line appends for the run directory.

import Foundation
import POSIXFile
import SafeTensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File writes that never leave a half-written file behind (POSIXFile), with the run directory's error.
public enum AtomicWrite {
    /// Replaces `path` with `text` atomically (`POSIXFile.replace`).
    public static func text(_ text: String, to path: String) throws {
        try AtomicFile.write(Array(text.utf8), to: path)
    }

    /// Appends `line` and a newline with one `write` on an `O_APPEND` descriptor, then fsyncs
    /// (`POSIXFile.appendLine`).
    ///
    /// If the write comes up short (a full disk) or fails, the file is cut back to its old length, so it
    /// never ends in a partial line; the error names the file.
    public static func appendLine(_ line: String, to path: String) throws {
        do throws(POSIXFileError) {
            try POSIXFile.appendLine(line, to: path)
        } catch {
            guard case let .writeFailed(file, reason) = error else { throw RunError.cannotWrite(path, error.description) }
            throw RunError.cannotWrite(file, reason)
        }
    }

    /// Removes the temporary files (`.<name>.tmp-<pid>-<random>`, see `POSIXFile.replace`) that a process
    /// killed in the middle of a write left in `directory`, when that process no longer exists.
    public static func removeStaleTemporaryFiles(in directory: String) {
        POSIXFile.removeStaleTemporaryFiles(in: directory)
    }

    /// The bytes of the file at `path`, or nil if it cannot be read (`POSIXFile.read`: plain read(2) rather
    /// than Foundation's `String(contentsOfFile:)`, which in this toolchain leaks a 4 KiB buffer on an empty
    /// file; LeakSanitizer reports it, and fails the process).
    public static func contents(of path: String) -> [UInt8]? {
        try? POSIXFile.read(path)
    }

    /// Creates `path` and its parents; the error names the path.
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RunError.cannotWrite(path, "cannot create the directory")
        }
        guard access(path, W_OK) == 0 else { throw RunError.cannotWrite(path, "the directory is not writable") }
    }
}
