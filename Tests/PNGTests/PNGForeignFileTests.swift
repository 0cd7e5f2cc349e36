//  PNGForeignFileTests.swift
//
//  PNGs written by another encoder (ImageMagick, see ForeignFiles.swift) decode to the pixels that tool
//  itself exports; its 16-bit and interlaced files give their errors.

import XCTest
@testable import PNG

final class PNGForeignFileTests: XCTestCase {
    func testImageMagickGrayWithAncillaryChunks() throws {
        let image = try PNG.decode(ForeignFiles.grayPNG, file: "gray.png")
        XCTAssertEqual([image.width, image.height], [7, 5])
        XCTAssertEqual(image.layout, .gray)
        XCTAssertEqual(image.pixels, ForeignFiles.grayRaw)
    }

    func testImageMagickRGB() throws {
        let image = try PNG.decode(ForeignFiles.rgbPNG, file: "rgb.png")
        XCTAssertEqual([image.width, image.height], [9, 4])
        XCTAssertEqual(image.layout, .rgb)
        XCTAssertEqual(image.pixels, ForeignFiles.rgbRaw)
    }

    func testImageMagickRGBA() throws {
        let image = try PNG.decode(ForeignFiles.rgbaPNG, file: "rgba.png")
        XCTAssertEqual([image.width, image.height], [5, 3])
        XCTAssertEqual(image.layout, .rgba)
        XCTAssertEqual(image.pixels, ForeignFiles.rgbaRaw)
    }

    func testImageMagickFourBitPalette() throws {
        let image = try PNG.decode(ForeignFiles.palettePNG, file: "pal.png")
        XCTAssertEqual([image.width, image.height], [6, 4])
        XCTAssertEqual(image.layout, .rgb)
        XCTAssertEqual(image.pixels, ForeignFiles.paletteRaw)
    }

    func testImageMagickSixteenBitIsRefusedByName() {
        let error = pngError { try PNG.decode(ForeignFiles.gray16PNG, file: "gray16.png") }
        XCTAssertEqual(error, .unsupportedBitDepth(file: "gray16.png", bitDepth: 16, colorType: 0))
        XCTAssertEqual(error?.errorDescription,
                       "gray16.png: 16-bit grayscale PNGs are not supported; save it with 8 bits per sample (e.g. `convert gray16.png -depth 8 out.png`)")
    }

    func testImageMagickInterlacedIsRefusedByName() {
        XCTAssertEqual(pngError { try PNG.decode(ForeignFiles.interlacedPNG, file: "inter.png") }, .unsupportedInterlace(file: "inter.png"))
    }
}
