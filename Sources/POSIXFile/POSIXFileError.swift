// POSIXFileError.swift — the one error of POSIXFile, naming the file and what went wrong.

/// What went wrong with a file, in one line that names it. The modules above map it into their own
/// `LocalizedError`s (SafeTensorsError, ImageError, RunError), which keeps this module free of Foundation.
public enum POSIXFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at the path (ENOENT, or a component that is not a directory).
    case notFound(file: String)
    /// The file exists but cannot be read (permission, a directory, a device, an I/O error).
    case unreadable(file: String, reason: String)
    /// The file holds more than `limit` bytes; it was not read whole.
    case tooLarge(file: String, limit: Int)
    /// Writing failed; `reason` says at which step and why, with a hint for the common causes.
    case writeFailed(file: String, reason: String)

    public var file: String {
        switch self {
        case let .notFound(file), let .unreadable(file, _), let .tooLarge(file, _), let .writeFailed(file, _): return file
        }
    }

    public var description: String {
        switch self {
        case let .notFound(file): return "\(file): no such file"
        case let .unreadable(file, reason): return "\(file): cannot read it: \(reason)"
        case let .tooLarge(file, limit): return "\(file): larger than \(limit) bytes"
        case let .writeFailed(file, reason): return "\(file): cannot write it: \(reason)"
        }
    }
}
