//  PNGFilterTests.swift
//
//  Each filter type decoded from scanlines filtered by hand. The image is 3×2 gray (bpp 1):
//      row 0:  20  30 200
//      row 1:  10 100   5
//  Worked out per the PNG specification (a left, b above, c above-left, all mod 256):
//      Sub      row 0: 20, 30−20=10, 200−30=170            row 1: 10, 100−10=90, 5−100=−95→161
//      Up       row 0: 20, 30, 200 (above is 0)            row 1: 10−20→246, 100−30=70, 5−200→61
//      Average  row 0: 20, 30−⌊20/2⌋=20, 200−⌊30/2⌋=185   row 1: 10−⌊(0+20)/2⌋=0, 100−⌊(10+30)/2⌋=80,
//                                                                 5−⌊(100+200)/2⌋=−145→111 (a+b > 255)
//      Paeth    row 0: predictor a (b = c = 0): 20, 10, 170
//               row 1: x=0: a=0,b=20,c=0   p=20  → b=20:  10−20→246
//                      x=1: a=10,b=30,c=20 p=20  → c=20:  100−20=80
//                      x=2: a=100,b=200,c=30 p=270 → b=200: 5−200→61

import XCTest
@testable import PNG

final class PNGFilterTests: XCTestCase {
    let image = Bitmap(width: 3, height: 2, layout: .gray, pixels: [20, 30, 200, 10, 100, 5])
    let byHand: [(PNGFilter, [UInt8], [UInt8])] = [
        (.none, [20, 30, 200], [10, 100, 5]),
        (.sub, [20, 10, 170], [10, 90, 161]),
        (.up, [20, 30, 200], [246, 70, 61]),
        (.average, [20, 20, 185], [0, 80, 111]),
        (.paeth, [20, 10, 170], [246, 80, 61]),
    ]

    func testEachFilterTypeDecodesFromHandFilteredScanlines() throws {
        for (filter, row0, row1) in byHand {
            let rows = [filter.rawValue] + row0 + [filter.rawValue] + row1
            let file = assemblePNG(header: ihdr(width: 3, height: 2), filteredRows: rows)
            XCTAssertEqual(try PNG.decode(file, file: "\(filter).png"), image, "\(filter)")
        }
    }

    func testTheEncoderFiltersTheSameWayByHand() throws {
        for (filter, row0, row1) in byHand {
            let file = PNG.encode(image, filter: .fixed(filter))
            let rows = try Zlib.inflate(Array(file[41..<(41 + Int(file.bigEndianUInt32(at: 33)))]), expected: 8, file: "x")
            XCTAssertEqual(rows, [filter.rawValue] + row0 + [filter.rawValue] + row1, "\(filter)")
        }
    }

    func testMixedFiltersAcrossRowsWithThreeBytesPerPixel() throws {
        // RGB, 2×5: row y uses filter y, so Sub/Average/Paeth must look bpp = 3 bytes to the left.
        let image = randomBitmap(width: 2, height: 5, layout: .rgb, seed: 42)
        var rows: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 6)
        image.pixels.withUnsafeBufferPointer { px in
            scratch.withUnsafeMutableBufferPointer { out in
                for y in 0..<5 {
                    let row = UnsafeBufferPointer(rebasing: px[(y * 6)..<(y * 6 + 6)])
                    let prior = y == 0 ? nil : UnsafeBufferPointer(rebasing: px[(y * 6 - 6)..<(y * 6)])
                    Filters.apply(PNGFilter(rawValue: UInt8(y))!, row: row, prior: prior, bpp: 3, into: out)
                    rows += [UInt8(y)] + Array(out)
                }
            }
        }
        let file = assemblePNG(header: ihdr(width: 2, height: 5, colorType: 2), filteredRows: rows)
        XCTAssertEqual(try PNG.decode(file), image)
    }

    func testPaethBreaksTiesInTheOrderABC() {
        // p = a + b − c; pa = |p − a|, pb = |p − b|, pc = |p − c|.
        XCTAssertEqual(Filters.paeth(200, 50, 100), 200, "p 150: pa 50 = pc 50 < pb 100 → a")
        XCTAssertEqual(Filters.paeth(50, 200, 100), 200, "p 150: pb 50 = pc 50 < pa 100 → b")
        XCTAssertEqual(Filters.paeth(30, 10, 20), 20, "p 20: pc 0 → c")
        XCTAssertEqual(Filters.paeth(10, 10, 10), 10)
    }
}
