//  PNGTests.swift
//
//  PNG through libspng: the round trip for every layout; files written by another encoder (ImageMagick, see
//  ForeignFiles.swift) give that tool's own pixels, 16-bit and interlaced ones included; palette, tRNS and
//  sub-byte gray; and hostile files: each gives a one-line error naming the file, a huge header is refused
//  before anything is allocated, and no truncation or corruption traps.

import XCTest
@testable import Images

final class PNGTests: XCTestCase {
    func testEveryLayoutAndSizeRoundTrips() throws {
        for layout in Bitmap.Layout.allCases {
            for (w, h) in [(1, 1), (3, 7), (7, 3), (17, 5), (64, 33)] {
                let image = randomBitmap(width: w, height: h, layout: layout, seed: UInt64(w * 100 + h))
                let file = try PNG.encode(image)
                XCTAssertEqual(file[25], PNG.colorType(of: layout), "colour type of \(layout)")
                XCTAssertEqual(file[24], 8, "bit depth")
                XCTAssertEqual(try PNG.decode(file, file: "roundtrip.png"), image, "\(layout) \(w)×\(h)")
            }
        }
    }

    func testImageMagickFiles() throws {
        let cases: [([UInt8], Int, Int, Bitmap.Layout, [UInt8])] = [
            (ForeignFiles.grayPNG, 7, 5, .gray, ForeignFiles.grayRaw),
            (ForeignFiles.rgbPNG, 9, 4, .rgb, ForeignFiles.rgbRaw),
            (ForeignFiles.rgbaPNG, 5, 3, .rgba, ForeignFiles.rgbaRaw),
            (ForeignFiles.palettePNG, 6, 4, .rgb, ForeignFiles.paletteRaw),
            (ForeignFiles.interlacedPNG, 7, 5, .gray, ForeignFiles.grayRaw),
        ]
        for (bytes, w, h, layout, raw) in cases {
            let image = try PNG.decode(bytes, file: "im.png")
            XCTAssertEqual([image.width, image.height], [w, h])
            XCTAssertEqual(image.layout, layout)
            XCTAssertEqual(image.pixels, raw, "\(layout) \(w)×\(h)")
        }
        // 16-bit gray: the high byte of each sample, within 1 of ImageMagick's own 8-bit export.
        let sixteen = try PNG.decode(ForeignFiles.gray16PNG, file: "gray16.png")
        XCTAssertEqual(sixteen.layout, .gray)
        XCTAssertEqual(sixteen.pixels.count, ForeignFiles.grayRaw.count)
        for (a, b) in zip(sixteen.pixels, ForeignFiles.grayRaw) { XCTAssertLessThanOrEqual(abs(Int(a) - Int(b)), 1) }
    }

    func testPaletteTransparencyAndSubByteGray() throws {
        // 2-bit palette, 3 entries, tRNS for the first two; row: indices 0 1 2 1 0 → bits 00 01 10 01 | 00.
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let file = assemblePNG(header: ihdr(width: 5, height: 1, bitDepth: 2, colorType: 3), filteredRows: [0, 0b0001_1001, 0],
                               before: [chunk("PLTE", palette), chunk("tRNS", [0, 128])])
        let image = try PNG.decode(file)
        XCTAssertEqual(image.layout, .rgba)
        XCTAssertEqual(image.pixels, [255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 0, 255, 0, 128, 255, 0, 0, 0])
        let opaque = assemblePNG(header: ihdr(width: 2, height: 1, bitDepth: 8, colorType: 3), filteredRows: [0, 2, 0],
                                 before: [chunk("PLTE", palette)])
        XCTAssertEqual(try PNG.decode(opaque), Bitmap(width: 2, height: 1, layout: .rgb, pixels: [0, 0, 255, 255, 0, 0]))
        // Interlaced, 3×3, indices p(x, y) = (x + y) % 3, in Adam7's passes 1, 4, 5, 6, 7 (2 and 3 are empty):
        // (0,0) | (2,0) | (0,2) (2,2) | (1,0) ; (1,2) | (0,1) (1,1) (2,1).
        let passes: [UInt8] = [0, 0, 0, 2, 0, 2, 1, 0, 1, 0, 0, 0, 1, 2, 0]
        let interlaced = assemblePNG(header: ihdr(width: 3, height: 3, bitDepth: 8, colorType: 3, interlace: 1), filteredRows: passes,
                                     before: [chunk("PLTE", palette)])
        let indices = (0..<9).map { ($0 % 3 + $0 / 3) % 3 }
        XCTAssertEqual(try PNG.decode(interlaced).pixels, indices.flatMap { Array(palette[($0 * 3)..<($0 * 3 + 3)]) })
        // Index 3 is past the 3-entry palette: refused (libspng alone would decode it as black, which reads as ink).
        let bad = assemblePNG(header: ihdr(width: 2, height: 1, bitDepth: 2, colorType: 3), filteredRows: [0, 0b0011_0000],
                              before: [chunk("PLTE", palette)])
        let error = imageError { try PNG.decode(bad, file: "p.png") }
        assertOneLine(error, file: "p.png")
        XCTAssertTrue(error?.errorDescription?.contains("pixel (1, 0) has palette index 3, past the palette's 3 entries") ?? false,
                      error?.errorDescription ?? "decoded")
        // A palette image without PLTE is refused.
        let noPalette = assemblePNG(header: ihdr(width: 1, height: 1, colorType: 3), filteredRows: [0, 0])
        assertOneLine(imageError { try PNG.decode(noPalette, file: "p.png") }, file: "p.png")
        // 1-bit gray, 10 wide: 1010101010 → 255 0 255 ...; 4-bit gray 0x0F → 0, 255; 8-bit gray+alpha; 16-bit RGBA.
        let gray = assemblePNG(header: ihdr(width: 10, height: 1, bitDepth: 1), filteredRows: [0, 0b1010_1010, 0b1000_0000])
        XCTAssertEqual(try PNG.decode(gray), Bitmap(width: 10, height: 1, layout: .gray, pixels: [255, 0, 255, 0, 255, 0, 255, 0, 255, 0]))
        XCTAssertEqual(try PNG.decode(assemblePNG(header: ihdr(width: 2, height: 1, bitDepth: 4), filteredRows: [0, 0x0F])).pixels, [0, 255])
        let ga = assemblePNG(header: ihdr(width: 1, height: 1, colorType: 4), filteredRows: [0, 7, 200])
        XCTAssertEqual(try PNG.decode(ga), Bitmap(width: 1, height: 1, layout: .grayAlpha, pixels: [7, 200]))
        let rgba16 = assemblePNG(header: ihdr(width: 1, height: 1, bitDepth: 16, colorType: 6), filteredRows: [0, 0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF, 0x80, 0x00])
        XCTAssertEqual(try PNG.decode(rgba16), Bitmap(width: 1, height: 1, layout: .rgba, pixels: [0x12, 0xAB, 0xFF, 0x80]))
    }

    func testHostileHeadersAndChunks() {
        let good = try! PNG.encode(randomBitmap(width: 6, height: 4, layout: .rgb, seed: 1))
        var bytes = good
        bytes[1] = UInt8(ascii: "Q")
        XCTAssertEqual(imageError { try PNG.decode(bytes, file: "x.png") },
                       .badPNG(file: "x.png", detail: "not a PNG file (the first 8 bytes are not the PNG signature)"))
        var crcBroken = good
        crcBroken[30] ^= 0x01   // a byte of IHDR's stored CRC
        let crcError = imageError { try PNG.decode(crcBroken, file: "x.png") }
        assertOneLine(crcError, file: "x.png")
        XCTAssertTrue(crcError?.errorDescription?.contains("checksum") ?? false, crcError?.errorDescription ?? "")
        // 60000 × 60000 RGBA would be 14 GB: refused from IHDR, before any allocation.
        let huge = assemblePNG(header: ihdr(width: 60000, height: 60000, colorType: 6), filteredRows: [0, 1, 2])
        XCTAssertEqual(imageError { try PNG.decode(huge, file: "bomb.png") },
                       .imageTooLarge(file: "bomb.png", width: 60000, height: 60000, limit: ImageLimits.default.maxPixels))
        let small = ImageLimits(maxFileBytes: 1 << 20, maxPixels: 100)
        XCTAssertEqual(imageError { try PNG.decode(good, file: "g.png", limits: small) }, nil)
        XCTAssertEqual(imageError { try PNG.decode(good, file: "g.png", limits: ImageLimits(maxPixels: 23)) },
                       .imageTooLarge(file: "g.png", width: 6, height: 4, limit: 23))
        // 8000 × 8000 gray passes the limit, but the data holds 3 bytes.
        assertOneLine(imageError { try PNG.decode(assemblePNG(header: ihdr(width: 8000, height: 8000), filteredRows: [0, 1, 2]), file: "big.png") }, file: "big.png")
        let rows = [UInt8](repeating: 0, count: 2 * (1 + 2))
        for header in [ihdr(width: 2, height: 2, bitDepth: 3), ihdr(width: 2, height: 2, bitDepth: 4, colorType: 2),
                       ihdr(width: 2, height: 2, colorType: 5), ihdr(width: 0, height: 2), ihdr(width: 2, height: 2, compression: 1),
                       ihdr(width: 2, height: 2, interlace: 2)] {
            assertOneLine(imageError { try PNG.decode(assemblePNG(header: header, filteredRows: rows), file: "h.png") }, file: "h.png", "\(header)")
        }
        let header = chunk("IHDR", ihdr(width: 2, height: 1)), idat = chunk("IDAT", zlibCompress([0, 9, 9])), end = chunk("IEND", [])
        for (name, file) in [("idat-first", PNG.signature + idat + header + end), ("no-idat", PNG.signature + header + end),
                             ("critical", PNG.signature + header + chunk("ABCD", []) + idat + end),
                             ("bad-filter", assemblePNG(header: ihdr(width: 2, height: 2), filteredRows: [0, 1, 2, 5, 1, 2])),
                             ("not-zlib", PNG.signature + header + chunk("IDAT", [1, 2, 3, 4, 5]) + end)] {
            assertOneLine(imageError { try PNG.decode(file, file: name) }, file: name)
        }
        // An unknown ancillary chunk and IDAT split in two are fine.
        let split = zlibCompress([0, 9, 9])
        let fine = PNG.signature + header + chunk("abCd", [1, 2]) + chunk("IDAT", Array(split[0..<3])) + chunk("IDAT", Array(split[3...])) + end
        XCTAssertEqual(try PNG.decode(fine).pixels, [9, 9])
    }

    func testEveryTruncationAndRandomCorruptionIsAnErrorNotATrap() throws {
        let good = try PNG.encode(randomBitmap(width: 6, height: 4, layout: .rgb, seed: 1))
        // Cut anywhere before IEND's own CRC, the file is refused (libspng does not read that last CRC).
        for length in 0..<(good.count - 4) {
            guard let error = imageError({ try PNG.decode(Array(good[0..<length]), file: "cut.png") }) else {
                return XCTFail("a file cut to \(length) of \(good.count) bytes decoded")
            }
            assertOneLine(error, file: "cut.png")
        }
        // Missing only IEND's CRC, it decodes to the same pixels (documented in Sources/Images/README.md).
        XCTAssertEqual(try PNG.decode(Array(good.dropLast(4))), try PNG.decode(good))
        var g = SplitMix(seed: 7)
        let file = try PNG.encode(randomBitmap(width: 9, height: 7, layout: .rgba, seed: 2))
        let idatStart = 33, idatLength = Int(file.bigEndianUInt32(at: idatStart))
        var refused = 0
        for _ in 0..<300 {
            var data = Array(file[(idatStart + 8)..<(idatStart + 8 + idatLength)])
            for _ in 0..<(1 + Int(g.next() % 3)) { data[Int(g.next() % UInt64(data.count))] ^= UInt8(1 + g.next() % 255) }
            if let e = imageError({ try PNG.decode(Array(file[0..<idatStart]) + chunk("IDAT", data) + chunk("IEND", []), file: "c.png") }) {
                assertOneLine(e, file: "c.png")
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testWriteThenReadFromDisk() throws {
        let dir = try TemporaryDirectory()
        let image = randomBitmap(width: 31, height: 9, layout: .rgba, seed: 9)
        try PNG.write(image, to: dir.file("a.png"))
        XCTAssertEqual(try PNG.read(contentsOf: dir.file("a.png")), image)
        XCTAssertEqual(try ImageFile.read(contentsOf: dir.file("a.png")), image)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "no temporary file is left behind")
        assertOneLine(imageError { try PNG.write(image, to: dir.file("no/such/dir/a.png")) }, file: dir.file("no/such/dir/a.png"))
    }
}
