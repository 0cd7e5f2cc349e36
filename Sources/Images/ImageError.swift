//  ImageError.swift
//
//  Everything that can go wrong reading or writing an image file, as one line naming the file.

import Foundation

/// A problem with an image file: missing, unreadable, malformed, or in a form the readers do not handle.
///
/// Nothing in the `Images` module traps on bad input: every problem with a file's contents ends up as one of
/// these cases, and ``errorDescription`` names the file, says what is wrong, and where it helps, how to fix it.
public enum ImageError: Error, LocalizedError, Equatable, Sendable {
    // MARK: Files

    /// There is no file at `file`.
    case fileNotFound(file: String)
    /// The file exists but cannot be read (a directory, permissions, an I/O error).
    case unreadable(file: String, reason: String)
    /// The file is larger than the byte limit.
    case fileTooLarge(file: String, limit: Int)
    /// The file cannot be written; `reason` names the step that failed.
    case unwritable(file: String, reason: String)
    /// Neither PNG, JPEG nor PNM; `detected` names the format when it is a common one (GIF, BMP, ...).
    case unknownFormat(file: String, detected: String?)
    /// Width × height is above the limit the caller allowed (or zero).
    case imageTooLarge(file: String, width: Int, height: Int, limit: Int)

    // MARK: PNG (libspng)

    /// libspng refused the file; `detail` is its message (spng_strerror).
    case badPNG(file: String, detail: String)
    /// libspng refused to encode an image; `detail` is its message.
    case cannotEncodePNG(file: String, detail: String)

    // MARK: JPEG (TurboJPEG)

    /// TurboJPEG refused the file; `detail` is its message (tjGetErrorStr2).
    case badJPEG(file: String, detail: String)

    // MARK: PNM (PGM, PPM)

    /// A malformed PGM or PPM header or body.
    case badPNM(file: String, detail: String)
    /// A PGM or PPM with more than 8 bits per sample (maxval above 255).
    case unsupportedMaxval(file: String, maxval: Int)

    public var errorDescription: String? {
        switch self {
        case let .fileNotFound(f):
            return "\(f): no such file"
        case let .unreadable(f, why):
            return "\(f): cannot read: \(why)"
        case let .fileTooLarge(f, limit):
            return "\(f): larger than \(limit) bytes; not read"
        case let .unwritable(f, why):
            return "\(f): cannot write: \(why)"
        case let .unknownFormat(f, detected):
            let what = detected.map { "a \($0) image" } ?? "neither a PNG, a JPEG nor a PGM/PPM image"
            return "\(f): \(what); HINT: only PNG, JPEG and PGM/PPM are read: convert it first, e.g. `convert \(f) digit.png`"
        case let .imageTooLarge(f, w, h, limit):
            return "\(f): the image is \(w)×\(h) pixels; it must have 1 to \(limit) pixels"
        case let .badPNG(f, detail):
            return "\(f): malformed PNG: \(oneLine(detail))"
        case let .cannotEncodePNG(f, detail):
            return "\(f): cannot encode the PNG: \(oneLine(detail))"
        case let .badJPEG(f, detail):
            return "\(f): malformed JPEG: \(oneLine(detail))"
        case let .badPNM(f, detail):
            return "\(f): malformed PGM/PPM: \(detail)"
        case let .unsupportedMaxval(f, maxval):
            return "\(f): maxval \(maxval) means more than 8 bits per sample, which is not supported (maxval must be at most 255)"
        }
    }
}

/// A library's message on one line: newlines and control characters become spaces.
func oneLine(_ s: String) -> String {
    String(s.unicodeScalars.map { $0.value < 0x20 ? " " : Character($0) }).trimmingCharacters(in: .whitespaces)
}
