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
    ///
    /// If the write comes up short (a full disk) or fails, the file is cut back to its old length, so it
    /// never ends in a partial line; the error names the file.
    public static func appendLine(_ line: String, to path: String) throws {
        let bytes = Array((line + "\n").utf8)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunError.cannotWrite(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw RunError.cannotWrite(path, String(cString: strerror(errno))) }
        let oldLength = status.st_size
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let code = n < 0 ? errno : ENOSPC  // write(2) returning 0 for a non-empty buffer: no room
                if written > 0 { _ = ftruncate(fd, oldLength) }
                throw RunError.cannotWrite(path, String(cString: strerror(code)) + hint(code))
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw RunError.cannotWrite(path, String(cString: strerror(errno))) }
    }

    private static func hint(_ code: Int32) -> String {
        code == ENOSPC || code == EDQUOT ? "; free some disk space" : code == EFBIG ? "; the file exceeds the size limit (ulimit -f)" : ""
    }

    /// Removes the temporary files (`.<name>.tmp-<pid>-<random>`, see `AtomicFile.write`) that a process
    /// killed in the middle of a write left in `directory`, when that process no longer exists.
    public static func removeStaleTemporaryFiles(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(".") {
            guard let range = name.range(of: ".tmp-", options: .backwards) else { continue }
            let fields = name[range.upperBound...].split(separator: "-")
            guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// The bytes of the file at `path`, or nil if it cannot be read. Plain read(2) rather than Foundation's
    /// `String(contentsOfFile:)`, which in this toolchain leaks a 4 KiB buffer on an empty file (LeakSanitizer
    /// reports it, and fails the process).
    public static func contents(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
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
