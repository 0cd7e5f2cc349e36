//  PNGRoundTripTests.swift
//
//  encode → decode gives back the same bytes, for every layout, odd sizes and every filter choice; and one
//  file compared byte for byte with the PNG that Python's struct + zlib assemble for the same pixels.

import XCTest
@testable import PNG

final class PNGRoundTripTests: XCTestCase {
    let sizes = [(1, 1), (3, 7), (7, 3), (17, 5), (64, 33)]
    let choices: [PNGFilterChoice] = PNGFilter.allCases.map { .fixed($0) } + [.adaptive]

    func testEveryLayoutSizeAndFilterRoundTrips() throws {
        for layout in Bitmap.Layout.allCases {
            for (w, h) in sizes {
                let image = randomBitmap(width: w, height: h, layout: layout, seed: UInt64(w * 100 + h))
                for choice in choices {
                    let file = PNG.encode(image, filter: choice)
                    let back = try PNG.decode(file, file: "roundtrip.png")
                    XCTAssertEqual(back, image, "\(layout) \(w)×\(h) \(choice)")
                }
            }
        }
    }

    func testEncoderWritesTheColourTypeAndFilterItWasAskedFor() throws {
        let expected: [(Bitmap.Layout, UInt8)] = [(.gray, 0), (.grayAlpha, 4), (.rgb, 2), (.rgba, 6)]
        for (layout, colorType) in expected {
            let file = PNG.encode(randomBitmap(width: 5, height: 4, layout: layout, seed: 3), filter: .fixed(.paeth))
            XCTAssertEqual(file[24], 8, "bit depth")
            XCTAssertEqual(file[25], colorType, "\(layout)")
            // Every row of the inflated IDAT starts with the Paeth filter byte.
            let idatLength = Int(file.bigEndianUInt32(at: 33))
            let rows = try Zlib.inflate(Array(file[41..<(41 + idatLength)]), expected: 4 * (1 + 5 * layout.channels), file: "x")
            for y in 0..<4 { XCTAssertEqual(rows[y * (1 + 5 * layout.channels)], PNGFilter.paeth.rawValue) }
        }
    }

    func testAdaptiveFilteringMakesSmoothImagesSmaller() {
        var image = Bitmap(width: 200, height: 100, layout: .rgb)
        for y in 0..<100 { for x in 0..<200 { for c in 0..<3 { image[x, y, c] = UInt8((x + 2 * y + 40 * c) % 256) } } }
        let plain = PNG.encode(image, filter: .fixed(.none)).count
        let adaptive = PNG.encode(image, filter: .adaptive).count
        print("  200×100 RGB gradient: \(plain) bytes with filter 0, \(adaptive) adaptive")
        XCTAssertLessThan(adaptive, plain)
    }

    /// The expected bytes were produced by Python 3.11, independently of this encoder:
    ///     chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    ///     b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 1, 8, 0, 0, 0, 0))
    ///         + chunk(b'IDAT', zlib.compress(b'\x00\x80\xff', 9)) + chunk(b'IEND', b'')
    func testBytesMatchAPNGAssembledByPython() throws {
        let python: [UInt8] = [
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
            0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0xD1, 0x49, 0x20,
            0x56, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x68, 0xF8, 0x0F, 0x00,
            0x02, 0x02, 0x01, 0x80, 0xFD, 0xF2, 0xFC, 0xF4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44,
            0xAE, 0x42, 0x60, 0x82,
        ]
        let image = Bitmap(width: 2, height: 1, layout: .gray, pixels: [0x80, 0xFF])
        XCTAssertEqual(PNG.encode(image, filter: .fixed(.none), level: 9), python)
        XCTAssertEqual(try PNG.decode(python), image)
    }

    func testWriteThenReadFromDisk() throws {
        let dir = try TemporaryDirectory()
        let image = randomBitmap(width: 31, height: 9, layout: .rgba, seed: 9)
        try PNG.write(image, to: dir.file("a.png"))
        XCTAssertEqual(try PNG.read(contentsOf: dir.file("a.png")), image)
        XCTAssertEqual(try ImageFile.read(contentsOf: dir.file("a.png")), image)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "no temporary file is left behind")
    }
}
