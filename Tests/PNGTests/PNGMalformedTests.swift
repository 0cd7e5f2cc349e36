//  PNGMalformedTests.swift
//
//  Hostile and broken files: each gives its own one-line error naming the file, and none traps or
//  allocates more than its data can justify.

import XCTest
@testable import PNG

final class PNGMalformedTests: XCTestCase {
    let good = PNG.encode(randomBitmap(width: 6, height: 4, layout: .rgb, seed: 1))

    func testBadSignature() {
        var bytes = good
        bytes[1] = UInt8(ascii: "Q")
        XCTAssertEqual(pngError { try PNG.decode(bytes, file: "x.png") }, .notPNG(file: "x.png"))
        XCTAssertEqual(pngError { try PNG.decode([], file: "empty.png") }, .notPNG(file: "empty.png"))
        XCTAssertEqual(PNGError.notPNG(file: "x.png").errorDescription,
                       "x.png: not a PNG file (the first 8 bytes are not the PNG signature)")
    }

    func testBadCRCNamesTheChunk() {
        var bytes = good
        bytes[20] ^= 0x01   // a byte of IHDR's width
        guard case let .badCRC(file, chunk, _, _)? = pngError({ try PNG.decode(bytes, file: "x.png") }) else {
            return XCTFail("expected badCRC")
        }
        XCTAssertEqual(file, "x.png")
        XCTAssertEqual(chunk, "IHDR")
        // A flipped bit in the compressed data is caught by IDAT's CRC.
        var data = good
        data[45] ^= 0x10
        guard case .badCRC(_, "IDAT", _, _)? = pngError({ try PNG.decode(data, file: "x.png") }) else {
            return XCTFail("expected badCRC in IDAT")
        }
    }

    func testEveryTruncationIsAnErrorNotATrap() {
        for length in 8..<good.count {
            guard let error = pngError({ try PNG.decode(Array(good[0..<length]), file: "cut.png") }) else {
                return XCTFail("a file cut to \(length) of \(good.count) bytes decoded")
            }
            guard case .truncated(file: "cut.png", _) = error else {
                return XCTFail("cut to \(length): \(error.errorDescription!)")
            }
        }
        print("  e.g. " + pngError { try PNG.decode(Array(good[0..<40]), file: "cut.png") }!.errorDescription!)
    }

    func testUnsupportedAndInvalidHeaders() {
        let rows = [UInt8](repeating: 0, count: 2 * (1 + 2 * 6))
        let sixteen = assemblePNG(header: ihdr(width: 2, height: 2, bitDepth: 16, colorType: 6), filteredRows: rows)
        XCTAssertEqual(pngError { try PNG.decode(sixteen, file: "a.png") }, .unsupportedBitDepth(file: "a.png", bitDepth: 16, colorType: 6))
        let interlaced = assemblePNG(header: ihdr(width: 2, height: 2, interlace: 1), filteredRows: rows)
        XCTAssertEqual(pngError { try PNG.decode(interlaced, file: "a.png") }, .unsupportedInterlace(file: "a.png"))

        let invalid: [([UInt8], String)] = [
            (ihdr(width: 2, height: 2, bitDepth: 3), "bit depth 3 is not allowed for grayscale images"),
            (ihdr(width: 2, height: 2, bitDepth: 4, colorType: 2), "bit depth 4 is not allowed for RGB images"),
            (ihdr(width: 2, height: 2, colorType: 5), "colour type 5 does not exist"),
            (ihdr(width: 0, height: 2), "size 0×2; width and height must be 1 to 2³¹−1"),
            (ihdr(width: 2, height: 2, compression: 1), "compression method 1 (only 0, deflate, exists)"),
            (ihdr(width: 2, height: 2, interlace: 2), "interlace method 2 (only 0 and 1 exist)"),
        ]
        for (header, detail) in invalid {
            let file = assemblePNG(header: header, filteredRows: rows)
            XCTAssertEqual(pngError { try PNG.decode(file, file: "h.png") }, .badHeader(file: "h.png", detail: detail))
        }
    }

    func testAHugeDeclaredImageInATinyFileFailsWithoutAllocatingIt() {
        // 60000 × 60000 RGBA would be 14 GB; above the pixel limit, refused at IHDR.
        let huge = assemblePNG(header: ihdr(width: 60000, height: 60000, colorType: 6), filteredRows: [0, 1, 2])
        XCTAssertEqual(pngError { try PNG.decode(huge, file: "bomb.png") },
                       .imageTooLarge(file: "bomb.png", width: 60000, height: 60000, limit: PNGLimits.default.maxPixels))
        // 8000 × 8000 gray (64 MB) passes the limit, but the data holds 3 bytes: refused after inflating 3.
        let big = assemblePNG(header: ihdr(width: 8000, height: 8000), filteredRows: [0, 1, 2])
        XCTAssertEqual(pngError { try PNG.decode(big, file: "big.png") },
                       .corruptImageData(file: "big.png", detail: "the image data holds 3 bytes but the header calls for 64008000"))
    }

    func testTooMuchImageDataAndBadFilterType() {
        let extra = assemblePNG(header: ihdr(width: 2, height: 1), filteredRows: [0, 1, 2, 3])
        XCTAssertEqual(pngError { try PNG.decode(extra, file: "e.png") },
                       .corruptImageData(file: "e.png", detail: "the image data decompresses to more than the 3 bytes the header calls for"))
        let badFilter = assemblePNG(header: ihdr(width: 2, height: 2), filteredRows: [0, 1, 2, 5, 1, 2])
        XCTAssertEqual(pngError { try PNG.decode(badFilter, file: "f.png") },
                       .corruptImageData(file: "f.png", detail: "row 1 has filter type 5; only 0 to 4 exist"))
        var notZlib = PNG.signature + chunk("IHDR", ihdr(width: 2, height: 1))
        notZlib += chunk("IDAT", [1, 2, 3, 4, 5]) + chunk("IEND", [])
        guard case .corruptImageData(file: "z.png", _)? = pngError({ try PNG.decode(notZlib, file: "z.png") }) else {
            return XCTFail("expected corrupt image data")
        }
    }

    func testChunkOrderAndUnknownChunks() {
        let rows: [UInt8] = [0, 9, 9]
        let header = chunk("IHDR", ihdr(width: 2, height: 1))
        let idat = chunk("IDAT", Zlib.compress(rows))
        let end = chunk("IEND", [])
        XCTAssertEqual(pngError { try PNG.decode(PNG.signature + idat + header + end, file: "o.png") },
                       .badChunk(file: "o.png", detail: "the first chunk is IDAT, but it must be IHDR"))
        XCTAssertEqual(pngError { try PNG.decode(PNG.signature + header + end, file: "o.png") },
                       .badChunk(file: "o.png", detail: "no IDAT chunk: the file holds no image data"))
        let split = Zlib.compress(rows)
        let twoIDATs = chunk("IDAT", Array(split[0..<3])) + chunk("tEXt", Array("a\u{0}b".utf8)) + chunk("IDAT", Array(split[3...]))
        XCTAssertEqual(pngError { try PNG.decode(PNG.signature + header + twoIDATs + end, file: "o.png") },
                       .badChunk(file: "o.png", detail: "IDAT chunks are not consecutive"))
        XCTAssertEqual(pngError { try PNG.decode(PNG.signature + header + chunk("ABCD", []) + idat + end, file: "o.png") },
                       .unsupportedChunk(file: "o.png", chunk: "ABCD"))
        // An unknown ancillary chunk, and IDAT split in two consecutive chunks, are fine.
        let fine = PNG.signature + header + chunk("abCd", [1, 2]) + chunk("IDAT", Array(split[0..<3])) + chunk("IDAT", Array(split[3...])) + end
        XCTAssertEqual(try PNG.decode(fine).pixels, [9, 9])
        XCTAssertEqual(pngError { try PNG.decode(PNG.signature + header + idat, file: "o.png") },
                       .truncated(file: "o.png", detail: "no IEND chunk; the file was cut short"))
    }

    func testPaletteAndSubByteGray() throws {
        // 2-bit palette, 3 entries, tRNS for the first two; row: indices 0 1 2 1 0 → bits 00 01 10 01 | 00.
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let rows: [UInt8] = [0, 0b0001_1001, 0b0000_0000]
        let file = assemblePNG(header: ihdr(width: 5, height: 1, bitDepth: 2, colorType: 3), filteredRows: rows,
                               before: [chunk("PLTE", palette), chunk("tRNS", [0, 128])])
        let image = try PNG.decode(file)
        XCTAssertEqual(image.layout, .rgba)
        XCTAssertEqual(image.pixels, [255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 0, 255, 0, 128, 255, 0, 0, 0])
        // Index 3 is past the 3-entry palette.
        let bad = assemblePNG(header: ihdr(width: 1, height: 1, bitDepth: 2, colorType: 3), filteredRows: [0, 0b1100_0000],
                              before: [chunk("PLTE", palette)])
        XCTAssertEqual(pngError { try PNG.decode(bad, file: "p.png") },
                       .corruptImageData(file: "p.png", detail: "palette index 3, but the palette has 3 entries"))
        let noPalette = assemblePNG(header: ihdr(width: 1, height: 1, bitDepth: 8, colorType: 3), filteredRows: [0, 0])
        XCTAssertEqual(pngError { try PNG.decode(noPalette, file: "p.png") },
                       .badChunk(file: "p.png", detail: "a palette image without a PLTE chunk"))
        // 1-bit gray, 10 wide: 1010101010 → 255 0 255 ...
        let gray = assemblePNG(header: ihdr(width: 10, height: 1, bitDepth: 1), filteredRows: [0, 0b1010_1010, 0b1000_0000])
        XCTAssertEqual(try PNG.decode(gray).pixels, [255, 0, 255, 0, 255, 0, 255, 0, 255, 0])
        // 4-bit gray: 0x0F → 0, 255.
        let four = assemblePNG(header: ihdr(width: 2, height: 1, bitDepth: 4), filteredRows: [0, 0x0F])
        XCTAssertEqual(try PNG.decode(four).pixels, [0, 255])
    }

    func testRandomCorruptionOfTheImageDataNeverTraps() {
        // Bytes of IDAT's data flipped and the CRC fixed up, so the decoder must cope with corrupt deflate
        // data or corrupt filter bytes: it may decode garbage or throw, but must not trap.
        var g = SplitMix(seed: 7)
        let image = randomBitmap(width: 9, height: 7, layout: .rgba, seed: 2)
        let file = PNG.encode(image)
        let idatStart = 33, idatLength = Int(file.bigEndianUInt32(at: idatStart))
        var outcomes = (decoded: 0, refused: 0)
        for _ in 0..<300 {
            var data = Array(file[(idatStart + 8)..<(idatStart + 8 + idatLength)])
            for _ in 0..<(1 + Int(g.next() % 3)) { data[Int(g.next() % UInt64(data.count))] ^= UInt8(1 + g.next() % 255) }
            let mutated = Array(file[0..<idatStart]) + chunk("IDAT", data) + chunk("IEND", [])
            if (try? PNG.decode(mutated)) != nil { outcomes.decoded += 1 } else { outcomes.refused += 1 }
        }
        print("  300 corrupted IDATs: \(outcomes.decoded) decoded (to garbage), \(outcomes.refused) refused")
        XCTAssertGreaterThan(outcomes.refused, 0)
    }

    func testErrorMessagesAreOneLineAndNameTheFile() {
        let errors: [PNGError] = [
            .badCRC(file: "a.png", chunk: "IDAT", stored: 0x1234, computed: 0xABCDEF01),
            .truncated(file: "a.png", detail: "x"), .unsupportedInterlace(file: "a.png"),
            .imageTooLarge(file: "a.png", width: 1, height: 2, limit: 3), .unknownFormat(file: "a.png", detected: "JPEG"),
        ]
        for e in errors {
            let text = e.errorDescription!
            XCTAssertTrue(text.hasPrefix("a.png: "), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
        XCTAssertEqual(errors[0].errorDescription, "a.png: chunk IDAT is corrupt: its CRC-32 is abcdef01 but the file says 00001234")
    }
}

extension PNGMalformedTests {
    func testRandomFilteredRowsInAValidStreamNeverTrap() {
        // Valid zlib data holding random rows with random filter-type bytes: every row either reconstructs
        // (types 0–4) or the file is refused naming the row.
        var g = SplitMix(seed: 11)
        var outcomes = (decoded: 0, refused: 0)
        for trial in 0..<200 {
            let (w, h, type) = (1 + Int(g.next() % 9), 1 + Int(g.next() % 9), [0, 2, 4, 6][trial % 4])
            let rowBytes = w * [0: 1, 2: 3, 4: 2, 6: 4][type]!
            var rows = (0..<(h * (1 + rowBytes))).map { _ in g.byte() }
            for y in 0..<h where g.next() % 8 != 0 { rows[y * (1 + rowBytes)] %= 5 }
            let file = assemblePNG(header: ihdr(width: w, height: h, colorType: UInt8(type)), filteredRows: rows)
            switch pngError({ try PNG.decode(file, file: "r.png") }) {
            case nil: outcomes.decoded += 1
            case .corruptImageData(file: "r.png", let detail)? where detail.contains("filter type"): outcomes.refused += 1
            case let other?: XCTFail("unexpected \(other)")
            }
        }
        print("  200 random filtered images: \(outcomes.decoded) decoded, \(outcomes.refused) refused for a bad filter type")
        XCTAssertGreaterThan(outcomes.decoded, 0)
        XCTAssertGreaterThan(outcomes.refused, 0)
    }
}
