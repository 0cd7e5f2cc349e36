//  JPEG.swift
//
//  JPEG files through libjpeg-turbo's TurboJPEG API (Debian's libturbojpeg0-dev), which reports errors by
//  return code and message, with no setjmp. The header's size is checked against `ImageLimits` before the
//  pixels are allocated; progressive files are limited in scans (TJFLAG_LIMITSCANS); warnings (corrupt or
//  truncated data) are errors (TJFLAG_STOPONWARNING). Gray JPEGs decode to .gray, all others to .rgb; the
//  EXIF orientation (APP1) is applied afterwards, so the bitmap is upright as a phone shows it.

import CTurboJPEG
import Foundation

/// JPEG decoding and encoding (TurboJPEG).
public enum JPEG {
    /// The first bytes of every JPEG file: SOI, then a marker.
    public static let signature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// Reads and decodes the JPEG file at `path`.
    public static func read(contentsOf path: String, limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        try decode(ImageFile.bytes(contentsOf: path, limit: limits.maxFileBytes), file: path, limits: limits)
    }

    /// Decodes a JPEG file in memory, upright after its EXIF orientation; `file` names it in errors.
    ///
    /// - Throws: ``ImageError/badJPEG(file:detail:)`` with TurboJPEG's message, and
    ///   ``ImageError/imageTooLarge(file:width:height:limit:)`` before anything is allocated for the pixels.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>", limits: ImageLimits = .default) throws(ImageError) -> Bitmap {
        guard bytes.starts(with: signature) else {
            throw .badJPEG(file: file, detail: "not a JPEG file (it does not start with FF D8 FF)")
        }
        guard bytes.count <= Int(UInt32.max) else { throw .fileTooLarge(file: file, limit: Int(UInt32.max)) }
        guard let handle = tjInitDecompress() else { throw .badJPEG(file: file, detail: "TurboJPEG could not allocate a decoder") }
        defer { tjDestroy(handle) }
        func failure() -> ImageError { .badJPEG(file: file, detail: String(cString: tjGetErrorStr2(handle))) }
        let decoded: Bitmap
        do {
            decoded = try bytes.withUnsafeBufferPointer { buffer throws(ImageError) -> Bitmap in
            var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &w, &h, &subsampling, &colorspace) == 0 else {
                throw failure()
            }
            guard w > 0, h > 0 else { throw .badJPEG(file: file, detail: "the header gives no image size (\(w)×\(h))") }
            guard limits.allows(width: Int(w), height: Int(h)) else {
                throw .imageTooLarge(file: file, width: Int(w), height: Int(h), limit: limits.maxPixels)
            }
            let layout: Bitmap.Layout = colorspace == Int32(TJCS_GRAY.rawValue) ? .gray : .rgb
            let format = layout == .gray ? TJPF_GRAY : TJPF_RGB
            var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h) * layout.channels)
            let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS
            let status = pixels.withUnsafeMutableBufferPointer {
                tjDecompress2(handle, buffer.baseAddress, UInt(buffer.count), $0.baseAddress, w, 0, h, Int32(format.rawValue), flags)
            }
            guard status == 0 else { throw failure() }
            return Bitmap(width: Int(w), height: Int(h), layout: layout, pixels: pixels)
            }
        } catch let error as ImageError {
            throw error
        } catch {
            throw .badJPEG(file: file, detail: "\(error)")
        }
        return EXIFOrientation.read(bytes).apply(to: decoded)
    }

    /// The baseline JPEG of `bitmap` (.gray or .rgb; alpha is dropped) at `quality` (1–100), 4:2:0 for colour.
    ///
    /// - Throws: ``ImageError/badJPEG(file:detail:)`` if TurboJPEG fails.
    public static func encode(_ bitmap: Bitmap, quality: Int = 90) throws(ImageError) -> [UInt8] {
        let source: Bitmap
        switch bitmap.layout {
        case .gray, .rgb: source = bitmap
        case .grayAlpha: source = Bitmap(width: bitmap.width, height: bitmap.height, layout: .gray,
                                         pixels: stride(from: 0, to: bitmap.pixels.count, by: 2).map { bitmap.pixels[$0] })
        case .rgba: source = Bitmap(width: bitmap.width, height: bitmap.height, layout: .rgb,
                                    pixels: (0..<(bitmap.width * bitmap.height)).flatMap { bitmap.pixels[($0 * 4)..<($0 * 4 + 3)] })
        }
        guard let handle = tjInitCompress() else { throw .badJPEG(file: "<memory>", detail: "TurboJPEG could not allocate an encoder") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let gray = source.layout == .gray
        let status = source.pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(source.width), 0, Int32(source.height),
                        Int32((gray ? TJPF_GRAY : TJPF_RGB).rawValue), &output, &size,
                        Int32((gray ? TJSAMP_GRAY : TJSAMP_420).rawValue), Int32(max(1, min(100, quality))), TJFLAG_ACCURATEDCT)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else { throw .badJPEG(file: "<memory>", detail: String(cString: tjGetErrorStr2(handle))) }
        return [UInt8](UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
