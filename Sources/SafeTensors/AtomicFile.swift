// AtomicFile.swift — replace a file so that readers see the old contents or the new, never a mix.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic, durable file replacement, for checkpoints, config.json and the like.
public enum AtomicFile {
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
    /// - Throws: `SafeTensorsError.writeFailed(file: path, reason:)` saying which step failed
    ///   and why (no space left on device, permission denied, not a directory, ...).
    public static func write(_ bytes: [UInt8], to path: String) throws {
        func failure(_ step: String, _ code: Int32) -> SafeTensorsError {
            .writeFailed(file: path, reason: "\(step): \(errnoDescription(code))\(hint(for: code))")
        }

        // The directory part keeps its trailing slash: "a/b/x" -> "a/b/", "x" -> "".
        let slash = path.lastIndex(of: "/")
        let directoryPrefix = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, name != ".", name != ".." else {
            throw SafeTensorsError.writeFailed(file: path, reason: "the path names a directory, not a file")
        }
        let directory = directoryPrefix.isEmpty ? "." : directoryPrefix

        // 1. A fresh temporary file (O_EXCL: never reuse one left by another process).
        var temporaryPath = ""
        var descriptor: Int32 = -1
        for _ in 0..<16 {
            let suffix = String(UInt32.random(in: .min ... .max), radix: 16)
            temporaryPath = directoryPrefix + "." + name + ".tmp-\(getpid())-" + suffix
            descriptor = sysOpen(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw failure("cannot create a temporary file in \(directory)", errno)
        }

        // 2. Contents, then fsync. On any failure: close, remove the temporary file, throw.
        var failed: SafeTensorsError?
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
