//  AtomicWrite.swift
//
//  Whole-file writes (temporary file, fsync, rename) and whole-line appends for the run directory.

import Foundation
import SafeTensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File writes that never leave a half-written file behind.
public enum AtomicWrite {
    /// Replaces `path` with `text` atomically.
    public static func text(_ text: String, to path: String) throws {
        try AtomicFile.write(Array(text.utf8), to: path)
    }

    /// Appends `line` and a newline with one `write` on an `O_APPEND` descriptor, then fsyncs.
    public static func appendLine(_ line: String, to path: String) throws {
        let bytes = Array((line + "\n").utf8)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw RunError.cannotWrite(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RunError.cannotWrite(path, String(cString: strerror(errno)))
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw RunError.cannotWrite(path, String(cString: strerror(errno))) }
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
