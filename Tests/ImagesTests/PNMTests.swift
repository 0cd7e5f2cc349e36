//  PNMTests.swift
//
//  PGM (P5 binary, P2 ASCII) and PPM (P6, P3): headers with comments, maxval scaling, and malformed files.

import XCTest
@testable import Images

final class PNMTests: XCTestCase {
    func testBinaryAndASCIIPGMRoundTrip() throws {
        let image = randomBitmap(width: 7, height: 3, layout: .gray, seed: 5)
        XCTAssertEqual(try PNM.decode(PNM.encodePGM(image)), image)
        XCTAssertEqual(try PNM.decode(PNM.encodePGM(image, ascii: true)), image)
    }

    func testCommentsWhitespaceAndMaxvalScaling() throws {
        let p2 = "P2 # a comment\n# another\n3\t2\n15\n0 15 7\n\n8 # mid-body comment\n1 15"
        let image = try PNM.decode(Array(p2.utf8), file: "c.pgm")
        XCTAssertEqual([image.width, image.height], [3, 2])
        XCTAssertEqual(image.pixels, [0, 255, 119, 136, 17, 255])   // round(v · 255 / 15)
        let p5 = Array("P5\n#c\n2 1 3\n".utf8) + [0, 3]
        XCTAssertEqual(try PNM.decode(p5).pixels, [0, 255])
    }

    func testPPM() throws {
        let p6 = Array("P6 2 1 255\n".utf8) + [1, 2, 3, 4, 5, 6]
        let image = try PNM.decode(p6)
        XCTAssertEqual(image.layout, .rgb)
        XCTAssertEqual(image.pixels, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try PNM.decode(Array("P3 1 1 255 9 8 7".utf8)).pixels, [9, 8, 7])
    }

    func testMalformedPGMs() {
        XCTAssertEqual(imageError { try PNM.decode(Array("P5 2 2 65535\n".utf8) + [0, 0, 0, 0], file: "d.pgm") },
                       .unsupportedMaxval(file: "d.pgm", maxval: 65535))
        XCTAssertEqual(imageError { try PNM.decode(Array("P5 2 2 255\n".utf8) + [0, 0, 0], file: "t.pgm") },
                       .badPNM(file: "t.pgm", detail: "the file ends after 3 of 4 sample bytes"))
        XCTAssertEqual(imageError { try PNM.decode(Array("P2 2 2 255\n1 2 3".utf8), file: "t.pgm") },
                       .badPNM(file: "t.pgm", detail: "the file ends after 3 of 4 samples"))
        XCTAssertEqual(imageError { try PNM.decode(Array("P2 1 1 9\n10".utf8), file: "v.pgm") },
                       .badPNM(file: "v.pgm", detail: "sample 0 is 10, above maxval 9"))
        XCTAssertEqual(imageError { try PNM.decode(Array("P5 0 2 255\n".utf8), file: "z.pgm") },
                       .badPNM(file: "z.pgm", detail: "size 0×2; both must be at least 1"))
        XCTAssertEqual(imageError { try PNM.decode(Array("P5 2x 2 255\n".utf8), file: "x.pgm") },
                       .badPNM(file: "x.pgm", detail: "unexpected byte 120 after the width at byte 4"))
        XCTAssertEqual(imageError { try PNM.decode(Array("P5 99999 99999 255\n".utf8), file: "h.pgm") },
                       .imageTooLarge(file: "h.pgm", width: 99999, height: 99999, limit: ImageLimits.default.maxPixels))
        XCTAssertEqual(imageError { try PNM.decode(Array("P5 1234567890 1 255\n".utf8), file: "n.pgm") },
                       .badPNM(file: "n.pgm", detail: "the width has more than 9 digits"))
    }

    func testImageFileTellsFormatsApartByContent() throws {
        let dir = try TemporaryDirectory()
        let image = randomBitmap(width: 4, height: 4, layout: .gray, seed: 8)
        try ImageFile.write(PNM.encodePGM(image), to: dir.file("digit.png"))   // a PGM, whatever the name says
        XCTAssertEqual(try ImageFile.read(contentsOf: dir.file("digit.png")), image)
        try ImageFile.write([0xFF, 0xD8, 0xFF, 0xE0, 0, 0], to: dir.file("photo.jpg"))
        let jpeg = imageError { try ImageFile.read(contentsOf: dir.file("photo.jpg")) }
        guard case .badJPEG(file: dir.file("photo.jpg"), _)? = jpeg else { return XCTFail("\(String(describing: jpeg))") }
        print("  " + jpeg!.errorDescription!)
        XCTAssertEqual(imageError { try ImageFile.read(contentsOf: dir.file("missing.png")) }, .fileNotFound(file: dir.file("missing.png")))
        XCTAssertEqual(imageError { try ImageFile.read(contentsOf: dir.path) }, .unreadable(file: dir.path, reason: "it is a directory"))
        guard case .unwritable(file: "/nonexistent-dir/x.png", _)? = imageError({ try ImageFile.write([1], to: "/nonexistent-dir/x.png") }) else {
            return XCTFail("expected unwritable")
        }
    }
}
