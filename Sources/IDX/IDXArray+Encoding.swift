extension IDXArray {
    /// The array as a raw (uncompressed) IDX file: magic `00 00 08 <rank>`, the dimensions as
    /// big-endian UInt32, then ``bytes``. `IDXArray.parse(a.encoded(), file:)` gives back `a`.
    public func encoded() -> [UInt8] {
        var output: [UInt8] = [0, 0, IDXElementType.unsignedByte.rawValue, UInt8(truncatingIfNeeded: dimensions.count)]
        output.reserveCapacity(Self.headerSize(rank: dimensions.count) + bytes.count)
        for dimension in dimensions {
            // The initialiser guarantees 0 ..< 2^32, so nothing is lost.
            let value = UInt32(truncatingIfNeeded: dimension)
            output += [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                       UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
        }
        output += bytes
        return output
    }

    /// Writes the array to `path` as an IDX file, gzipped through zlib if `compressed` (by default,
    /// when the path ends in `.gz`). The file is replaced atomically.
    ///
    /// - Throws: ``IDXError/unwritable(file:reason:)``, or ``IDXError/zlibFailure(function:code:message:)``.
    public func write(to path: String, compressed: Bool? = nil) throws(IDXError) {
        let raw = encoded()
        let gzip = compressed ?? path.hasSuffix(".gz")
        try FileBytes.write(gzip ? Gzip.compress(raw) : raw, to: path)
    }
}
