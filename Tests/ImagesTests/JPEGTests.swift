//  JPEGTests.swift
//
//  JPEG through TurboJPEG: gray and colour round trips stay close (JPEG is lossy); the EXIF orientation of
//  every value 1–8 turns the stored pixels upright; hostile files (truncated, corrupt, a huge header, a
//  malformed EXIF segment) give one-line errors or are read without the orientation, and never trap.

import XCTest
@testable import Images

final class JPEGTests: XCTestCase {
    func maxDifference(_ a: Bitmap, _ b: Bitmap) -> Int {
        zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    func testGrayAndColourRoundTripsCloseToTheOriginal() throws {
        for layout in [Bitmap.Layout.gray, .rgb] {
            var image = Bitmap(width: 40, height: 24, layout: layout)
            for y in 0..<24 { for x in 0..<40 { for c in 0..<layout.channels { image[x, y, c] = UInt8(x * 2 + y * 3 + c * 40) } } }
            let back = try JPEG.decode(try JPEG.encode(image, quality: 95), file: "q95.jpg")
            XCTAssertEqual(back.layout, layout)
            XCTAssertEqual([back.width, back.height], [40, 24])
            let d = maxDifference(back, image)
            print("  \(layout) 40×24 gradient at quality 95: max |difference| \(d)")
            XCTAssertLessThanOrEqual(d, layout == .gray ? 4 : 12)
        }
        // Alpha is dropped on the way in.
        let rgba = Bitmap(width: 8, height: 8, layout: .rgba, repeating: 100)
        XCTAssertEqual(try JPEG.decode(try JPEG.encode(rgba)).layout, .rgb)
    }

    /// A JPEG with an APP1 EXIF segment holding orientation `value`, in `order` ("II" or "MM").
    func withOrientation(_ jpeg: [UInt8], _ value: UInt16, order: String = "MM") -> [UInt8] {
        let little = order == "II"
        func u16(_ v: UInt16) -> [UInt8] { little ? [UInt8(v & 0xff), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xff)] }
        func u32(_ v: UInt32) -> [UInt8] { little ? u16(UInt16(v & 0xffff)) + u16(UInt16(v >> 16)) : u16(UInt16(v >> 16)) + u16(UInt16(v & 0xffff)) }
        // TIFF header, IFD0 with two entries (an unrelated one first), no next IFD.
        let tiff = Array(order.utf8) + u16(42) + u32(8) + u16(2)
            + u16(0x010F) + u16(2) + u32(4) + [0x61, 0x62, 0x63, 0]          // Make "abc"
            + u16(0x0112) + u16(3) + u32(1) + u16(value) + [0, 0]
            + u32(0)
        let payload = Array("Exif\0\0".utf8) + tiff
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xff)] + payload
        return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }

    func testEXIFOrientationTurnsTheImageUpright() throws {
        // A 3×2 gray image with distinct corners, as the viewer should see it.
        let upright = Bitmap(width: 3, height: 2, layout: .gray, pixels: [0, 40, 80, 120, 160, 200])
        // How a camera stores it for each orientation (the inverse of the turn the tag asks for).
        func stored(_ value: Int) -> Bitmap {
            let u = upright.pixels
            switch value {
            case 2: return Bitmap(width: 3, height: 2, layout: .gray, pixels: [80, 40, 0, 200, 160, 120])
            case 3: return Bitmap(width: 3, height: 2, layout: .gray, pixels: u.reversed())
            case 4: return Bitmap(width: 3, height: 2, layout: .gray, pixels: [120, 160, 200, 0, 40, 80])
            case 5: return Bitmap(width: 2, height: 3, layout: .gray, pixels: [0, 120, 40, 160, 80, 200])
            case 6: return Bitmap(width: 2, height: 3, layout: .gray, pixels: [80, 200, 40, 160, 0, 120])
            case 7: return Bitmap(width: 2, height: 3, layout: .gray, pixels: [200, 80, 160, 40, 120, 0])
            case 8: return Bitmap(width: 2, height: 3, layout: .gray, pixels: [120, 0, 160, 40, 200, 80])
            default: return upright
            }
        }
        for value in 1...8 {
            XCTAssertEqual(EXIFOrientation(value)!.apply(to: stored(value)), upright, "orientation \(value)")
        }
        // Read from a real file: a 16×8 image, left half dark, stored rotated for orientation 6 and 8.
        var wide = Bitmap(width: 16, height: 8, layout: .gray, repeating: 230)
        for y in 0..<8 { for x in 0..<8 { wide[x, y, 0] = 20 } }
        let plain = try JPEG.encode(wide, quality: 95)
        for order in ["II", "MM"] {
            XCTAssertEqual(EXIFOrientation.read(withOrientation(plain, 6, order: order)), EXIFOrientation(6))
        }
        let turned = try JPEG.decode(withOrientation(plain, 6), file: "o6.jpg")
        XCTAssertEqual([turned.width, turned.height], [8, 16])
        XCTAssertLessThan(turned[4, 2, 0], 60, "orientation 6: the stored left half is now on top")
        XCTAssertGreaterThan(turned[4, 13, 0], 180)
        let back = try JPEG.decode(withOrientation(plain, 8), file: "o8.jpg")
        XCTAssertLessThan(back[4, 13, 0], 60, "orientation 8: the stored left half is now at the bottom")
        XCTAssertEqual(EXIFOrientation.read(plain), .upright)
        // Malformed EXIF: an out-of-range value, a cut segment, a wrong type: no orientation, still decoded.
        XCTAssertEqual(EXIFOrientation.read(withOrientation(plain, 9)), .upright)
        var cut = withOrientation(plain, 6)
        cut[4] = 0; cut[5] = 20   // the segment claims 20 bytes: the IFD lies past its end
        XCTAssertEqual(EXIFOrientation.read(cut), .upright)
        var g = SplitMix(seed: 3)
        for _ in 0..<300 {
            var b = withOrientation(plain, 6)
            for _ in 0..<3 { b[2 + Int(g.next() % 60)] = g.byte() }
            _ = EXIFOrientation.read(b)
            _ = try? JPEG.decode(b)
        }
    }

    func testHostileFiles() throws {
        let good = try JPEG.encode(randomBitmap(width: 32, height: 16, layout: .rgb, seed: 5))
        for length in stride(from: 0, to: good.count, by: 7) {
            assertOneLine(imageError { try JPEG.decode(Array(good[0..<length]), file: "cut.jpg") }, file: "cut.jpg", "cut to \(length)")
        }
        // A header claiming 65000 × 65000 (SOF0 height and width) in a file of a few hundred bytes.
        var huge = good
        let sof = try XCTUnwrap((0..<(huge.count - 1)).first { huge[$0] == 0xFF && huge[$0 + 1] == 0xC0 })
        huge[sof + 5] = 0xFD; huge[sof + 6] = 0xE8; huge[sof + 7] = 0xFD; huge[sof + 8] = 0xE8
        XCTAssertEqual(imageError { try JPEG.decode(huge, file: "bomb.jpg") },
                       .imageTooLarge(file: "bomb.jpg", width: 65000, height: 65000, limit: ImageLimits.default.maxPixels))
        XCTAssertEqual(imageError { try JPEG.decode(good, file: "g.jpg", limits: ImageLimits(maxPixels: 100)) },
                       .imageTooLarge(file: "g.jpg", width: 32, height: 16, limit: 100))
        XCTAssertEqual(imageError { try JPEG.decode([0xFF, 0xD8], file: "x.jpg") },
                       .badJPEG(file: "x.jpg", detail: "not a JPEG file (it does not start with FF D8 FF)"))
        var g = SplitMix(seed: 9)
        var refused = 0
        for _ in 0..<200 {
            var b = good
            for _ in 0..<4 { b[3 + Int(g.next() % UInt64(b.count - 3))] = g.byte() }
            if let e = imageError({ try JPEG.decode(b, file: "r.jpg") }) { assertOneLine(e, file: "r.jpg"); refused += 1 }
        }
        print("  200 corrupted JPEGs: \(refused) refused")
        XCTAssertGreaterThan(refused, 0)
    }
}
