import CZlib
import IDX
import XCTest

/// Gzip compression and decompression through zlib, and every way a gzip stream can be broken.
final class GzipTests: XCTestCase {
    /// Compress then decompress gives back the input, at several sizes and levels.
    func testRoundTrip() throws {
        for count in [0, 1, 100, 70_000, 600_000] {
            let input = pseudoRandomBytes(count, seed: UInt32(count + 1)).map { $0 & 0x0f }
            for level: Int32 in [Z_DEFAULT_COMPRESSION, 0, 1, 9] {
                let compressed = try Gzip.compress(input, level: level)
                XCTAssertTrue(Gzip.isGzip(compressed))
                XCTAssertEqual(try Gzip.decompress(compressed), input, "count \(count), level \(level)")
            }
        }
    }

    /// The output is a gzip member whose 8-byte trailer is CRC32 then ISIZE, little-endian.
    func testTrailerHoldsCRCAndLength() throws {
        let input = pseudoRandomBytes(1000)
        let compressed = try Gzip.compress(input)
        XCTAssertEqual(Array(compressed.prefix(3)), [0x1f, 0x8b, 0x08]) // magic, deflate
        let trailer = Array(compressed.suffix(8))
        let crc = input.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        XCTAssertEqual(littleEndianUInt32(trailer, at: 0), UInt32(crc))
        XCTAssertEqual(littleEndianUInt32(trailer, at: 4), 1000)
    }

    /// `cat a.gz b.gz` decompresses to the two inputs one after the other.
    func testConcatenatedMembers() throws {
        let a = pseudoRandomBytes(3000, seed: 7)
        let b = pseudoRandomBytes(5000, seed: 8)
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(a) + Gzip.compress(b)), a + b)
    }

    func testFlippedCRCByte() throws {
        var compressed = try Gzip.compress(pseudoRandomBytes(1000))
        compressed[compressed.count - 8] ^= 0x01 // first byte of the CRC32
        assertIDXError(try Gzip.decompress(compressed, file: "crc.gz"),
                       .corruptGzip(file: "crc.gz", message: "incorrect data check"))
    }

    func testWrongLengthInTrailer() throws {
        var compressed = try Gzip.compress(pseudoRandomBytes(1000))
        compressed[compressed.count - 4] ^= 0x01 // first byte of ISIZE
        assertIDXError(try Gzip.decompress(compressed, file: "isize.gz"),
                       .corruptGzip(file: "isize.gz", message: "incorrect length check"))
    }

    /// A stream cut anywhere (in the data, or in the trailer) is truncated, never a partial result.
    func testTruncated() throws {
        let compressed = try Gzip.compress(pseudoRandomBytes(20_000))
        for cut in [10, compressed.count / 2, compressed.count - 5, compressed.count - 1] {
            assertIDXError(try Gzip.decompress(Array(compressed.prefix(cut)), file: "cut.gz"),
                           mentions: ["cut.gz", "truncated"]) { error in
                guard case .truncatedGzip(file: "cut.gz", _) = error else {
                    return XCTFail("cut at \(cut): \(error)")
                }
            }
        }
    }

    func testTrailingGarbage() throws {
        let compressed = try Gzip.compress([1, 2, 3]) + [0, 0, 0]
        assertIDXError(try Gzip.decompress(compressed, file: "tail.gz"),
                       .corruptGzip(file: "tail.gz", message: "3 bytes of trailing data after the gzip stream"))
    }

    func testBadDeflateData() throws {
        // A valid 10-byte gzip header, then a deflate block of the reserved type 3.
        let bytes: [UInt8] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03, 0xff, 0xff, 0xff, 0xff]
        assertIDXError(try Gzip.decompress(bytes, file: "bad.gz"), mentions: ["bad.gz", "corrupt"]) { error in
            guard case .corruptGzip(file: "bad.gz", message: let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "invalid block type")
        }
    }

    /// The limit stops decompression of a highly compressible input (a small "gzip bomb").
    func testLimit() throws {
        let compressed = try Gzip.compress([UInt8](repeating: 0, count: 1 << 20))
        XCTAssertLessThan(compressed.count, 2000)
        assertIDXError(try Gzip.decompress(compressed, file: "bomb.gz", byteLimit: 100_000),
                       .tooLarge(file: "bomb.gz", limit: 100_000))
        XCTAssertEqual(try Gzip.decompress(compressed, byteLimit: 1 << 20).count, 1 << 20)
    }
}

private func littleEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    (0 ..< 4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
}
