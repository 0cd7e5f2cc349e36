import CZlib

/// Streaming gzip decompression of an in-memory buffer through zlib's `inflate`.
///
/// The caller pulls output in steps (``read(into:upTo:)``, ``skipToEnd(limit:)``), so it can look
/// at the first bytes (an IDX header) before deciding how much to keep: nothing is allocated
/// beyond what the caller asks for, whatever the compressed data claims.
///
/// zlib checks the gzip header, the CRC32 and the ISIZE trailer; a mismatch is
/// ``IDXError/corruptGzip(file:message:)``, and input that ends before the end of the stream is
/// ``IDXError/truncatedGzip(file:decompressedBytes:)``. Concatenated gzip members (as `cat a.gz
/// b.gz` makes) are decompressed one after the other; any other bytes after the last member are an
/// error.
final class GzipInflater {
    /// Output is produced through a scratch buffer of this size.
    static let chunkSize = 1 << 18

    /// zlib keeps a pointer back to its `z_stream` and checks it, so the stream lives at a fixed
    /// address for the inflater's whole life.
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: UnsafeMutablePointer<UInt8>
    private var isInitialized = false
    private let input: [UInt8]
    private let file: String
    /// Input bytes consumed so far.
    private var consumed = 0

    /// Bytes decompressed so far, kept or not.
    private(set) var totalOut = 0
    /// True once the last gzip member and its trailer have been read and checked.
    private(set) var isFinished = false

    /// Prepares to decompress `input`, which should start with the gzip magic 1f 8b; `file` is
    /// used in error messages.
    init(input: [UInt8], file: String) throws(IDXError) {
        self.input = input
        self.file = file
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        scratch = .allocate(capacity: Self.chunkSize)
        // windowBits 15 + 16: a 32 KiB window and a gzip (not zlib) wrapper. `inflateInit2` is a
        // macro, so the function it expands to is called with the version and struct size.
        let code = inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard code == Z_OK else {
            throw .zlibFailure(function: "inflateInit2_", code: code, message: zlibMessage(code, stream))
        }
        isInitialized = true
    }

    deinit {
        if isInitialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Decompresses until ``totalOut`` reaches `target` or the stream ends, appending the new
    /// bytes to `output`. Never produces more than `target - totalOut` bytes.
    func read(into output: inout [UInt8], upTo target: Int) throws(IDXError) {
        while totalOut < target && !isFinished {
            let count = try produce(atMost: target - totalOut)
            output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: count))
        }
    }

    /// Decompresses the rest of the stream, counting the bytes in ``totalOut`` but keeping none,
    /// so that the CRC32 and length are checked and the true size is known. Throws
    /// ``IDXError/tooLarge(file:limit:)`` once ``totalOut`` exceeds `limit`.
    func skipToEnd(limit: Int) throws(IDXError) {
        while !isFinished {
            _ = try produce(atMost: Self.chunkSize)
            if totalOut > limit { throw .tooLarge(file: file, limit: limit) }
        }
    }

    /// Runs `inflate` until it has written at least one byte (at most `maximum`) into `scratch`
    /// or the stream has ended; returns the number of bytes written.
    private func produce(atMost maximum: Int) throws(IDXError) -> Int {
        while !isFinished {
            let room = min(maximum, Self.chunkSize)
            let inputLeft = input.count - consumed
            // avail_in is 32 bits; larger inputs are fed in pieces.
            let offered = min(inputLeft, Int(UInt32.max))
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(room)
            // The input's address is only valid inside this closure, so next_in is set afresh on
            // every call; zlib keeps no pointer into the input between calls.
            let code = input.withUnsafeBufferPointer { buffer -> Int32 in
                stream.pointee.next_in = buffer.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                stream.pointee.avail_in = UInt32(offered)
                return inflate(stream, Z_NO_FLUSH)
            }
            let used = offered - Int(stream.pointee.avail_in)
            let produced = room - Int(stream.pointee.avail_out)
            stream.pointee.next_in = nil
            consumed += used
            totalOut += produced

            switch code {
            case Z_STREAM_END:
                try endOfMember()
            case Z_OK:
                // zlib reports Z_BUF_ERROR when it cannot move; this guards against a loop anyway.
                if used == 0 && produced == 0 {
                    throw .truncatedGzip(file: file, decompressedBytes: totalOut)
                }
            case Z_BUF_ERROR:
                // No progress possible: with room to write, that means the input has run out.
                throw .truncatedGzip(file: file, decompressedBytes: totalOut)
            case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
                throw .corruptGzip(file: file, message: zlibMessage(code, stream))
            default:
                throw .zlibFailure(function: "inflate", code: code, message: zlibMessage(code, stream))
            }
            if produced > 0 { return produced }
        }
        return 0
    }

    /// One gzip member has ended (its CRC32 and ISIZE checked by zlib). Starts on the next member
    /// if another follows, finishes if the input is used up, and refuses anything else.
    private func endOfMember() throws(IDXError) {
        let rest = input.count - consumed
        if rest == 0 {
            isFinished = true
            return
        }
        guard rest >= 2, input[consumed] == 0x1f, input[consumed + 1] == 0x8b else {
            throw .corruptGzip(file: file, message: "\(rest) bytes of trailing data after the gzip stream")
        }
        let code = inflateReset(stream)
        guard code == Z_OK else {
            throw .zlibFailure(function: "inflateReset", code: code, message: zlibMessage(code, stream))
        }
    }
}

/// zlib's message for the last error on `stream`, or its generic text for `code`.
func zlibMessage(_ code: Int32, _ stream: UnsafeMutablePointer<z_stream>) -> String {
    if let message = stream.pointee.msg { return String(cString: message) }
    if let text = zError(code) { return String(cString: text) }
    return "code \(code)"
}
