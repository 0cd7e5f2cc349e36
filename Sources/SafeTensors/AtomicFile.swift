// AtomicFile.swift — replace a file so that readers see the old contents or the new, never a mix
// (POSIXFile.replace), with SafeTensors' error.

// One module with POSIXFile's sources when scripts/fuzz.sh compiles the reader alone.
#if canImport(POSIXFile)
import POSIXFile
#endif

/// Atomic, durable file replacement, for checkpoints, config.json and the like.
public enum AtomicFile {
    /// Writes `bytes` to `path` so that the file is either entirely old or entirely new, even after a crash
    /// or power loss (temporary file, fsync, rename, fsync of the directory: `POSIXFile.replace`). After a
    /// failure the old file at `path` (if any) is untouched and no temporary file is left.
    ///
    /// - Throws: `SafeTensorsError.writeFailed(file: path, reason:)` saying which step failed
    ///   and why (no space left on device, permission denied, not a directory, ...).
    public static func write(_ bytes: [UInt8], to path: String) throws {
        do throws(POSIXFileError) {
            try POSIXFile.replace(bytes, at: path)
        } catch {
            throw SafeTensorsError(error)
        }
    }
}

extension SafeTensorsError {
    /// The same failure in SafeTensors' terms.
    init(_ error: POSIXFileError) {
        switch error {
        case let .notFound(file): self = .fileNotFound(file: file)
        case let .unreadable(file, reason): self = .unreadable(file: file, reason: reason)
        case let .tooLarge(file, limit): self = .unreadable(file: file, reason: "it is larger than \(limit) bytes")
        case let .writeFailed(file, reason): self = .writeFailed(file: file, reason: reason)
        }
    }
}
