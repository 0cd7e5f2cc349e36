//  ImageFile.swift
//
//  Image files on disk: reading with a size cap, telling PNG, JPEG and PGM/PPM apart by their first bytes, and
//  replacing a file atomically, both through POSIXFile.

// One module with POSIXFile's sources when scripts/fuzz.sh compiles the readers alone.
#if canImport(POSIXFile)
import POSIXFile
#endif

/// Reading any supported image file, and atomic writes.
public enum ImageFile {
    /// Reads the image at `path`, whatever its format: PNG, JPEG (upright after its EXIF orientation), or
    /// PGM/PPM (P2, P5, P3, P6), told apart by the first bytes, not the file name.
    ///
    /// - Throws: `ImageError` naming `path`; ``ImageError/unknownFormat(file:detected:)`` for anything else
    ///   (naming GIF, BMP, TIFF and WebP when it sees them).
    public static func read(contentsOf path: String, limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        let bytes = try Self.bytes(contentsOf: path, limit: limits.maxFileBytes)
        return try decode(bytes, file: path, limits: limits)
    }

    /// Decodes an image file in memory, whatever its format (see ``read(contentsOf:limits:)``).
    public static func decode(_ bytes: [UInt8], file path: String = "<memory>", limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        if bytes.starts(with: PNG.signature) { return try PNG.decode(bytes, file: path, limits: limits) }
        if bytes.starts(with: JPEG.signature) { return try JPEG.decode(bytes, file: path, limits: limits) }
        if PNM.looksLikePNM(bytes) { return try PNM.decode(bytes, file: path, limits: limits) }
        throw .unknownFormat(file: path, detected: sniff(bytes))
    }

    /// The name of a common image format `bytes` starts with, if any.
    static func sniff(_ bytes: [UInt8]) -> String? {
        let known: [(String, [UInt8])] = [
            ("GIF", Array("GIF8".utf8)), ("BMP", Array("BM".utf8)),
            ("TIFF", [0x49, 0x49, 0x2A, 0x00]), ("TIFF", [0x4D, 0x4D, 0x00, 0x2A]),
        ]
        if let hit = known.first(where: { bytes.starts(with: $0.1) }) { return hit.0 }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return "WebP" }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(bytes[1]) {
            return "PBM/PAM (P\(Character(UnicodeScalar(bytes[1]))))"
        }
        return nil
    }

    /// The contents of the file at `path`, refusing files above `limit` bytes without reading them whole
    /// (`POSIXFile.read`).
    ///
    /// - Throws: ``ImageError/fileNotFound(file:)``, ``ImageError/unreadable(file:reason:)`` (also for a
    ///   directory or a device), ``ImageError/fileTooLarge(file:limit:)``.
    public static func bytes(contentsOf path: String, limit: Int) throws(ImageError) -> [UInt8] {
        do throws(POSIXFileError) {
            return try POSIXFile.read(path, limit: limit)
        } catch {
            throw ImageError(error)
        }
    }

    /// Replaces `path` with `bytes` so that readers see the old file or the new one, never a mix
    /// (`POSIXFile.replace`: a temporary file in the same directory, every byte written and fsynced, renamed
    /// over `path`, then the directory fsynced). On failure the temporary file is removed and `path` is
    /// untouched.
    ///
    /// - Throws: ``ImageError/unwritable(file:reason:)`` saying which step failed and why.
    public static func write(_ bytes: [UInt8], to path: String) throws(ImageError) {
        do throws(POSIXFileError) {
            try POSIXFile.replace(bytes, at: path)
        } catch {
            throw ImageError(error)
        }
    }
}

extension ImageError {
    /// The same failure in the image module's terms.
    init(_ error: POSIXFileError) {
        switch error {
        case let .notFound(file): self = .fileNotFound(file: file)
        case let .unreadable(file, reason): self = .unreadable(file: file, reason: reason)
        case let .tooLarge(file, limit): self = .fileTooLarge(file: file, limit: limit)
        case let .writeFailed(file, reason): self = .unwritable(file: file, reason: reason)
        }
    }
}
