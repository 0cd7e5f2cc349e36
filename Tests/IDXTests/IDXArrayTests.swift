import IDX
import XCTest

/// Reading and writing single IDX files, raw and gzipped, and every malformed header and length.
final class IDXArrayTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory = nil }

    // MARK: Round trips

    /// Shapes beyond MNIST's 28×28: 3-D image stacks of several sizes and 1-D label vectors.
    private let shapes: [[Int]] = [[3, 14, 14], [2, 32, 32], [4, 5, 7], [1, 1, 1], [10], [1], [0], [2, 3, 4, 5]]

    func testRawAndGzipRoundTrips() throws {
        for (index, dimensions) in shapes.enumerated() {
            let count = dimensions.reduce(1, *)
            let array = try IDXArray(dimensions: dimensions, bytes: pseudoRandomBytes(count, seed: UInt32(index)))
            for name in ["a\(index).idx", "a\(index).idx.gz"] {
                let path = directory.path + "/" + name
                try array.write(to: path)
                let stored = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                XCTAssertEqual(Gzip.isGzip(stored), name.hasSuffix(".gz"), name)
                XCTAssertEqual(try IDXArray.read(contentsOf: path), array, "\(name) \(dimensions)")
            }
            XCTAssertEqual(try IDXArray.parse(array.encoded(), file: "memory"), array)
            XCTAssertEqual(try IDXArray.parse(Gzip.compress(array.encoded()), file: "memory"), array)
        }
    }

    /// The encoder writes exactly the layout of the format description, and the parser reads a
    /// hand-built file with the elements in row-major order.
    func testLayoutMatchesFormat() throws {
        let payload = (0 ..< 70).map { UInt8($0) }
        let bytes = idxBytes(dimensions: [2, 5, 7], payload: payload)
        XCTAssertEqual(Array(bytes.prefix(16)), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 7])
        let array = try IDXArray.parse(bytes, file: "hand.idx")
        XCTAssertEqual(array.dimensions, [2, 5, 7])
        XCTAssertEqual(array.bytes[(1 * 5 + 3) * 7 + 4], 1 * 35 + 3 * 7 + 4) // element [1, 3, 4]
        XCTAssertEqual(array.encoded(), bytes)
    }

    /// Dimensions above 2^16 and 2^24 are read big-endian.
    func testLargeDimension() throws {
        let bytes = idxBytes(dimensions: [70_000, 1], payload: [UInt8](repeating: 9, count: 70_000))
        XCTAssertEqual(try IDXArray.parse(bytes, file: "x").dimensions, [70_000, 1])
    }

    func testInvalidShapeIsRefused() {
        assertIDXError(try IDXArray(dimensions: [2, 3], bytes: [1, 2, 3]), .invalidShape(dimensions: [2, 3], byteCount: 3))
        assertIDXError(try IDXArray(dimensions: [], bytes: []), .invalidShape(dimensions: [], byteCount: 0))
        assertIDXError(try IDXArray(dimensions: [-1, -1], bytes: [1]), .invalidShape(dimensions: [-1, -1], byteCount: 1))
        assertIDXError(try IDXArray(dimensions: [1 << 32, 0], bytes: []), .invalidShape(dimensions: [1 << 32, 0], byteCount: 0))
        assertIDXError(try IDXArray(dimensions: [Int](repeating: 1, count: 17), bytes: [1]),
                       .invalidShape(dimensions: [Int](repeating: 1, count: 17), byteCount: 1))
    }

    // MARK: Files that cannot be read

    func testMissingFile() {
        let path = directory.path + "/nothing-here.idx"
        assertIDXError(try IDXArray.read(contentsOf: path), .fileNotFound(file: path))
    }

    func testDirectoryIsUnreadable() {
        assertIDXError(try IDXArray.read(contentsOf: directory.path),
                       .unreadable(file: directory.path, reason: "it is a directory"))
    }

    func testFileOverLimit() throws {
        let path = try directory.write(idxBytes(dimensions: [100], payload: [UInt8](repeating: 1, count: 100)), to: "big.idx")
        assertIDXError(try IDXArray.read(contentsOf: path, byteLimit: 50), .tooLarge(file: path, limit: 50))
    }

    // MARK: Broken gzip

    func testNonGzipGarbage() throws {
        let path = try directory.write(Array("hello, world".utf8), to: "garbage.idx")
        assertIDXError(try IDXArray.read(contentsOf: path), .badMagic(file: path, magic: 0x6865_6c6c),
                       mentions: ["garbage.idx", "not gzip and not IDX", "wrong magic 0x68656c6c"])
    }

    /// Almost gzip: the second magic byte is wrong, which the message must name.
    func testNearlyGzipMagic() throws {
        let path = try directory.write([0x1f, 0x8c, 0x08, 0x03, 0, 0], to: "nearly.gz")
        assertIDXError(try IDXArray.read(contentsOf: path), .badMagic(file: path, magic: 0x1f8c_0803),
                       mentions: ["nearly.gz", "wrong magic 0x1f8c0803"])
    }

    func testTruncatedGzip() throws {
        let compressed = try Gzip.compress(idxBytes(dimensions: [4, 14, 14], payload: pseudoRandomBytes(784)))
        let path = try directory.write(Array(compressed.prefix(compressed.count / 2)), to: "half.idx.gz")
        assertIDXError(try IDXArray.read(contentsOf: path), mentions: ["half.idx.gz", "truncated"]) { error in
            guard case .truncatedGzip(file: path, _) = error else { return XCTFail("\(error)") }
        }
    }

    func testGzipWithFlippedCRCByte() throws {
        var compressed = try Gzip.compress(idxBytes(dimensions: [4, 14, 14], payload: pseudoRandomBytes(784)))
        compressed[compressed.count - 7] ^= 0x80 // second byte of the little-endian CRC32
        let path = try directory.write(compressed, to: "crc.idx.gz")
        assertIDXError(try IDXArray.read(contentsOf: path),
                       .corruptGzip(file: path, message: "incorrect data check"),
                       mentions: ["crc.idx.gz", "incorrect data check"])
    }

    // MARK: Broken IDX headers

    func testUnknownTypeCode() throws {
        let path = try directory.write(idxBytes(type: 0x42, dimensions: [1], payload: [0]), to: "type42.idx")
        assertIDXError(try IDXArray.read(contentsOf: path), .badMagic(file: path, magic: 0x0000_4201),
                       mentions: ["type42.idx", "not an IDX file", "0x42"])
    }

    func testUnsupportedTypes() throws {
        for type in IDXElementType.allCases where type != .unsignedByte {
            let bytes = idxBytes(type: type.rawValue, dimensions: [2], payload: [UInt8](repeating: 0, count: 2 * type.byteWidth))
            for gzip in [false, true] {
                let path = try directory.write(gzip ? Gzip.compress(bytes) : bytes, to: "type\(type.rawValue).idx")
                assertIDXError(try IDXArray.read(contentsOf: path), .unsupportedType(file: path, type: type))
            }
        }
        let path = try directory.write(idxBytes(type: 0x0D, dimensions: [1], payload: [0, 0, 0, 0]), to: "float.idx")
        assertIDXError(try IDXArray.read(contentsOf: path), .unsupportedType(file: path, type: .float),
                       mentions: ["float.idx", "unsupported IDX type 0x0D (float); only unsigned byte (0x08) is supported"])
    }

    func testDimensionCount() throws {
        let none = try directory.write([0, 0, 8, 0], to: "rank0.idx")
        assertIDXError(try IDXArray.read(contentsOf: none), .badDimensions(file: none, count: 0))
        let many = try directory.write(idxBytes(dimensions: [UInt32](repeating: 1, count: 17), payload: [7]), to: "rank17.idx")
        assertIDXError(try IDXArray.read(contentsOf: many), .badDimensions(file: many, count: 17))
        let most = idxBytes(dimensions: [UInt32](repeating: 1, count: 16), payload: [7])
        XCTAssertEqual(try IDXArray.parse(most, file: "rank16").bytes, [7])
    }

    func testHeaderTooShort() throws {
        let empty = try directory.write([], to: "empty.idx")
        assertIDXError(try IDXArray.read(contentsOf: empty), .truncatedHeader(file: empty, needed: 4, actual: 0))
        let cut = Array(idxBytes(dimensions: [3, 14, 14], payload: []).prefix(10))
        for (gzip, name) in [(false, "cut.idx"), (true, "cut.idx.gz")] {
            let path = try directory.write(gzip ? Gzip.compress(cut) : cut, to: name)
            assertIDXError(try IDXArray.read(contentsOf: path), .truncatedHeader(file: path, needed: 16, actual: 10))
        }
        let emptyGzip = try directory.write(Gzip.compress([]), to: "empty.idx.gz")
        assertIDXError(try IDXArray.read(contentsOf: emptyGzip), .truncatedHeader(file: emptyGzip, needed: 4, actual: 0))
    }

    // MARK: Lengths that disagree with the dimensions

    func testDataTooShort() throws {
        let bytes = idxBytes(dimensions: [3, 14, 14], payload: pseudoRandomBytes(3 * 14 * 14 - 4))
        for (gzip, name) in [(false, "short.idx"), (true, "short.idx.gz")] {
            let path = try directory.write(gzip ? Gzip.compress(bytes) : bytes, to: name)
            assertIDXError(try IDXArray.read(contentsOf: path),
                           .lengthMismatch(file: path, dimensions: [3, 14, 14], expected: 604, actual: 600),
                           mentions: [name, "truncated", "604", "600", "3×14×14"])
        }
    }

    func testTrailingBytes() throws {
        let bytes = idxBytes(dimensions: [5, 7], payload: pseudoRandomBytes(35 + 3))
        for (gzip, name) in [(false, "long.idx"), (true, "long.idx.gz")] {
            let path = try directory.write(gzip ? Gzip.compress(bytes) : bytes, to: name)
            assertIDXError(try IDXArray.read(contentsOf: path),
                           .lengthMismatch(file: path, dimensions: [5, 7], expected: 47, actual: 50),
                           mentions: [name, "3 trailing bytes", "47", "50"])
        }
    }

    /// A header that claims far more data than the limit is refused before anything is allocated;
    /// one whose dimensions overflow `Int` is refused the same way.
    func testHeaderClaimsTooMuch() throws {
        let huge = idxBytes(dimensions: [60_000, 60_000, 60_000], payload: [])
        assertIDXError(try IDXArray.parse(huge, file: "huge.idx"), .tooLarge(file: "huge.idx", limit: IDXArray.defaultByteLimit))
        assertIDXError(try IDXArray.parse(Gzip.compress(huge), file: "huge.gz"),
                       .tooLarge(file: "huge.gz", limit: IDXArray.defaultByteLimit))
        let overflow = idxBytes(dimensions: [UInt32](repeating: .max, count: 4), payload: [])
        assertIDXError(try IDXArray.parse(overflow, file: "overflow.idx"),
                       .tooLarge(file: "overflow.idx", limit: IDXArray.defaultByteLimit))
        // A zero dimension means no data, however large the others.
        let zero = idxBytes(dimensions: [.max, .max, .max, 0], payload: [])
        let empty = try IDXArray.parse(zero, file: "zero.idx")
        XCTAssertEqual(empty.bytes, [])
        XCTAssertEqual(try IDXArray(dimensions: empty.dimensions, bytes: []), empty)
        XCTAssertEqual(empty.encoded(), zero)
    }

    /// A tiny gzip file that decompresses to far more than its header calls for: only what the
    /// header calls for is kept; the rest is counted to report the true length, up to the limit.
    func testGzipBombIsCountedNotKept() throws {
        let bomb = try Gzip.compress(idxBytes(dimensions: [100], payload: [UInt8](repeating: 0, count: 4_000_000)))
        XCTAssertLessThan(bomb.count, 10_000)
        assertIDXError(try IDXArray.parse(bomb, file: "bomb.gz"),
                       .lengthMismatch(file: "bomb.gz", dimensions: [100], expected: 108, actual: 4_000_008))
        assertIDXError(try IDXArray.parse(bomb, file: "bomb.gz", byteLimit: 1_000_000),
                       .tooLarge(file: "bomb.gz", limit: 1_000_000))
    }

    /// Every prefix and many single-byte corruptions of a small gzipped file give an `IDXError`,
    /// never a trap or a wrong array accepted silently.
    func testEveryPrefixAndByteFlipIsAnError() throws {
        let array = try IDXArray(dimensions: [2, 3, 4], bytes: pseudoRandomBytes(24))
        for encoded in [array.encoded(), try Gzip.compress(array.encoded())] {
            for cut in 0 ..< encoded.count {
                XCTAssertThrowsError(try IDXArray.parse(Array(encoded.prefix(cut)), file: "p"), "prefix \(cut)")
            }
            for index in encoded.indices {
                var flipped = encoded
                flipped[index] ^= 0x10
                // A flip in the raw payload is undetectable; anything else must throw or round-trip.
                if let parsed = try? IDXArray.parse(flipped, file: "f") {
                    XCTAssertEqual(parsed.dimensions, array.dimensions, "flip at \(index)")
                }
            }
        }
    }
}
