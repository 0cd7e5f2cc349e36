// SafeTensorsError.swift — everything that can go wrong reading or writing a safetensors file.

import Foundation

/// An error reading, checking or writing a safetensors file.
///
/// Every case carries the path of the file it concerns (`file`), and `errorDescription` is one
/// line that names the file, says what is wrong and, where it can, how to fix it, e.g.
/// `model.safetensors: header length 9999999 exceeds the file size (120 bytes); the file is
/// truncated or not safetensors`.
///
/// Names, dtypes and reasons that came from a file are stored as read; the description quotes
/// them with control characters escaped and long ones shortened, so it stays one line.
public enum SafeTensorsError: Error, LocalizedError, Equatable, Sendable {
    /// There is no file at the path (or a component of the path is not a directory).
    case fileNotFound(file: String)
    /// The file exists but could not be opened or read; `reason` is the system's explanation.
    case unreadable(file: String, reason: String)
    /// The file is shorter than the 8-byte header length that starts every safetensors file.
    case tooShort(file: String, size: Int)
    /// The header length is larger than `limit` (`SafeTensorsFile.maxHeaderLength`).
    case headerTooLarge(file: String, headerLength: UInt64, limit: Int)
    /// The file is plainly something else (its first 8 bytes are text, or a gzip or PNG signature), which the
    /// header length read from them would otherwise hide.
    case notSafeTensors(file: String, looksLike: String)
    /// The header length runs past the end of the file (`fileSize` is the whole file's size).
    case headerBeyondFile(file: String, headerLength: UInt64, fileSize: Int)
    /// The header is not UTF-8 JSON, or does not start with `{`.
    case invalidJSON(file: String, reason: String)
    /// The header is valid JSON but not an object; `found` says what it is ("an array", ...).
    case notAnObject(file: String, found: String)
    /// `__metadata__` is not an object mapping strings to strings.
    case badMetadata(file: String, reason: String)
    /// A tensor's header entry is malformed (missing field, negative or fractional shape, ...).
    case badEntry(file: String, name: String, reason: String)
    /// A tensor names a dtype this library does not know.
    case unknownDType(file: String, name: String, dtype: String)
    /// A tensor's shape and dtype need `expectedBytes`, but its data offsets span `actualBytes`.
    case shapeMismatch(file: String, name: String, expectedBytes: Int, actualBytes: Int)
    /// A tensor's data offsets run past the end of the data buffer.
    case offsetsOutOfRange(file: String, name: String, begin: Int, end: Int, bufferLength: Int)
    /// Two tensors share bytes of the data buffer.
    case overlap(file: String, name: String, other: String)
    /// The bytes `[expectedBegin, begin)` before tensor `name` belong to no tensor.
    case gap(file: String, name: String, expectedBegin: Int, begin: Int)
    /// The tensors end at `used` but the data buffer is `bufferLength` bytes long.
    case trailingBytes(file: String, used: Int, bufferLength: Int)
    /// Two tensors have the same name (names are compared as Swift strings).
    case duplicateName(file: String, name: String)
    /// A conversion (`floats()`, `int64Scalars()`) was asked of a tensor whose dtype it cannot
    /// convert. `file` is the file the tensor was read from, or "(in memory)".
    case wrongDType(file: String, name: String, dtype: DType, expected: String)
    /// Writing the file failed; `reason` says at which step and why (e.g. no space left).
    case writeFailed(file: String, reason: String)

    /// The path of the file the error concerns.
    public var file: String {
        switch self {
        case .fileNotFound(let file), .unreadable(let file, _), .tooShort(let file, _),
             .headerTooLarge(let file, _, _), .headerBeyondFile(let file, _, _), .notSafeTensors(let file, _),
             .invalidJSON(let file, _), .notAnObject(let file, _), .badMetadata(let file, _),
             .badEntry(let file, _, _), .unknownDType(let file, _, _),
             .shapeMismatch(let file, _, _, _), .offsetsOutOfRange(let file, _, _, _, _),
             .overlap(let file, _, _), .gap(let file, _, _, _), .trailingBytes(let file, _, _),
             .duplicateName(let file, _), .wrongDType(let file, _, _, _),
             .writeFailed(let file, _):
            return file
        }
    }

    /// One line: the file, the problem and, where possible, the fix.
    public var errorDescription: String? {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file; HINT: check the path"
        case .unreadable(let file, let reason):
            return "\(file): cannot read the file: \(oneLine(reason))"
        case .tooShort(let file, let size):
            return "\(file): the file is only \(size) bytes, shorter than the 8-byte header length "
                + "that starts a safetensors file; the file is truncated or not safetensors"
        case .headerTooLarge(let file, let headerLength, let limit):
            return "\(file): header length \(headerLength) exceeds the limit of \(limit) bytes; "
                + "the file is corrupt or not safetensors"
        case .notSafeTensors(let file, let looksLike):
            return "\(file): not a safetensors file (it is \(looksLike)); HINT: give a .safetensors checkpoint or a run directory"
        case .headerBeyondFile(let file, let headerLength, let fileSize):
            return "\(file): header length \(headerLength) exceeds the file size (\(fileSize) bytes); "
                + "the file is truncated or not safetensors"
        case .invalidJSON(let file, let reason):
            return "\(file): the header is not valid JSON: \(oneLine(reason))"
        case .notAnObject(let file, let found):
            return "\(file): the header is \(oneLine(found)), not a JSON object mapping tensor names "
                + "to {\"dtype\", \"shape\", \"data_offsets\"}"
        case .badMetadata(let file, let reason):
            return "\(file): invalid \"__metadata__\": \(oneLine(reason)); it must be an object "
                + "mapping strings to strings"
        case .badEntry(let file, let name, let reason):
            return "\(file): tensor \(quoted(name)): \(oneLine(reason))"
        case .unknownDType(let file, let name, let dtype):
            let known = DType.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(file): tensor \(quoted(name)) has unknown dtype \(quoted(dtype)); "
                + "HINT: the supported dtypes are \(known)"
        case .shapeMismatch(let file, let name, let expectedBytes, let actualBytes):
            return "\(file): tensor \(quoted(name)): its shape and dtype need \(expectedBytes) bytes "
                + "but its data_offsets span \(actualBytes) bytes"
        case .offsetsOutOfRange(let file, let name, let begin, let end, let bufferLength):
            return "\(file): tensor \(quoted(name)): data_offsets [\(begin), \(end)] run past the end "
                + "of the \(bufferLength)-byte data buffer; the file is truncated or corrupt"
        case .overlap(let file, let name, let other):
            return "\(file): tensor \(quoted(name)) overlaps tensor \(quoted(other)) in the data buffer"
        case .gap(let file, let name, let expectedBegin, let begin):
            return "\(file): tensor \(quoted(name)) starts at offset \(begin) but the previous tensor "
                + "ends at \(expectedBegin); the bytes between belong to no tensor"
        case .trailingBytes(let file, let used, let bufferLength):
            return "\(file): the tensors cover \(used) of the \(bufferLength) bytes of the data buffer; "
                + "the bytes after them belong to no tensor"
        case .duplicateName(let file, let name):
            return "\(file): tensor name \(quoted(name)) appears more than once"
        case .wrongDType(let file, let name, let dtype, let expected):
            return "\(file): tensor \(quoted(name)) has dtype \(dtype.rawValue); expected \(expected)"
        case .writeFailed(let file, let reason):
            return "\(file): cannot write: \(oneLine(reason))"
        }
    }
}

/// `text` in single quotes, control characters escaped, shortened to about 80 characters.
func quoted(_ text: String) -> String {
    "'" + oneLine(text, limit: 80) + "'"
}

/// `text` with control characters escaped (so it fits on one line) and at most `limit`
/// characters long, ending in "…" when it was cut.
func oneLine(_ text: String, limit: Int = 300) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
        if count >= limit {
            out += "…"
            break
        }
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F
                || (0x80...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029 {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        count += 1
    }
    return out
}
