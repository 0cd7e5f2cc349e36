//  PNGDecoder.swift
//
//  PNG bytes → Bitmap, treating the file as hostile: every length and offset is checked before it is
//  used, sizes are multiplied with overflow checks and capped (`PNGLimits`), every chunk's CRC-32 is
//  checked, and the image data is inflated into a buffer that grows only as data really decompresses.
//
//  Read: colour types 0 (gray, 1/2/4/8 bits), 2 (RGB, 8), 3 (palette, 1/2/4/8, with tRNS as alpha),
//  4 (gray+alpha, 8), 6 (RGBA, 8); all five filter types; not interlaced.
//  Refused with a clear error: 16-bit samples, Adam7 interlacing, unknown critical chunks.
//  Ignored: ancillary chunks (gamma, colour profiles, text, ...), and tRNS for colour types 0 and 2.

/// Size limits for decoding untrusted files.
public struct PNGLimits: Sendable, Equatable {
    /// The largest file read from disk.
    public var maxFileBytes: Int
    /// The largest width · height.
    public var maxPixels: Int

    public init(maxFileBytes: Int = 256 << 20, maxPixels: Int = 1 << 26) {
        self.maxFileBytes = maxFileBytes
        self.maxPixels = maxPixels
    }

    public static let `default` = PNGLimits()
}

/// PNG encoding and decoding (8-bit samples, no interlacing).
public enum PNG {
    /// The 8 bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads and decodes the PNG file at `path`.
    ///
    /// - Throws: `PNGError` naming `path`: the file errors of ``ImageFile/bytes(contentsOf:limit:)`` and
    ///   everything ``decode(_:file:limits:)`` throws.
    public static func read(contentsOf path: String, limits: PNGLimits = .default) throws(PNGError) -> Bitmap {
        try decode(ImageFile.bytes(contentsOf: path, limit: limits.maxFileBytes), file: path, limits: limits)
    }

    /// Decodes a PNG file in memory; `file` names it in errors.
    ///
    /// The result is `.gray`, `.grayAlpha`, `.rgb` or `.rgba` with 8 bits per sample: gray of 1, 2 or 4 bits is
    /// scaled to 0–255, palette images become RGB (RGBA when the file has a tRNS chunk).
    ///
    /// - Throws: ``PNGError/notPNG(file:)``, ``PNGError/truncated(file:detail:)``, ``PNGError/badCRC(file:chunk:stored:computed:)``,
    ///   ``PNGError/badChunk(file:detail:)``, ``PNGError/badHeader(file:detail:)``,
    ///   ``PNGError/unsupportedBitDepth(file:bitDepth:colorType:)``, ``PNGError/unsupportedInterlace(file:)``,
    ///   ``PNGError/unsupportedChunk(file:chunk:)``, ``PNGError/imageTooLarge(file:width:height:limit:)``,
    ///   ``PNGError/corruptImageData(file:detail:)``.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>", limits: PNGLimits = .default) throws(PNGError) -> Bitmap {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw .notPNG(file: file) }

        var header: Header?
        var palette: [UInt8]?          // 3 bytes per entry
        var transparency: [UInt8]?     // palette alpha, one byte per entry (may be shorter than the palette)
        var compressed: [UInt8] = []
        var sawIDAT = false, idatEnded = false, sawIEND = false
        var offset = 8

        while offset < bytes.count && !sawIEND {
            guard bytes.count - offset >= 12 else {
                throw .truncated(file: file, detail: "the file ends inside a chunk header at byte \(offset)")
            }
            let length = Int(bytes.bigEndianUInt32(at: offset))
            let typeBytes = Array(bytes[(offset + 4)..<(offset + 8)])
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw .badChunk(file: file, detail: "byte \(offset + 4) does not start a chunk type (4 ASCII letters)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= Int(Int32.max) else {
                throw .badChunk(file: file, detail: "chunk \(type) claims \(length) bytes, above the PNG maximum of 2³¹−1")
            }
            guard bytes.count - offset - 12 >= length else {
                throw .truncated(file: file, detail: "chunk \(type) at byte \(offset) needs \(length + 12) bytes but only \(bytes.count - offset) remain")
            }
            let dataStart = offset + 8, dataEnd = offset + 8 + length
            let stored = bytes.bigEndianUInt32(at: dataEnd)
            let computed = bytes.withUnsafeBytes { Zlib.crc32(UnsafeRawBufferPointer(rebasing: $0[(offset + 4)..<dataEnd])) }
            guard stored == computed else { throw .badCRC(file: file, chunk: type, stored: stored, computed: computed) }
            let data = bytes[dataStart..<dataEnd]

            if type != "IHDR" && header == nil {
                throw .badChunk(file: file, detail: "the first chunk is \(type), but it must be IHDR")
            }
            if sawIDAT && type != "IDAT" { idatEnded = true }
            switch type {
            case "IHDR":
                guard header == nil else { throw .badChunk(file: file, detail: "a second IHDR chunk") }
                header = try Header(data, file: file, limits: limits)
            case "PLTE":
                guard !sawIDAT else { throw .badChunk(file: file, detail: "PLTE after the image data") }
                guard palette == nil else { throw .badChunk(file: file, detail: "a second PLTE chunk") }
                guard length % 3 == 0, (3...768).contains(length) else {
                    throw .badChunk(file: file, detail: "PLTE has \(length) bytes; it must hold 1 to 256 entries of 3 bytes")
                }
                let colorType = header!.colorType
                guard colorType != 0 && colorType != 4 else {
                    throw .badChunk(file: file, detail: "a PLTE chunk in a \(colorTypeName(colorType)) image")
                }
                palette = Array(data)
            case "tRNS":
                if header!.colorType == 3 {
                    guard !sawIDAT else { throw .badChunk(file: file, detail: "tRNS after the image data") }
                    transparency = Array(data)
                }
            case "IDAT":
                guard !idatEnded else { throw .badChunk(file: file, detail: "IDAT chunks are not consecutive") }
                sawIDAT = true
                compressed.append(contentsOf: data)
            case "IEND":
                sawIEND = true
            default:
                // Bit 5 of the first byte clear (upper case) marks a critical chunk.
                if typeBytes[0] & 0x20 == 0 { throw .unsupportedChunk(file: file, chunk: type) }
            }
            offset = dataEnd + 4
        }

        guard let header else { throw .truncated(file: file, detail: "the file ends before the IHDR chunk") }
        guard sawIDAT else {
            if !sawIEND { throw .truncated(file: file, detail: "the file ends before the image data (IDAT)") }
            throw .badChunk(file: file, detail: "no IDAT chunk: the file holds no image data")
        }
        guard sawIEND else { throw .truncated(file: file, detail: "no IEND chunk; the file was cut short") }
        if header.colorType == 3 {
            guard let palette else { throw .badChunk(file: file, detail: "a palette image without a PLTE chunk") }
            if let t = transparency, t.count > palette.count / 3 {
                throw .badChunk(file: file, detail: "tRNS has \(t.count) entries but the palette only \(palette.count / 3)")
            }
        }

        var raw = try Zlib.inflate(compressed, expected: header.filteredBytes, file: file)
        try unfilter(&raw, header, file: file)
        return try expand(raw, header, palette: palette, transparency: transparency, file: file)
    }

    /// IHDR, checked.
    struct Header {
        let width: Int, height: Int, bitDepth: Int, colorType: Int
        /// Samples per pixel in the file: 1 (gray, palette index), 2 (gray+alpha), 3 (RGB), 4 (RGBA).
        let samples: Int
        /// Bytes per row after the filter byte: ⌈width · samples · bitDepth / 8⌉.
        let rowBytes: Int
        /// The filter's "bytes per pixel": max(1, samples · bitDepth / 8).
        let bpp: Int
        /// height · (1 + rowBytes).
        let filteredBytes: Int

        init(_ data: ArraySlice<UInt8>, file: String, limits: PNGLimits) throws(PNGError) {
            guard data.count == 13 else { throw .badHeader(file: file, detail: "IHDR has \(data.count) bytes, not 13") }
            let d = Array(data)
            let w = Int(d.bigEndianUInt32(at: 0)), h = Int(d.bigEndianUInt32(at: 4))
            let depth = Int(d[8]), type = Int(d[9])
            guard (1...Int(Int32.max)).contains(w), (1...Int(Int32.max)).contains(h) else {
                throw .badHeader(file: file, detail: "size \(w)×\(h); width and height must be 1 to 2³¹−1")
            }
            let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
            guard let depths = allowed[type] else { throw .badHeader(file: file, detail: "colour type \(type) does not exist") }
            guard depths.contains(depth) else {
                throw .badHeader(file: file, detail: "bit depth \(depth) is not allowed for \(colorTypeName(type)) images")
            }
            guard d[10] == 0 else { throw .badHeader(file: file, detail: "compression method \(d[10]) (only 0, deflate, exists)") }
            guard d[11] == 0 else { throw .badHeader(file: file, detail: "filter method \(d[11]) (only 0 exists)") }
            guard d[12] <= 1 else { throw .badHeader(file: file, detail: "interlace method \(d[12]) (only 0 and 1 exist)") }
            if depth == 16 { throw .unsupportedBitDepth(file: file, bitDepth: depth, colorType: type) }
            if d[12] == 1 { throw .unsupportedInterlace(file: file) }
            let (pixels, overflow) = w.multipliedReportingOverflow(by: h)
            guard !overflow, pixels <= limits.maxPixels else {
                throw .imageTooLarge(file: file, width: w, height: h, limit: limits.maxPixels)
            }
            width = w; height = h; bitDepth = depth; colorType = type
            samples = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][type]!
            // width ≤ maxPixels, so none of these can overflow once the product above passed.
            rowBytes = (w * samples * depth + 7) / 8
            bpp = max(1, samples * depth / 8)
            filteredBytes = h * (1 + rowBytes)
        }
    }

    /// Reconstructs every row in place; the filter-type bytes stay where they are.
    static func unfilter(_ raw: inout [UInt8], _ header: Header, file: String) throws(PNGError) {
        let stride = 1 + header.rowBytes
        var badRow: (row: Int, type: UInt8)?
        raw.withUnsafeMutableBufferPointer { buffer in
            for y in 0..<header.height {
                let start = y * stride
                guard let filter = PNGFilter(rawValue: buffer[start]) else { badRow = (y, buffer[start]); return }
                let row = UnsafeMutableBufferPointer(rebasing: buffer[(start + 1)..<(start + stride)])
                let prior = y == 0 ? nil : UnsafeBufferPointer(rebasing: buffer[(start - stride + 1)..<start])
                Filters.reconstruct(filter, row: row, prior: prior, bpp: header.bpp)
            }
        }
        if let badRow {
            throw .corruptImageData(file: file, detail: "row \(badRow.row) has filter type \(badRow.type); only 0 to 4 exist")
        }
    }

    /// Unfiltered rows → an 8-bit Bitmap.
    static func expand(_ raw: [UInt8], _ header: Header, palette: [UInt8]?, transparency: [UInt8]?,
                       file: String) throws(PNGError) -> Bitmap {
        let w = header.width, h = header.height, stride = 1 + header.rowBytes, depth = header.bitDepth
        /// Sample x of row y (for depths below 8: packed, most significant bits first).
        func sample(_ row: UnsafeBufferPointer<UInt8>, _ x: Int) -> Int {
            if depth == 8 { return Int(row[x]) }
            let perByte = 8 / depth
            let byte = Int(row[x / perByte])
            let shift = 8 - depth * (x % perByte + 1)
            return (byte >> shift) & ((1 << depth) - 1)
        }
        switch header.colorType {
        case 0 where depth < 8:
            var px = [UInt8](repeating: 0, count: w * h)
            let scale = 255 / ((1 << depth) - 1)
            raw.withUnsafeBufferPointer { buf in
                for y in 0..<h {
                    let row = UnsafeBufferPointer(rebasing: buf[(y * stride + 1)..<((y + 1) * stride)])
                    for x in 0..<w { px[y * w + x] = UInt8(sample(row, x) * scale) }
                }
            }
            return Bitmap(width: w, height: h, layout: .gray, pixels: px)
        case 3:
            let entries = palette!.count / 3
            let alpha = transparency
            let layout: Bitmap.Layout = alpha == nil ? .rgb : .rgba
            let c = layout.channels
            var px = [UInt8](repeating: 0, count: w * h * c)
            var bad: Int?
            raw.withUnsafeBufferPointer { buf in
                for y in 0..<h {
                    let row = UnsafeBufferPointer(rebasing: buf[(y * stride + 1)..<((y + 1) * stride)])
                    for x in 0..<w {
                        let i = sample(row, x)
                        guard i < entries else { bad = i; return }
                        let o = (y * w + x) * c
                        px[o] = palette![3 * i]; px[o + 1] = palette![3 * i + 1]; px[o + 2] = palette![3 * i + 2]
                        if let alpha { px[o + 3] = i < alpha.count ? alpha[i] : 255 }
                    }
                }
            }
            if let bad { throw .corruptImageData(file: file, detail: "palette index \(bad), but the palette has \(entries) entries") }
            return Bitmap(width: w, height: h, layout: layout, pixels: px)
        default:
            let layout: Bitmap.Layout = [0: .gray, 2: .rgb, 4: .grayAlpha, 6: .rgba][header.colorType]!
            var px = [UInt8](repeating: 0, count: w * h * layout.channels)
            let rowBytes = header.rowBytes
            raw.withUnsafeBufferPointer { src in
                px.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<h {
                        (dst.baseAddress! + y * rowBytes).update(from: src.baseAddress! + y * stride + 1, count: rowBytes)
                    }
                }
            }
            return Bitmap(width: w, height: h, layout: layout, pixels: px)
        }
    }
}

extension Array where Element == UInt8 {
    /// The big-endian 32-bit value at `offset` (the caller checks that 4 bytes are there).
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
