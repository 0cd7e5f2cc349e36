//  PNGEncoder.swift
//
//  Bitmap → PNG bytes: signature, IHDR, IDAT (zlib stream of the filtered rows), IEND.
//  Each chunk is: length (4 bytes, big-endian, data only), type (4 ASCII letters), data, CRC-32 of type + data.

extension PNG {
    /// The PNG file of `bitmap`: 8 bits per sample, colour type 0 (gray), 4 (gray+alpha), 2 (RGB) or 6 (RGBA)
    /// after its layout, not interlaced, rows filtered as `filter` says and deflated at zlib `level` (0–9).
    public static func encode(_ bitmap: Bitmap, filter: PNGFilterChoice = .adaptive, level: Int = 9) -> [UInt8] {
        let w = bitmap.width, h = bitmap.height, stride = bitmap.rowBytes, bpp = bitmap.layout.channels
        // Each row: one filter-type byte, then the filtered bytes.
        var filtered = [UInt8](repeating: 0, count: h * (1 + stride))
        var trial = [UInt8](repeating: 0, count: stride)
        bitmap.pixels.withUnsafeBufferPointer { px in
            filtered.withUnsafeMutableBufferPointer { out in
                trial.withUnsafeMutableBufferPointer { scratch in
                    for y in 0..<h {
                        let row = UnsafeBufferPointer(rebasing: px[(y * stride)..<((y + 1) * stride)])
                        let prior = y == 0 ? nil : UnsafeBufferPointer(rebasing: px[((y - 1) * stride)..<(y * stride)])
                        let dst = UnsafeMutableBufferPointer(rebasing: out[(y * (1 + stride) + 1)..<((y + 1) * (1 + stride))])
                        let chosen: PNGFilter
                        switch filter {
                        case let .fixed(f):
                            chosen = f
                        case .adaptive:
                            var best = PNGFilter.none, bestCost = Int.max
                            for f in PNGFilter.allCases {
                                Filters.apply(f, row: row, prior: prior, bpp: bpp, into: scratch)
                                let cost = Filters.cost(scratch)
                                if cost < bestCost { best = f; bestCost = cost }
                            }
                            chosen = best
                        }
                        out[y * (1 + stride)] = chosen.rawValue
                        Filters.apply(chosen, row: row, prior: prior, bpp: bpp, into: dst)
                    }
                }
            }
        }
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(w))
        header.appendBigEndian(UInt32(h))
        header += [8, colorType(of: bitmap.layout), 0, 0, 0]   // bit depth, colour type, compression, filter, interlace

        var file = signature
        appendChunk("IHDR", header, to: &file)
        let compressed = Zlib.compress(filtered, level: Int32(max(0, min(9, level))))
        // IDAT in pieces of at most 1 MiB: decoders concatenate consecutive IDAT chunks.
        var start = 0
        repeat {
            let end = min(compressed.count, start + (1 << 20))
            appendChunk("IDAT", compressed[start..<end], to: &file)
            start = end
        } while start < compressed.count
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// Encodes `bitmap` and writes it to `path` atomically (see ``ImageFile/write(_:to:)``).
    public static func write(_ bitmap: Bitmap, to path: String, filter: PNGFilterChoice = .adaptive) throws(PNGError) {
        try ImageFile.write(encode(bitmap, filter: filter), to: path)
    }

    static func colorType(of layout: Bitmap.Layout) -> UInt8 {
        switch layout {
        case .gray: return 0
        case .grayAlpha: return 4
        case .rgb: return 2
        case .rgba: return 6
        }
    }

    /// Appends one chunk: length, type, data, CRC-32 over type and data.
    static func appendChunk<C: Collection>(_ type: String, _ data: C, to file: inout [UInt8]) where C.Element == UInt8 {
        precondition(type.utf8.count == 4 && data.count <= Int(Int32.max), "chunk \(type) of \(data.count) bytes")
        file.appendBigEndian(UInt32(data.count))
        let typeAndData = Array(type.utf8) + Array(data)
        file += typeAndData
        file.appendBigEndian(Zlib.crc32(typeAndData))
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
    }
}
