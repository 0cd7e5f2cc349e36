//  ImageFile.swift
//
//  Image files on disk: reading with a size cap, telling PNG, JPEG and PGM/PPM apart by their first bytes, and
//  replacing a file atomically (temporary file in the same directory, fsync, rename, fsync the directory).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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

    /// The contents of the file at `path`, refusing files above `limit` bytes without reading them whole.
    ///
    /// - Throws: ``ImageError/fileNotFound(file:)``, ``ImageError/unreadable(file:reason:)`` (also for a
    ///   directory), ``ImageError/fileTooLarge(file:limit:)``.
    public static func bytes(contentsOf path: String, limit: Int) throws(ImageError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .fileNotFound(file: path) }
        if isDirectory.boolValue { throw .unreadable(file: path, reason: "it is a directory") }
        guard let handle = fopen(path, "rb") else {
            throw errno == ENOENT ? .fileNotFound(file: path) : .unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > limit { throw .fileTooLarge(file: path, limit: limit) }
            if n < chunk.count {
                if ferror(handle) != 0 { throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
                return bytes
            }
        }
    }

    /// Replaces `path` with `bytes` so that readers see the old file or the new one, never a mix:
    /// a temporary file in the same directory (O_EXCL), every byte written and fsynced, renamed over `path`,
    /// then the directory fsynced. On failure the temporary file is removed and `path` is untouched.
    ///
    /// - Throws: ``ImageError/unwritable(file:reason:)`` saying which step failed and why.
    public static func write(_ bytes: [UInt8], to path: String) throws(ImageError) {
        let slash = path.lastIndex(of: "/")
        let directoryPrefix = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, name != ".", name != ".." else {
            throw .unwritable(file: path, reason: "the path names a directory, not a file")
        }
        let directory = directoryPrefix.isEmpty ? "." : directoryPrefix
        func failure(_ step: String) -> ImageError {
            .unwritable(file: path, reason: "\(step): \(String(cString: strerror(errno)))")
        }

        var temporary = "", fd: Int32 = -1
        for _ in 0..<16 {
            temporary = directoryPrefix + "." + name + ".tmp-\(getpid())-" + String(UInt32.random(in: .min ... .max), radix: 16)
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw failure("cannot create a temporary file in \(directory)") }
        var written = 0, writeError: Int32 = 0
        bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    writeError = errno
                    return
                }
                written += n
            }
        }
        if writeError != 0 || fsync(fd) != 0 {
            if writeError != 0 { errno = writeError }
            let error = failure("cannot write \(temporary)")
            close(fd)
            unlink(temporary)
            throw error
        }
        guard close(fd) == 0 else {
            let error = failure("cannot close \(temporary)")
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = failure("cannot rename the temporary file over it")
            unlink(temporary)
            throw error
        }
        let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
