//  EXIFOrientation.swift
//
//  The EXIF orientation tag (0x0112) of a JPEG, and turning a bitmap upright by it.
//    JPEG:  FF D8, then segments FF xx LL LL (LL big-endian, counting itself); APP1 = FF E1 holding
//           "Exif\0\0" and a TIFF structure; the search stops at SOS (FF DA) or EOI.
//    TIFF:  "II" (little-endian) or "MM" (big-endian), 42, offset of IFD0; IFD0 = count (2 bytes), then
//           12-byte entries tag, type, count, value; orientation is a SHORT (type 3), count 1, 1...8.
//  Every offset is checked against the segment before it is read; anything malformed means "no orientation".
//
//  value  stored image is, to be shown upright          turned upright by
//  1      upright                                       nothing
//  2      mirrored left-right                           flip horizontally
//  3      rotated 180°                                  rotate 180°
//  4      mirrored top-bottom                           flip vertically
//  5      transposed (mirrored along the main diagonal) transpose
//  6      rotated 90° counter-clockwise                 rotate 90° clockwise
//  7      transversed (mirrored along the anti-diagonal) transverse
//  8      rotated 90° clockwise                         rotate 90° counter-clockwise

/// An EXIF orientation, 1 (upright) to 8.
public struct EXIFOrientation: Equatable, Sendable {
    public let value: Int

    public init?(_ value: Int) {
        guard (1...8).contains(value) else { return nil }
        self.value = value
    }

    public static let upright = EXIFOrientation(1)!

    /// The orientation in `jpeg`'s EXIF segment, or upright when there is none or it is malformed.
    public static func read(_ jpeg: [UInt8]) -> EXIFOrientation {
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return .upright }
        var offset = 2
        while offset + 4 <= jpeg.count, jpeg[offset] == 0xFF {
            let marker = jpeg[offset + 1]
            if marker == 0xDA || marker == 0xD9 { break }                      // SOS, EOI: no more headers
            if marker == 0xFF { offset += 1; continue }                        // fill byte
            let length = Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3])
            guard length >= 2, offset + 2 + length <= jpeg.count else { break }
            let start = offset + 4, end = offset + 2 + length
            if marker == 0xE1, end - start >= 6, Array(jpeg[start..<(start + 6)]) == Array("Exif\0\0".utf8),
               let found = fromTIFF(jpeg, start: start + 6, end: end) {
                return found
            }
            offset = end
        }
        return .upright
    }

    /// The orientation entry of IFD0 in the TIFF structure at jpeg[start..<end].
    static func fromTIFF(_ b: [UInt8], start: Int, end: Int) -> EXIFOrientation? {
        guard end - start >= 8 else { return nil }
        let little: Bool
        switch (b[start], b[start + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= start, at + 2 <= end else { return nil }
            return little ? Int(b[at]) | Int(b[at + 1]) << 8 : Int(b[at]) << 8 | Int(b[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let lo = u16(little ? at : at + 2), let hi = u16(little ? at + 2 : at) else { return nil }
            return hi << 16 | lo
        }
        guard u16(start + 2) == 42, let ifd = u32(start + 4), ifd <= end - start, let count = u16(start + ifd) else { return nil }
        for k in 0..<count {
            let entry = start + ifd + 2 + 12 * k
            guard let tag = u16(entry), let type = u16(entry + 2), let n = u32(entry + 4) else { return nil }
            if tag == 0x0112 {
                guard type == 3, n == 1, let v = u16(entry + 8) else { return nil }
                return EXIFOrientation(v)
            }
        }
        return nil
    }

    /// `bitmap` turned upright: the pixel the viewer sees at (x, y) of the result.
    public func apply(to bitmap: Bitmap) -> Bitmap {
        if value == 1 { return bitmap }
        let w = bitmap.width, h = bitmap.height, c = bitmap.layout.channels
        let swaps = value >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = Bitmap(width: ow, height: oh, layout: bitmap.layout)
        for y in 0..<oh {
            for x in 0..<ow {
                // (sx, sy): the stored pixel shown at (x, y).
                let sx: Int, sy: Int
                switch value {
                case 2: (sx, sy) = (w - 1 - x, y)
                case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                case 4: (sx, sy) = (x, h - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, h - 1 - x)
                case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                default: (sx, sy) = (w - 1 - y, x)                              // 8
                }
                for k in 0..<c { out.pixels[(y * ow + x) * c + k] = bitmap.pixels[(sy * w + sx) * c + k] }
            }
        }
        return out
    }
}
