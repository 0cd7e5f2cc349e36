//  PNGError.swift
//
//  Everything that can go wrong reading or writing an image file, as one line naming the file.

import Foundation

/// A problem with an image file: missing, unreadable, malformed, or in a form the decoders do not handle.
///
/// Nothing in the `PNG` module traps on bad input: every problem with a file's contents ends up as one of
/// these cases, and ``errorDescription`` names the file, says what is wrong, and where it helps, how to fix it.
public enum PNGError: Error, LocalizedError, Equatable, Sendable {
    // MARK: Files

    /// There is no file at `file`.
    case fileNotFound(file: String)
    /// The file exists but cannot be read (a directory, permissions, an I/O error).
    case unreadable(file: String, reason: String)
    /// The file is larger than the byte limit.
    case fileTooLarge(file: String, limit: Int)
    /// The file cannot be written; `reason` names the step that failed.
    case unwritable(file: String, reason: String)
    /// Neither PNG nor PNM; `detected` names the format when it is a common one (JPEG, GIF, ...).
    case unknownFormat(file: String, detected: String?)

    // MARK: PNG

    /// The first 8 bytes are not the PNG signature 89 50 4E 47 0D 0A 1A 0A.
    case notPNG(file: String)
    /// The file ends early; `detail` says where.
    case truncated(file: String, detail: String)
    /// A chunk's stored CRC-32 does not match its type and data.
    case badCRC(file: String, chunk: String, stored: UInt32, computed: UInt32)
    /// The chunks are malformed or out of order (IHDR not first, IDAT not consecutive, a bad PLTE, ...).
    case badChunk(file: String, detail: String)
    /// IHDR holds values the PNG specification does not allow.
    case badHeader(file: String, detail: String)
    /// A valid bit depth this decoder does not read (16 bits per sample).
    case unsupportedBitDepth(file: String, bitDepth: Int, colorType: Int)
    /// Adam7 interlacing.
    case unsupportedInterlace(file: String)
    /// A critical chunk this decoder does not know (its type starts with an upper-case letter).
    case unsupportedChunk(file: String, chunk: String)
    /// Width × height is above the limit the caller allowed.
    case imageTooLarge(file: String, width: Int, height: Int, limit: Int)
    /// The compressed image data is corrupt, too short or too long, or a row has a bad filter type.
    case corruptImageData(file: String, detail: String)

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
            let what = detected.map { "a \($0) image" } ?? "neither a PNG nor a PGM/PPM image"
            return "\(f): \(what); only PNG and PGM/PPM are read (convert it first, e.g. `convert \(f) digit.png`)"
        case let .notPNG(f):
            return "\(f): not a PNG file (the first 8 bytes are not the PNG signature)"
        case let .truncated(f, detail):
            return "\(f): truncated: \(detail)"
        case let .badCRC(f, chunk, stored, computed):
            return "\(f): chunk \(chunk) is corrupt: its CRC-32 is \(hex(computed)) but the file says \(hex(stored))"
        case let .badChunk(f, detail):
            return "\(f): malformed PNG: \(detail)"
        case let .badHeader(f, detail):
            return "\(f): malformed PNG header (IHDR): \(detail)"
        case let .unsupportedBitDepth(f, depth, type):
            return "\(f): \(depth)-bit \(colorTypeName(type)) PNGs are not supported; save it with 8 bits per sample (e.g. `convert \(f) -depth 8 out.png`)"
        case let .unsupportedInterlace(f):
            return "\(f): interlaced (Adam7) PNGs are not supported; save it without interlacing (e.g. `convert \(f) -interlace none out.png`)"
        case let .unsupportedChunk(f, chunk):
            return "\(f): unknown critical chunk \(chunk); the image cannot be decoded without it"
        case let .imageTooLarge(f, w, h, limit):
            return "\(f): the image is \(w)×\(h) pixels, above the limit of \(limit) pixels"
        case let .corruptImageData(f, detail):
            return "\(f): corrupt image data: \(detail)"
        case let .badPNM(f, detail):
            return "\(f): malformed PGM/PPM: \(detail)"
        case let .unsupportedMaxval(f, maxval):
            return "\(f): maxval \(maxval) means more than 8 bits per sample, which is not supported (maxval must be at most 255)"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

/// The PNG specification's name for a colour type.
func colorTypeName(_ type: Int) -> String {
    switch type {
    case 0: return "grayscale"
    case 2: return "RGB"
    case 3: return "palette"
    case 4: return "grayscale+alpha"
    case 6: return "RGBA"
    default: return "colour type \(type)"
    }
}
