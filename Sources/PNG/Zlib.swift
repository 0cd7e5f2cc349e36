//  Zlib.swift
//
//  The three zlib calls PNG needs: crc32 for chunks, compress2 for IDAT, and a capped streaming inflate.

import CZlib

enum Zlib {
    /// CRC-32 (the PNG/zlib polynomial) of `raw`, continuing from `crc` (0 to start).
    static func crc32(_ raw: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var value = UInt(crc)
        var base = raw.bindMemory(to: UInt8.self).baseAddress
        var left = raw.count
        // crc32 takes a 32-bit length, so very large buffers go in pieces.
        while left > 0, let p = base {
            let n = min(left, Int(UInt32.max))
            value = CZlib.crc32(value, p, UInt32(n))
            base = p + n
            left -= n
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// CRC-32 of `bytes`.
    static func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, continuing: crc) }
    }

    /// The zlib stream (RFC 1950) of `bytes` at `level` (0–9).
    static func compress(_ bytes: [UInt8], level: Int32 = 9) -> [UInt8] {
        var capacity = compressBound(UInt(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let code = out.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &capacity, src.baseAddress, UInt(src.count), level)
            }
        }
        // compress2 cannot fail with a compressBound-sized buffer and a valid level but for lack of memory.
        precondition(code == Z_OK, "zlib compress2 failed with code \(code)")
        out.removeSubrange(Int(capacity)...)
        return out
    }

    /// Inflates the zlib stream `input`, which must decompress to exactly `expected` bytes.
    ///
    /// The output grows only as data actually decompresses and never beyond `expected` + 1 bytes, so a small
    /// file that declares a huge image allocates no more than its data really expands to.
    static func inflate(_ input: [UInt8], expected: Int, file: String) throws(PNGError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        let initCode = inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else {
            throw .corruptImageData(file: file, detail: "zlib inflateInit failed with code \(initCode)")
        }
        defer { inflateEnd(stream) }

        enum Outcome { case done([UInt8]), failed(String) }
        let scratchSize = 1 << 16
        let outcome = input.withUnsafeBufferPointer { src -> Outcome in
            var out: [UInt8] = []
            out.reserveCapacity(min(expected, 1 << 20))
            var scratch = [UInt8](repeating: 0, count: scratchSize)
            var consumed = 0
            while true {
                let offered = min(src.count - consumed, Int(UInt32.max))
                // One byte of room beyond `expected` shows whether the stream holds more than it should.
                let room = min(scratchSize, expected + 1 - out.count)
                let (code, used, produced) = scratch.withUnsafeMutableBufferPointer { dst -> (Int32, Int, Int) in
                    stream.pointee.next_in = src.baseAddress.map { UnsafeMutablePointer(mutating: $0 + consumed) }
                    stream.pointee.avail_in = UInt32(offered)
                    stream.pointee.next_out = dst.baseAddress
                    stream.pointee.avail_out = UInt32(room)
                    let code = CZlib.inflate(stream, Z_NO_FLUSH)
                    let result = (code, offered - Int(stream.pointee.avail_in), room - Int(stream.pointee.avail_out))
                    stream.pointee.next_in = nil
                    stream.pointee.next_out = nil
                    return result
                }
                consumed += used
                out.append(contentsOf: scratch[0..<produced])
                if out.count > expected {
                    return .failed("the image data decompresses to more than the \(expected) bytes the header calls for")
                }
                switch code {
                case Z_STREAM_END:
                    return out.count == expected ? .done(out)
                        : .failed("the image data holds \(out.count) bytes but the header calls for \(expected)")
                case Z_OK:
                    if used == 0 && produced == 0 {
                        return .failed("the image data ends after \(out.count) of \(expected) bytes")
                    }
                case Z_BUF_ERROR:
                    return .failed("the image data ends after \(out.count) of \(expected) bytes")
                default:
                    let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(code)"
                    return .failed("zlib: \(message)")
                }
            }
        }
        switch outcome {
        case let .done(bytes): return bytes
        case let .failed(detail): throw .corruptImageData(file: file, detail: detail)
        }
    }
}
