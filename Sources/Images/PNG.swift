//  PNG.swift
//
//  PNG files through libspng (Debian's libspng-dev), treating every file as hostile: the header's size is
//  checked against `ImageLimits` before the pixels are allocated, chunk sizes are capped, every CRC and the
//  zlib checksum are checked (libspng's defaults) up to IEND, and each libspng error code becomes one `ImageError`.
//
//  Read: every PNG colour type and bit depth (1, 2, 4, 8, 16), interlaced (Adam7) or not. The result has 8
//  bits per sample:
//    colour type 0 (gray)        → .gray       (1, 2, 4 bits scaled to 0–255; 16 bits: the high byte)
//    colour type 4 (gray+alpha)  → .grayAlpha
//    colour type 2 (RGB)         → .rgb
//    colour type 6 (RGBA)        → .rgba
//    colour type 3 (palette)     → .rgb, or .rgba when the file has a tRNS chunk (palette alpha); a pixel
//                                  whose index is past the palette is an error
//  Not applied: gamma, colour profiles, tRNS of colour types 0 and 2. Ancillary chunks are otherwise ignored.
//  Written: 8-bit gray, gray+alpha, RGB or RGBA, not interlaced, zlib level 9 with libspng's adaptive filters.

import CSPNG
import Foundation

/// PNG decoding and encoding (libspng).
public enum PNG {
    /// The 8 bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The largest chunk libspng may buffer (a tEXt, iCCP, ... ; image data is streamed): 16 MiB.
    static let maxChunkBytes = 16 << 20

    /// Reads and decodes the PNG file at `path`.
    public static func read(contentsOf path: String, limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        try decode(ImageFile.bytes(contentsOf: path, limit: limits.maxFileBytes), file: path, limits: limits)
    }

    /// Decodes a PNG file in memory; `file` names it in errors.
    ///
    /// - Throws: ``ImageError/badPNG(file:detail:)`` with libspng's message for anything malformed (bad
    ///   signature, CRC, chunk order, truncation, corrupt image data, ...), and
    ///   ``ImageError/imageTooLarge(file:width:height:limit:)`` before anything is allocated for the pixels.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>", limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw .badPNG(file: file, detail: "not a PNG file (the first 8 bytes are not the PNG signature)")
        }
        guard let ctx = spng_ctx_new(0) else { throw .badPNG(file: file, detail: "libspng could not allocate a decoder") }
        defer { spng_ctx_free(ctx) }
        func check(_ code: Int32) throws(ImageError) {
            if code != 0 { throw .badPNG(file: file, detail: String(cString: spng_strerror(code))) }
        }
        let cap = UInt32(min(Int(UInt32.max >> 1), max(1, limits.maxPixels)))
        try check(spng_set_image_limits(ctx, cap, cap))
        try check(spng_set_chunk_limits(ctx, maxChunkBytes, maxChunkBytes * 4))
        do {
            return try bytes.withUnsafeBytes { raw throws(ImageError) -> Bitmap in
            try check(spng_set_png_buffer(ctx, raw.baseAddress, raw.count))
            var header = spng_ihdr()
            try check(spng_get_ihdr(ctx, &header))
            let w = Int(header.width), h = Int(header.height)
            guard limits.allows(width: w, height: h) else {
                throw .imageTooLarge(file: file, width: w, height: h, limit: limits.maxPixels)
            }
            let colorType = Int(header.color_type), depth = Int(header.bit_depth)
            if colorType == 3 { return try decodePalette(ctx, width: w, height: h, depth: depth, file: file) }
            // What to ask libspng for, and which of its channels to keep.
            let format: spng_format, layout: Bitmap.Layout, keep: [Int], flags: Int32
            switch colorType {
            case 0 where depth <= 8: (format, layout, keep, flags) = (SPNG_FMT_G8, .gray, [0], 0)
            case 0: (format, layout, keep, flags) = (SPNG_FMT_RGB8, .gray, [0], 0)
            case 4: (format, layout, keep, flags) = (SPNG_FMT_RGBA8, .grayAlpha, [0, 3], 0)
            case 2: (format, layout, keep, flags) = (SPNG_FMT_RGB8, .rgb, [0, 1, 2], 0)
            default: (format, layout, keep, flags) = (SPNG_FMT_RGBA8, .rgba, [0, 1, 2, 3], 0)
            }
            var size = 0
            try check(spng_decoded_image_size(ctx, Int32(format.rawValue), &size))
            let channels = format == SPNG_FMT_G8 ? 1 : (format == SPNG_FMT_RGB8 ? 3 : 4)
            guard size == w * h * channels else {
                throw .badPNG(file: file, detail: "libspng reports \(size) bytes for a \(w)×\(h) image of \(channels) channels")
            }
            var decoded = [UInt8](repeating: 0, count: size)
            try check(decoded.withUnsafeMutableBytes { spng_decode_image(ctx, $0.baseAddress, size, Int32(format.rawValue), flags) })
            // The rest of the file up to IEND: the last CRCs, and a file cut after its image data is refused.
            try check(spng_decode_chunks(ctx))
            if keep.count == channels { return Bitmap(width: w, height: h, layout: layout, pixels: decoded) }
            var pixels = [UInt8](repeating: 0, count: w * h * keep.count)
            for p in 0..<(w * h) {
                for (k, c) in keep.enumerated() { pixels[p * keep.count + k] = decoded[p * channels + c] }
            }
            return Bitmap(width: w, height: h, layout: layout, pixels: pixels)
            }
        } catch let error as ImageError {
            throw error
        } catch {
            throw .badPNG(file: file, detail: "\(error)")
        }
    }

    /// Colour type 3 from its indices (libspng's SPNG_FMT_PNG: rows of `depth`-bit indices packed from the
    /// high bits, deinterlaced), looked up in PLTE and, when the file has tRNS, its alphas (255 past them).
    /// An index past the palette is refused: libspng itself would decode it as black, which reads as ink.
    static func decodePalette(_ ctx: OpaquePointer, width w: Int, height h: Int, depth: Int, file: String) throws(ImageError) -> Bitmap {
        func check(_ code: Int32) throws(ImageError) {
            if code != 0 { throw .badPNG(file: file, detail: String(cString: spng_strerror(code))) }
        }
        var plte = spng_plte()
        try check(spng_get_plte(ctx, &plte))
        var trns = spng_trns()
        let hasAlpha = spng_get_trns(ctx, &trns) == 0
        let colours = withUnsafeBytes(of: &plte.entries) { Array($0) }      // 256 entries of r, g, b, (reserved)
        let alphas = withUnsafeBytes(of: &trns.type3_alpha) { Array($0) }
        let entries = Int(plte.n_entries), alphaEntries = hasAlpha ? Int(trns.n_type3_entries) : 0
        let rowBytes = (w * depth + 7) / 8
        var size = 0
        try check(spng_decoded_image_size(ctx, Int32(SPNG_FMT_PNG.rawValue), &size))
        guard size == rowBytes * h else {
            throw .badPNG(file: file, detail: "libspng reports \(size) bytes for \(h) rows of \(w) \(depth)-bit palette indices")
        }
        var packed = [UInt8](repeating: 0, count: size)
        try check(packed.withUnsafeMutableBytes { spng_decode_image(ctx, $0.baseAddress, size, Int32(SPNG_FMT_PNG.rawValue), 0) })
        try check(spng_decode_chunks(ctx))
        let channels = hasAlpha ? 4 : 3, perByte = 8 / depth, bits = (1 << depth) - 1
        var pixels = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h {
            for x in 0..<w {
                let index = Int(packed[y * rowBytes + x / perByte] >> (8 - depth * (x % perByte + 1))) & bits
                guard index < entries else {
                    throw .badPNG(file: file, detail: "pixel (\(x), \(y)) has palette index \(index), past the palette's \(entries) entries")
                }
                let o = (y * w + x) * channels
                for c in 0..<3 { pixels[o + c] = colours[index * 4 + c] }
                if hasAlpha { pixels[o + 3] = index < alphaEntries ? alphas[index] : 255 }
            }
        }
        return Bitmap(width: w, height: h, layout: hasAlpha ? .rgba : .rgb, pixels: pixels)
    }

    /// The PNG file of `bitmap`: 8 bits per sample, colour type 0, 4, 2 or 6 after its layout, not interlaced.
    ///
    /// - Throws: ``ImageError/cannotEncodePNG(file:detail:)`` if libspng fails (it does not for a valid bitmap).
    public static func encode(_ bitmap: Bitmap, level: Int = 9) throws(ImageError) -> [UInt8] {
        let file = "<memory>"
        func check(_ code: Int32) throws(ImageError) {
            if code != 0 { throw .cannotEncodePNG(file: file, detail: String(cString: spng_strerror(code))) }
        }
        guard let ctx = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw .cannotEncodePNG(file: file, detail: "libspng could not allocate an encoder")
        }
        defer { spng_ctx_free(ctx) }
        try check(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1))
        try check(spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, Int32(max(0, min(9, level)))))
        var header = spng_ihdr()
        header.width = UInt32(bitmap.width)
        header.height = UInt32(bitmap.height)
        header.bit_depth = 8
        header.color_type = colorType(of: bitmap.layout)
        try check(spng_set_ihdr(ctx, &header))
        try check(bitmap.pixels.withUnsafeBytes {
            spng_encode_image(ctx, $0.baseAddress, $0.count, Int32(SPNG_FMT_PNG.rawValue), Int32(SPNG_ENCODE_FINALIZE.rawValue))
        })
        var length = 0, error: Int32 = 0
        guard let buffer = spng_get_png_buffer(ctx, &length, &error) else {
            throw .cannotEncodePNG(file: file, detail: String(cString: spng_strerror(error)))
        }
        defer { free(buffer) }
        return [UInt8](UnsafeRawBufferPointer(start: buffer, count: length))
    }

    /// Encodes `bitmap` and writes it to `path` atomically (see ``ImageFile/write(_:to:)``).
    public static func write(_ bitmap: Bitmap, to path: String) throws(ImageError) {
        let bytes: [UInt8]
        do { bytes = try encode(bitmap) } catch { throw .cannotEncodePNG(file: path, detail: error.detail) }
        try ImageFile.write(bytes, to: path)
    }

    static func colorType(of layout: Bitmap.Layout) -> UInt8 {
        switch layout {
        case .gray: return 0
        case .grayAlpha: return 4
        case .rgb: return 2
        case .rgba: return 6
        }
    }
}

extension ImageError {
    /// The library's message of an encoding error.
    var detail: String {
        if case let .cannotEncodePNG(_, d) = self { return d }
        return errorDescription ?? ""
    }
}
