/// The header of an IDX file, checked.
///
/// Layout (all big-endian):
/// ```
/// offset 0   2 bytes   0x00 0x00
/// offset 2   1 byte    type code (IDXElementType; only 0x08 is read)
/// offset 3   1 byte    rank: the number of dimensions, 1...IDXArray.maximumRank
/// offset 4   4·rank    the dimensions, UInt32 each
/// then       product(dimensions) · byteWidth data bytes, last dimension varying fastest
/// ```
struct IDXHeader {
    /// Bytes in the fixed part: the magic number, which holds the type and the rank.
    static let magicSize = 4

    let dimensions: [Int]
    /// Bytes of header: 4 + 4·rank.
    let size: Int
    /// Bytes of data the dimensions call for.
    let payloadSize: Int
    /// Bytes in the whole file (decompressed): `size + payloadSize`.
    var totalSize: Int { size + payloadSize }

    /// Checks the magic number in `bytes[0..<4]` and returns the rank it declares.
    ///
    /// - Throws: ``IDXError/truncatedHeader(file:needed:actual:)`` for fewer than 4 bytes,
    ///   ``IDXError/badMagic(file:magic:)``, ``IDXError/unsupportedType(file:type:)``,
    ///   ``IDXError/badDimensions(file:count:)``.
    static func rank(magic bytes: [UInt8], file: String) throws(IDXError) -> Int {
        guard bytes.count >= magicSize else {
            throw .truncatedHeader(file: file, needed: magicSize, actual: bytes.count)
        }
        let magic = bigEndianUInt32(bytes, at: 0)
        guard bytes[0] == 0, bytes[1] == 0, let type = IDXElementType(rawValue: bytes[2]) else {
            throw .badMagic(file: file, magic: magic)
        }
        guard type == .unsignedByte else { throw .unsupportedType(file: file, type: type) }
        let rank = Int(bytes[3])
        guard (1 ... IDXArray.maximumRank).contains(rank) else {
            throw .badDimensions(file: file, count: rank)
        }
        return rank
    }

    /// Reads the whole header from the start of `bytes`, which must already have passed
    /// ``rank(magic:file:)``.
    ///
    /// - Throws: ``IDXError/truncatedHeader(file:needed:actual:)`` if `bytes` ends inside the
    ///   dimensions, ``IDXError/tooLarge(file:limit:)`` if the file the dimensions describe would
    ///   be over `byteLimit` bytes (or its size does not fit in an `Int`).
    init(_ bytes: [UInt8], rank: Int, file: String, byteLimit: Int) throws(IDXError) {
        let size = IDXArray.headerSize(rank: rank)
        guard bytes.count >= size else {
            throw .truncatedHeader(file: file, needed: size, actual: bytes.count)
        }
        var dimensions: [Int] = []
        for axis in 0 ..< rank {
            let dimension = Int(exactly: bigEndianUInt32(bytes, at: IDXHeader.magicSize + 4 * axis))
            guard let dimension else { throw .tooLarge(file: file, limit: byteLimit) }
            dimensions.append(dimension)
        }
        guard let count = Self.elementCount(dimensions) else { throw .tooLarge(file: file, limit: byteLimit) }
        let (payload, payloadOverflow) = count.multipliedReportingOverflow(by: IDXElementType.unsignedByte.byteWidth)
        let (total, totalOverflow) = payload.addingReportingOverflow(size)
        guard !payloadOverflow, !totalOverflow, total <= byteLimit else {
            throw .tooLarge(file: file, limit: byteLimit)
        }
        self.dimensions = dimensions
        self.size = size
        self.payloadSize = payload
    }
}

extension IDXHeader {
    /// The product of `dimensions`, or nil if it overflows `Int`. A zero dimension makes it zero,
    /// however large the others.
    static func elementCount(_ dimensions: [Int]) -> Int? {
        if dimensions.contains(0) { return 0 }
        var product = 1
        for dimension in dimensions {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            product = next
        }
        return product
    }
}

/// The big-endian UInt32 at `bytes[offset ..< offset + 4]`; the caller checks the bounds.
func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
        | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}
