//  ImageFileTests.swift
//
//  Reading any supported file from disk: the format is told by the first bytes, not the name; files that
//  are missing, directories, too large or of another format give one-line errors naming the file.

import XCTest
@testable import Images

final class ImageFileTests: XCTestCase {
    func testFormatsAreToldByTheirBytes() throws {
        let dir = try TemporaryDirectory()
        let image = randomBitmap(width: 12, height: 9, layout: .gray, seed: 1, noise: 1)
        try ImageFile.write(try PNG.encode(image), to: dir.file("png.dat"))
        try ImageFile.write(try JPEG.encode(image, quality: 100), to: dir.file("jpeg.png"))
        XCTAssertEqual(try ImageFile.read(contentsOf: dir.file("png.dat")), image)
        let jpeg = try ImageFile.read(contentsOf: dir.file("jpeg.png"))
        XCTAssertEqual(jpeg.layout, .gray)
        XCTAssertLessThanOrEqual(zip(jpeg.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 99, 3)
        try ImageFile.write(Array("GIF89a....".utf8), to: dir.file("a.gif"))
        XCTAssertEqual(imageError { try ImageFile.read(contentsOf: dir.file("a.gif")) }, .unknownFormat(file: dir.file("a.gif"), detected: "GIF"))
        try ImageFile.write(Array("hello".utf8), to: dir.file("t.txt"))
        XCTAssertEqual(imageError { try ImageFile.read(contentsOf: dir.file("t.txt")) }?.errorDescription,
                       "\(dir.file("t.txt")): neither a PNG, a JPEG nor a PGM/PPM image; HINT: only PNG, JPEG and PGM/PPM are read: convert it first, e.g. `convert \(dir.file("t.txt")) digit.png`")
        XCTAssertEqual(imageError { try ImageFile.read(contentsOf: dir.file("none.png")) }, .fileNotFound(file: dir.file("none.png")))
        XCTAssertEqual(imageError { try ImageFile.read(contentsOf: dir.path) }, .unreadable(file: dir.path, reason: "it is a directory"))
        XCTAssertEqual(imageError { try ImageFile.read(contentsOf: dir.file("png.dat"), limits: ImageLimits(maxFileBytes: 10)) },
                       .fileTooLarge(file: dir.file("png.dat"), limit: 10))
    }
}
