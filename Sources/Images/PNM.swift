//  PNM.swift
//
//  PGM and PPM (Netpbm): a text header, then the samples.
//    P5 / P6   "P5" ws width ws height ws maxval, one whitespace byte, then width·height(·3) bytes
//    P2 / P3   the same header, then the samples as decimal numbers separated by whitespace
//  '#' starts a comment that runs to the end of the line, anywhere in the header (and in P2/P3 bodies).
//  Samples are 0...maxval; maxval 1...255 is read and scaled to 0...255, larger ones (16-bit) are refused.

/// Reading PGM (gray) and PPM (RGB) images, and writing PGM.
public enum PNM {
    /// Whether `bytes` start like a PGM or PPM file: "P2", "P3", "P5" or "P6" followed by whitespace or '#'.
    public static func looksLikePNM(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == UInt8(ascii: "P") && [UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "5"), UInt8(ascii: "6")].contains(bytes[1])
            && (isSpace(bytes[2]) || bytes[2] == UInt8(ascii: "#"))
    }

    /// Reads the PGM or PPM file at `path`.
    public static func read(contentsOf path: String, limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        try decode(ImageFile.bytes(contentsOf: path, limit: limits.maxFileBytes), file: path, limits: limits)
    }

    /// Decodes a PGM (P2, P5) into a `.gray` bitmap or a PPM (P3, P6) into an `.rgb` one, samples scaled
    /// from 0...maxval to 0...255. Bytes after the image (a second image in the same file) are ignored.
    ///
    /// - Throws: ``ImageError/badPNM(file:detail:)``, ``ImageError/unsupportedMaxval(file:maxval:)``,
    ///   ``ImageError/imageTooLarge(file:width:height:limit:)``.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>", limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        guard looksLikePNM(bytes) else {
            throw .badPNM(file: file, detail: "the file does not start with P2, P3, P5 or P6")
        }
        let kind = bytes[1]
        let ascii = kind == UInt8(ascii: "2") || kind == UInt8(ascii: "3")
        let channels = kind == UInt8(ascii: "3") || kind == UInt8(ascii: "6") ? 3 : 1
        var reader = Reader(bytes: bytes, offset: 2, file: file)
        let width = try reader.number("width")
        let height = try reader.number("height")
        let maxval = try reader.number("maxval")
        guard width >= 1, height >= 1 else { throw .badPNM(file: file, detail: "size \(width)×\(height); both must be at least 1") }
        guard maxval >= 1 else { throw .badPNM(file: file, detail: "maxval is 0; it must be 1 to 255") }
        guard maxval <= 255 else {
            if maxval <= 65535 { throw .unsupportedMaxval(file: file, maxval: maxval) }
            throw .badPNM(file: file, detail: "maxval \(maxval) is above 65535")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= limits.maxPixels else {
            throw .imageTooLarge(file: file, width: width, height: height, limit: limits.maxPixels)
        }
        let count = pixels * channels
        var out = [UInt8]()
        if ascii {
            // Each sample takes at least 2 bytes ("0 "), so a short file fails before a large allocation.
            out.reserveCapacity(min(count, bytes.count / 2 + 1))
            for i in 0..<count {
                let v: Int
                do { v = try reader.number("sample \(i)") } catch {
                    if reader.atEnd { throw .badPNM(file: file, detail: "the file ends after \(i) of \(count) samples") }
                    throw error
                }
                guard v <= maxval else { throw .badPNM(file: file, detail: "sample \(i) is \(v), above maxval \(maxval)") }
                out.append(scale(v, maxval))
            }
        } else {
            // Exactly one whitespace byte separates maxval from the binary samples.
            guard reader.offset < bytes.count, isSpace(bytes[reader.offset]) else {
                throw .badPNM(file: file, detail: "maxval must be followed by one whitespace byte, then the samples")
            }
            let start = reader.offset + 1
            guard bytes.count - start >= count else {
                throw .badPNM(file: file, detail: "the file ends after \(max(0, bytes.count - start)) of \(count) sample bytes")
            }
            out = Array(bytes[start..<(start + count)])
            if maxval < 255 {
                for i in 0..<count {
                    guard Int(out[i]) <= maxval else {
                        throw .badPNM(file: file, detail: "sample \(i) is \(out[i]), above maxval \(maxval)")
                    }
                    out[i] = scale(Int(out[i]), maxval)
                }
            }
        }
        return Bitmap(width: width, height: height, layout: channels == 3 ? .rgb : .gray, pixels: out)
    }

    /// A binary (P5) PGM of a `.gray` bitmap, or an ASCII (P2) one with `ascii`, maxval 255.
    public static func encodePGM(_ bitmap: Bitmap, ascii: Bool = false) -> [UInt8] {
        precondition(bitmap.layout == .gray, "encodePGM takes a grayscale bitmap, got \(bitmap.layout)")
        let header = "\(ascii ? "P2" : "P5")\n\(bitmap.width) \(bitmap.height)\n255\n"
        if !ascii { return Array(header.utf8) + bitmap.pixels }
        var text = header
        for y in 0..<bitmap.height {
            text += bitmap.pixels[(y * bitmap.width)..<((y + 1) * bitmap.width)].map { String($0) }.joined(separator: " ") + "\n"
        }
        return Array(text.utf8)
    }

    /// v in 0...maxval → 0...255, rounded.
    static func scale(_ v: Int, _ maxval: Int) -> UInt8 {
        UInt8((v * 255 + maxval / 2) / maxval)
    }

    static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C
    }

    /// Decimal numbers separated by whitespace and comments.
    struct Reader {
        let bytes: [UInt8]
        var offset: Int
        let file: String

        var atEnd: Bool { offset >= bytes.count }

        mutating func skipSpaceAndComments() {
            while offset < bytes.count {
                if isSpace(bytes[offset]) {
                    offset += 1
                } else if bytes[offset] == UInt8(ascii: "#") {
                    while offset < bytes.count && bytes[offset] != 0x0A && bytes[offset] != 0x0D { offset += 1 }
                } else {
                    return
                }
            }
        }

        /// The next non-negative decimal number (at most 9 digits, so it cannot overflow).
        mutating func number(_ what: String) throws(ImageError) -> Int {
            skipSpaceAndComments()
            guard offset < bytes.count else { throw .badPNM(file: file, detail: "the file ends before the \(what)") }
            var value = 0, digits = 0
            while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) {
                value = value * 10 + Int(bytes[offset] - UInt8(ascii: "0"))
                digits += 1
                offset += 1
                guard digits <= 9 else { throw .badPNM(file: file, detail: "the \(what) has more than 9 digits") }
            }
            guard digits > 0 else {
                throw .badPNM(file: file, detail: "expected the \(what) (a decimal number) at byte \(offset)")
            }
            if offset < bytes.count, !isSpace(bytes[offset]), bytes[offset] != UInt8(ascii: "#") {
                throw .badPNM(file: file, detail: "unexpected byte \(bytes[offset]) after the \(what) at byte \(offset)")
            }
            return value
        }
    }
}
