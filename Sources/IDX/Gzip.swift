import CZlib

/// Whole-buffer gzip compression and decompression through zlib (RFC 1952 wrapper, windowBits
/// 15 + 16).
///
/// ``IDXArray/parse(_:file:byteLimit:)`` does its own streaming decompression so it can stop at
/// the size the IDX header calls for; these functions are for everything else (tests, tools).
public enum Gzip {
    /// The first two bytes of every gzip member.
    public static let magic: [UInt8] = [0x1f, 0x8b]

    /// True if `bytes` starts with the gzip magic 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == magic[0] && bytes[1] == magic[1]
    }

    /// Decompresses a whole gzip file (one or more concatenated members).
    ///
    /// - Parameters:
    ///   - bytes: the compressed file, starting with 1f 8b.
    ///   - file: the name used in error messages.
    ///   - byteLimit: the most decompressed bytes to accept; more is
    ///     ``IDXError/tooLarge(file:limit:)``, so a small hostile input cannot make a huge buffer.
    /// - Returns: the decompressed bytes, after zlib has checked every CRC32 and ISIZE.
    /// - Throws: ``IDXError/corruptGzip(file:message:)`` (not gzip, bad CRC, bad deflate data,
    ///   trailing garbage), ``IDXError/truncatedGzip(file:decompressedBytes:)``,
    ///   ``IDXError/tooLarge(file:limit:)``.
    public static func decompress(
        _ bytes: [UInt8], file: String = "<memory>", byteLimit: Int = IDXArray.defaultByteLimit
    ) throws(IDXError) -> [UInt8] {
        let inflater = try GzipInflater(input: bytes, file: file)
        var output: [UInt8] = []
        // Grow while reading rather than trusting any size the data claims.
        try inflater.read(into: &output, upTo: byteLimit)
        try inflater.skipToEnd(limit: byteLimit)
        return output
    }

    /// Compresses `bytes` into a single gzip member (no file name, modification time 0, so the
    /// output depends only on the input and `level`).
    ///
    /// - Parameter level: zlib's compression level, 0 (store) to 9 (best), or -1 for its default (6).
    /// - Throws: ``IDXError/zlibFailure(function:code:message:)`` if zlib cannot start (an invalid
    ///   level, or no memory); valid input never fails.
    public static func compress(_ bytes: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) throws(IDXError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        // `deflateInit2` is a macro; memLevel 8 and the default strategy are its usual settings.
        let start = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                  ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard start == Z_OK else {
            throw .zlibFailure(function: "deflateInit2_", code: start, message: zlibMessage(start, stream))
        }
        defer { deflateEnd(stream) }

        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var output: [UInt8] = []
        var consumed = 0
        while true {
            // avail_in is 32 bits: feed at most that much per call, finishing with the last piece.
            let offered = min(bytes.count - consumed, Int(UInt32.max))
            let isLast = consumed + offered == bytes.count
            let code = bytes.withUnsafeBufferPointer { input -> Int32 in
                chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                    stream.pointee.avail_in = UInt32(offered)
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    return deflate(stream, isLast ? Z_FINISH : Z_NO_FLUSH)
                }
            }
            consumed += offered - Int(stream.pointee.avail_in)
            output.append(contentsOf: chunk[0 ..< chunkSize - Int(stream.pointee.avail_out)])
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            switch code {
            case Z_STREAM_END:
                return output
            case Z_OK, Z_BUF_ERROR:
                continue // more output space needed, or more input to feed
            default:
                throw .zlibFailure(function: "deflate", code: code, message: zlibMessage(code, stream))
            }
        }
    }
}
