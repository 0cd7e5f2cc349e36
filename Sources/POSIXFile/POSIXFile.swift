// POSIXFile.swift — whole-file replacement, line appends and whole-file reads through the C library.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("POSIXFile needs the POSIX C library (Glibc, Musl or Darwin)")
#endif

/// Files that are written whole or not at all, appended a whole line at a time, and read with a size cap.
public enum POSIXFile {
    /// Writes `bytes` to `path` so that the file is either entirely old or entirely new, even
    /// after a crash or power loss:
    ///
    /// 1. create `.<name>.tmp-<pid>-<random>` in the same directory (O_EXCL, mode 0666 & ~umask);
    /// 2. write all of `bytes` (short writes continued, EINTR retried) and fsync it;
    /// 3. rename it over `path` (atomic within one file system);
    /// 4. fsync the directory so the rename itself is on disk.
    ///
    /// If a step before the rename fails, the temporary file is removed and the old file at
    /// `path` (if any) is untouched. A symbolic link at `path` is replaced, not followed.
    /// The new file's mode is 0666 less the umask, whatever the old file's was.
    ///
    /// - Throws: `POSIXFileError.writeFailed(file: path, reason:)` saying which step failed
    ///   and why (no space left on device, permission denied, not a directory, ...).
    public static func replace(_ bytes: [UInt8], at path: String) throws(POSIXFileError) {
        func failure(_ step: String, _ code: Int32) -> POSIXFileError {
            .writeFailed(file: path, reason: "\(step): \(errnoDescription(code))\(hint(for: code))")
        }

        // The directory part keeps its trailing slash: "a/b/x" -> "a/b/", "x" -> "".
        let slash = path.lastIndex(of: "/")
        let directoryPrefix = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, name != ".", name != ".." else {
            throw .writeFailed(file: path, reason: "the path names a directory, not a file")
        }
        let directory = directoryPrefix.isEmpty ? "." : directoryPrefix

        // 1. A fresh temporary file (O_EXCL: never reuse one left by another process).
        var temporaryPath = ""
        var descriptor: Int32 = -1
        for _ in 0..<16 {
            let suffix = String(UInt32.random(in: .min ... .max), radix: 16)
            temporaryPath = directoryPrefix + "." + name + temporaryMarker + "\(getpid())-" + suffix
            descriptor = sysOpen(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw failure("cannot create a temporary file in \(directory)", errno)
        }

        // 2. Contents, then fsync. On any failure: close, remove the temporary file, throw.
        var failed: POSIXFileError?
        var written = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while written < raw.count {
                let count = sysWrite(descriptor, base + written, raw.count - written)
                if count > 0 {
                    written += count
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    failed = count == 0
                        ? .writeFailed(file: path, reason: "writing the temporary file \(temporaryPath) made no progress")
                        : failure("writing the temporary file \(temporaryPath) after \(written) of \(raw.count) bytes", errno)
                    return
                }
            }
        }
        if failed == nil, sysFsync(descriptor) != 0 {
            failed = failure("fsync of the temporary file \(temporaryPath)", errno)
        }
        // close() after an error may not be retried: the descriptor is gone either way.
        if close(descriptor) != 0, failed == nil, errno != EINTR {
            failed = failure("closing the temporary file \(temporaryPath)", errno)
        }
        if let failed {
            unlink(temporaryPath)
            throw failed
        }

        // 3. The atomic switch.
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw failure("renaming \(temporaryPath) over the target", code)
        }

        // 4. Make the rename durable. Some file systems cannot fsync a directory (EINVAL);
        //    the new file is in place by now, so only a real I/O error is reported.
        let directoryDescriptor = sysOpen(directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            let result = sysFsync(directoryDescriptor)
            let code = errno
            close(directoryDescriptor)
            if result != 0, code == EIO {
                throw failure("the file was replaced but fsync of the directory \(directory) failed", code)
            }
        }
    }

    /// Appends `line` and a newline with one `write` on an `O_APPEND` descriptor (creating the file, mode
    /// 0644 less the umask), then fsyncs.
    ///
    /// If the write comes up short (a full disk) or fails, the file is cut back to its old length, so it
    /// never ends in a partial line.
    ///
    /// - Throws: `POSIXFileError.writeFailed(file: path, reason:)`: the errno text, with a hint.
    public static func appendLine(_ line: String, to path: String) throws(POSIXFileError) {
        func failure(_ code: Int32) -> POSIXFileError {
            .writeFailed(file: path, reason: errnoDescription(code) + hint(for: code))
        }
        let bytes = Array((line + "\n").utf8)
        let descriptor = sysOpen(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure(errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(errno) }
        let oldLength = status.st_size
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { sysWrite(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                let code = count < 0 ? errno : ENOSPC  // write(2) returning 0 for a non-empty buffer: no room
                if written > 0 { _ = ftruncate(descriptor, oldLength) }
                throw failure(code)
            }
            written += count
        }
        guard sysFsync(descriptor) == 0 else { throw failure(errno) }
    }

    /// Reads the whole file at `path`, refusing it without reading it whole when it holds more than `limit`
    /// bytes.
    ///
    /// - Throws: `POSIXFileError.notFound` (ENOENT, ENOTDIR), `.tooLarge`, or `.unreadable` (anything
    ///   else: permission denied, a directory ("it is a directory"), a device ("it is a device, not a
    ///   regular file", which would be read until memory runs out), an I/O error).
    public static func read(_ path: String, limit: Int = .max) throws(POSIXFileError) -> [UInt8] {
        let descriptor = sysOpen(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .notFound(file: path) }
            throw .unreadable(file: path, reason: errnoDescription(code))
        }
        defer { close(descriptor) }

        var status = stat()
        var bytes: [UInt8] = []
        if fstat(descriptor, &status) == 0 {
            let type = status.st_mode & S_IFMT
            if type == S_IFDIR { throw .unreadable(file: path, reason: "it is a directory") }
            if type == S_IFCHR || type == S_IFBLK { throw .unreadable(file: path, reason: "it is a device, not a regular file") }
            if status.st_size > limit { throw .tooLarge(file: path, limit: limit) }
            // The file's real size (not a number read from it), as a capacity hint.
            if status.st_size > 0 { bytes.reserveCapacity(Int(clamping: status.st_size)) }
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw -> Int in sysRead(descriptor, raw.baseAddress!, raw.count) }
            if count > 0 {
                bytes += chunk[0..<count]
                // A file that grows while it is read (or a pipe) is held to the limit too.
                if bytes.count > limit { throw .tooLarge(file: path, limit: limit) }
            } else if count == 0 {
                return bytes
            } else if errno != EINTR {
                throw .unreadable(file: path, reason: errnoDescription(errno))
            }
        }
    }

    /// Removes the temporary files (`.<name>.tmp-<pid>-<random>`, see `replace`) that a process killed in
    /// the middle of a write left in `directory`, when that process no longer exists.
    public static func removeStaleTemporaryFiles(in directory: String) {
        guard let stream = opendir(directory) else { return }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            names.append(name)
        }
        closedir(stream)
        let marker = Array(temporaryMarker.utf8)
        for name in names where name.hasPrefix(".") {
            // What follows the last ".tmp-": "<pid>-<random>".
            let bytes = Array(name.utf8)
            guard bytes.count > marker.count,
                  let at = (0...(bytes.count - marker.count)).last(where: { bytes[$0..<($0 + marker.count)].elementsEqual(marker) })
            else { continue }
            let fields = String(decoding: bytes[(at + marker.count)...], as: UTF8.self).split(separator: "-")
            guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// What sits between a temporary file's target name and its process id.
    static let temporaryMarker = ".tmp-"

    /// A fix for the common failures, after a semicolon; empty for the rest.
    static func hint(for code: Int32) -> String {
        switch code {
        case ENOSPC, EDQUOT: return "; free some disk space or write elsewhere"
        case EACCES, EPERM: return "; check the permissions of the directory"
        case EROFS: return "; the file system is read-only, write elsewhere"
        case ENOENT: return "; the directory does not exist, create it first"
        case ENOTDIR: return "; a component of the path is not a directory"
        case EFBIG: return "; the file exceeds the size limit (ulimit -f)"
        default: return ""
        }
    }
}

// MARK: - The C calls, named `sys*` so they cannot be confused with the methods called `read` and `write`

/// The system's description of `code`, e.g. "No space left on device".
func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// `open(2)`, retried on EINTR; returns the descriptor or -1 with `errno` set.
func sysOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    while true {
        let descriptor = open(path, flags, mode)
        if descriptor >= 0 || errno != EINTR { return descriptor }
    }
}

/// `read(2)`; returns the byte count, 0 at end of file, or -1 with `errno` set.
func sysRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(descriptor, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(descriptor, buffer, count)
    #else
    return Darwin.read(descriptor, buffer, count)
    #endif
}

/// `write(2)`; returns the byte count written (possibly short) or -1 with `errno` set.
func sysWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(descriptor, buffer, count)
    #else
    return Darwin.write(descriptor, buffer, count)
    #endif
}

/// `fsync(2)`, retried on EINTR; 0 or -1 with `errno` set.
func sysFsync(_ descriptor: Int32) -> Int32 {
    while true {
        let result = fsync(descriptor)
        if result == 0 || errno != EINTR { return result }
    }
}
