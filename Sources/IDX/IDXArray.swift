/// An n-dimensional array of unsigned bytes read from, or to be written to, an IDX file.
///
/// IDX is the format of the MNIST files (and of Fashion-MNIST, KMNIST, EMNIST): a 4-byte magic
/// number `00 00 <type> <rank>`, `rank` big-endian UInt32 dimensions, then the elements in
/// row-major order (the last dimension varies fastest). Only type 0x08 (unsigned byte) is read;
/// see ``IDXElementType``.
///
/// Files may be gzipped: anything that starts with the gzip magic 1f 8b is decompressed through
/// zlib first, with its CRC32 and length checked.
///
/// The invariant, checked by every way of making one: `dimensions` has 1 to ``maximumRank``
/// entries, each below 2^32, and `bytes.count` is their product.
public struct IDXArray: Equatable, Sendable {
    /// The size of each axis, outermost first: `[60000, 28, 28]` for the MNIST training images.
    public let dimensions: [Int]
    /// The elements, row-major: element `[i, j, k]` of a 3-D array is
    /// `bytes[(i · dimensions[1] + j) · dimensions[2] + k]`.
    public let bytes: [UInt8]

    /// The most dimensions accepted in a file. The format allows 255; no real file has more than
    /// a handful, and the cap keeps the header of a hostile file small.
    public static let maximumRank = 16

    /// The default cap on the size of a file, and of its contents after decompression: 2 GiB.
    /// MNIST's largest file is 47,040,016 bytes decompressed. A file over the cap is refused with
    /// ``IDXError/tooLarge(file:limit:)`` before that much memory is allocated.
    public static let defaultByteLimit = 1 << 31

    /// Bytes of header for an IDX file of `rank` dimensions: 4 + 4·rank.
    public static func headerSize(rank: Int) -> Int { IDXHeader.magicSize + 4 * rank }

    /// Makes an array from its dimensions and row-major elements.
    ///
    /// - Throws: ``IDXError/invalidShape(dimensions:byteCount:)`` unless there are 1 to
    ///   ``maximumRank`` dimensions, each in `0 ..< 2^32`, whose product is `bytes.count`.
    public init(dimensions: [Int], bytes: [UInt8]) throws(IDXError) {
        let validRank = (1 ... Self.maximumRank).contains(dimensions.count)
        let inRange = dimensions.allSatisfy { UInt32(exactly: $0) != nil }
        guard validRank, inRange, IDXHeader.elementCount(dimensions) == bytes.count else {
            throw .invalidShape(dimensions: dimensions, byteCount: bytes.count)
        }
        self.dimensions = dimensions
        self.bytes = bytes
    }

    /// For parsers, which have checked the invariant already.
    private init(checkedDimensions dimensions: [Int], bytes: [UInt8]) {
        self.dimensions = dimensions
        self.bytes = bytes
    }

    // MARK: Reading

    /// Reads the IDX file at `path`, gzipped (`.gz`, or any file starting 1f 8b) or raw.
    ///
    /// - Parameters:
    ///   - path: the file; it appears in every error.
    ///   - byteLimit: the largest file, and the largest decompressed contents, to accept.
    /// - Throws: an ``IDXError``: ``IDXError/fileNotFound(file:)``, ``IDXError/unreadable(file:reason:)``,
    ///   or anything ``parse(_:file:byteLimit:)`` throws.
    public static func read(contentsOf path: String, byteLimit: Int = defaultByteLimit) throws(IDXError) -> IDXArray {
        try parse(FileBytes.read(path, byteLimit: byteLimit), file: path, byteLimit: byteLimit)
    }

    /// Parses the bytes of an IDX file, gzipped or raw, held in memory.
    ///
    /// Gzipped input is decompressed in a stream: the header is read first, and no more than the
    /// data it calls for is kept (bytes past that are only counted, to report the true length), so
    /// a small input never makes a large buffer. Never traps, whatever `bytes` holds.
    ///
    /// - Parameters:
    ///   - bytes: the whole file as stored: raw IDX, or gzip of IDX.
    ///   - file: the name used in error messages.
    ///   - byteLimit: the largest input, and the largest decompressed contents, to accept.
    /// - Throws: ``IDXError/corruptGzip(file:message:)``, ``IDXError/truncatedGzip(file:decompressedBytes:)``,
    ///   ``IDXError/truncatedHeader(file:needed:actual:)``, ``IDXError/badMagic(file:magic:)``,
    ///   ``IDXError/unsupportedType(file:type:)``, ``IDXError/badDimensions(file:count:)``,
    ///   ``IDXError/lengthMismatch(file:dimensions:expected:actual:)``, ``IDXError/tooLarge(file:limit:)``.
    public static func parse(_ bytes: [UInt8], file: String, byteLimit: Int = defaultByteLimit) throws(IDXError) -> IDXArray {
        guard bytes.count <= byteLimit else { throw .tooLarge(file: file, limit: byteLimit) }
        return Gzip.isGzip(bytes)
            ? try parseGzip(bytes, file: file, byteLimit: byteLimit)
            : try parseRaw(bytes, file: file, byteLimit: byteLimit)
    }

    /// Parses an uncompressed IDX file.
    private static func parseRaw(_ bytes: [UInt8], file: String, byteLimit: Int) throws(IDXError) -> IDXArray {
        let rank = try IDXHeader.rank(magic: bytes, file: file)
        let header = try IDXHeader(bytes, rank: rank, file: file, byteLimit: byteLimit)
        guard bytes.count == header.totalSize else {
            throw .lengthMismatch(file: file, dimensions: header.dimensions,
                                  expected: header.totalSize, actual: bytes.count)
        }
        return IDXArray(checkedDimensions: header.dimensions, bytes: Array(bytes[header.size...]))
    }

    /// Parses a gzipped IDX file: header first, then exactly the data it calls for, then the rest
    /// of the stream only counted (and its CRC checked).
    private static func parseGzip(_ bytes: [UInt8], file: String, byteLimit: Int) throws(IDXError) -> IDXArray {
        let inflater = try GzipInflater(input: bytes, file: file)
        var prefix: [UInt8] = []
        try inflater.read(into: &prefix, upTo: IDXHeader.magicSize)
        let rank = try IDXHeader.rank(magic: prefix, file: file)
        try inflater.read(into: &prefix, upTo: headerSize(rank: rank))
        let header = try IDXHeader(prefix, rank: rank, file: file, byteLimit: byteLimit)

        // Deflate expands by at most 1032:1, so the input bounds the output whatever the header
        // claims; reserve no more than either allows.
        let (bound, overflow) = bytes.count.multipliedReportingOverflow(by: 1032)
        var payload: [UInt8] = []
        payload.reserveCapacity(overflow ? header.payloadSize : min(header.payloadSize, bound))
        try inflater.read(into: &payload, upTo: header.totalSize)
        try inflater.skipToEnd(limit: byteLimit)
        guard inflater.totalOut == header.totalSize else {
            throw .lengthMismatch(file: file, dimensions: header.dimensions,
                                  expected: header.totalSize, actual: inflater.totalOut)
        }
        return IDXArray(checkedDimensions: header.dimensions, bytes: payload)
    }
}
