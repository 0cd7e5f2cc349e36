//  DigitPreprocessorTests.swift
//
//  cnn-predict's preprocessing on real MNIST test digits. Each digit is written to disk the ways people
//  would hand one over (PGM binary and ASCII, gray PNG, dark ink on light paper as RGB, black ink on a
//  transparent background as RGBA, embedded off-centre in a 60×45 canvas, enlarged 3×), read back, and
//  preprocessed; the result must match the original 28×28 digit (correlation above 0.9, centre of mass
//  within 1 px of the centre), and a classifier must mostly say the same about it as about the original.

import CNN
import Foundation
import Images
@testable import Pictures
@testable import Training
@testable import CLI
import XCTest

final class DigitPreprocessorTests: XCTestCase {
    let count = 60

    /// How one digit (28×28 bytes, ink bright) is written: a file name and its bytes.
    typealias Variant = (name: String, bytes: ([UInt8]) throws -> [UInt8])

    let variants: [Variant] = [
        ("p5.pgm", { PNM.encodePGM(Bitmap(width: 28, height: 28, layout: .gray, pixels: $0)) }),
        ("p2.pgm", { PNM.encodePGM(Bitmap(width: 28, height: 28, layout: .gray, pixels: $0), ascii: true) }),
        ("gray.png", { try PNG.encode(Bitmap(width: 28, height: 28, layout: .gray, pixels: $0)) }),
        ("paper.png", { px in
            // Dark blue-black ink on off-white paper, as RGB.
            let rgb = px.flatMap { v -> [UInt8] in
                let t = Double(v) / 255
                return [UInt8(240 - 220 * t), UInt8(236 - 216 * t), UInt8(225 - 185 * t)]
            }
            return try PNG.encode(Bitmap(width: 28, height: 28, layout: .rgb, pixels: rgb))
        }),
        ("alpha.png", { px in
            // Black ink whose coverage is the alpha channel, on a transparent background.
            try PNG.encode(Bitmap(width: 28, height: 28, layout: .rgba, pixels: px.flatMap { [0, 0, 0, $0] }))
        }),
        ("embedded.png", { px in
            // Off-centre in a 60×45 canvas, top-left at (29, 3).
            var big = [UInt8](repeating: 0, count: 60 * 45)
            for y in 0..<28 { for x in 0..<28 { big[(3 + y) * 60 + 29 + x] = px[y * 28 + x] } }
            return try PNG.encode(Bitmap(width: 60, height: 45, layout: .gray, pixels: big))
        }),
        ("embedded-paper.png", { px in
            // The same, inverted: dark on light, off-centre at (2, 14).
            var big = [UInt8](repeating: 255, count: 60 * 45)
            for y in 0..<28 { for x in 0..<28 { big[(14 + y) * 60 + 2 + x] = 255 - px[y * 28 + x] } }
            return try PNG.encode(Bitmap(width: 60, height: 45, layout: .gray, pixels: big))
        }),
        ("large.png", { px in
            // Enlarged 3× by repeating pixels (84×84), in a 100×100 canvas: must be shrunk back.
            var big = [UInt8](repeating: 0, count: 100 * 100)
            for y in 0..<84 { for x in 0..<84 { big[(8 + y) * 100 + 8 + x] = px[(y / 3) * 28 + x / 3] } }
            return try PNG.encode(Bitmap(width: 100, height: 100, layout: .gray, pixels: big))
        }),
    ]

    func testPreprocessedDigitsMatchTheOriginals() throws {
        let digits = try Digits.test()
        let dir = try TemporaryDirectory()
        let preprocessor = DigitPreprocessor()
        for variant in variants {
            var exact: [Double] = [], aligned: [Double] = [], worstCentre = 0.0
            for i in 0..<count {
                let path = dir.file("\(i)-" + variant.name)
                try writeQuickly(variant.bytes(digits.pixels[i]), to: path)
                let values = try preprocessor.intensities(of: try ImageFile.read(contentsOf: path), file: path)
                XCTAssertEqual(values.count, 784)
                let original = digits.pixels[i].map { Double($0) / 255 }
                exact.append(correlation(values, original))
                // MNIST rounded its own centring differently for some digits: allow the original a shift of
                // up to 1 px each way (a thin stroke one pixel off correlates at only ~0.6).
                aligned.append(exact.last! > 0.95 ? exact.last!
                    : [-1, 0, 1].flatMap { dy in [-1, 0, 1].map { dx in correlation(values, shifted(original, dx, dy)) } }.max()!)
                let com = DigitPreprocessor.centreOfMass(values, width: 28, height: 28)!
                worstCentre = max(worstCentre, abs(com.x - 14), abs(com.y - 14))
            }
            let mean = exact.reduce(0, +) / Double(count)
            print("  " + variant.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: "correlation with the original: mean %.3f, lowest %.3f (%.3f within 1 px); centre of mass at most %.2f px off",
                           mean, exact.min()!, aligned.min()!, worstCentre))
            XCTAssertGreaterThan(aligned.min()!, 0.9, variant.name)
            XCTAssertGreaterThan(mean, 0.97, variant.name)
            XCTAssertLessThanOrEqual(worstCentre, 1, variant.name)
        }
    }

    /// A 28×28 image moved by (dx, dy) pixels, zeros shifted in.
    func shifted(_ v: [Double], _ dx: Int, _ dy: Int) -> [Double] {
        var out = [Double](repeating: 0, count: 784)
        for y in 0..<28 { for x in 0..<28 where (0..<28).contains(x - dx) && (0..<28).contains(y - dy) { out[y * 28 + x] = v[(y - dy) * 28 + x - dx] } }
        return out
    }

    func testAClassifierSaysTheSameAboutPreprocessedDigits() throws {
        let model = try SmallModel.checkpoint()
        let digits = try Digits.test()
        let n = 150
        let originals = digits.pixels.prefix(n).map { $0.map { Double($0) / 255 } }
        let direct = SmallModel.classify(originals, with: model)
        let accuracy = Double(zip(direct, digits.labels).filter { $0 == $1 }.count) / Double(n)
        print(String(format: "  linear model: %.1f%% right on the first %d test digits as they are", accuracy * 100, n))
        XCTAssertGreaterThan(accuracy, 0.8)
        let preprocessor = DigitPreprocessor(input: model.input)
        for variant in variants where variant.name.hasPrefix("embedded") || variant.name == "paper.png" || variant.name == "large.png" {
            let processed = try digits.pixels.prefix(n).map { px in
                try preprocessor.intensities(of: try ImageFile.decodeForTest(variant.bytes(px)))
            }
            let predicted = SmallModel.classify(processed, with: model)
            let agree = Double(zip(predicted, direct).filter { $0 == $1 }.count) / Double(n)
            print("  " + variant.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: "agrees with the unprocessed prediction on %.1f%%", agree * 100))
            XCTAssertGreaterThan(agree, 0.9, variant.name)
        }
    }

    func testBlankAndTinyImages() throws {
        let preprocessor = DigitPreprocessor()
        let blank = Bitmap(width: 20, height: 20, layout: .gray, repeating: 255)
        XCTAssertThrowsError(try preprocessor.intensities(of: blank, file: "blank.png")) { error in
            XCTAssertEqual(error as? InferenceError, .blankImage(file: "blank.png"))
        }
        // A single lit pixel becomes a 20×20 block at the centre.
        var dot = Bitmap(width: 5, height: 5, layout: .gray)
        dot[2, 2, 0] = 255
        let values = try preprocessor.intensities(of: dot)
        XCTAssertEqual(values.filter { $0 > 0.99 }.count, 400)
        // A 1×1 image has no paper to tell the ink from.
        XCTAssertThrowsError(try preprocessor.intensities(of: Bitmap(width: 1, height: 1, layout: .gray, repeating: 255)))
    }

    func testResampleWeightsSumToOne() {
        for (n, m) in [(28, 20), (84, 20), (5, 20), (20, 20), (3, 1), (1, 7)] {
            for taps in DigitPreprocessor.weights(from: n, to: m) {
                XCTAssertEqual(taps.map(\.1).reduce(0, +), 1, accuracy: 1e-9, "\(n) → \(m)")
                XCTAssertTrue(taps.allSatisfy { (0..<n).contains($0.0) })
            }
        }
    }

    func testOtherInputSizesKeepTheTwentyInTwentyEightRatio() throws {
        let digits = try Digits.test()
        let preprocessor = DigitPreprocessor(input: InputDescriptor(height: 14, width: 14))
        XCTAssertEqual(preprocessor.boxSize, 10)
        let values = try preprocessor.intensities(of: Bitmap(width: 28, height: 28, layout: .gray, pixels: digits.pixels[0]))
        XCTAssertEqual(values.count, 196)
        let com = DigitPreprocessor.centreOfMass(values, width: 14, height: 14)!
        XCTAssertEqual(com.x, 7, accuracy: 1)
        XCTAssertEqual(com.y, 7, accuracy: 1)
    }
}

extension ImageFile {
    /// Decodes in-memory PNG or PGM bytes the way `read` decodes a file.
    static func decodeForTest(_ bytes: [UInt8]) throws -> Bitmap {
        bytes.starts(with: PNG.signature) ? try PNG.decode(bytes) : try PNM.decode(bytes)
    }
}

