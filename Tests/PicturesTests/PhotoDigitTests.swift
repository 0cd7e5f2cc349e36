//  PhotoDigitTests.swift
//
//  Digits as users photograph them: dark ink under a strong shadow, a JPEG stored rotated with its EXIF
//  orientation, several digits in one picture; and the honest answers: no ink, little ink, several marks,
//  low confidence; --number reads digits left to right; a folder and CSV in cnn-predict.

import CLI
import Foundation
import Images
import Training
import XCTest

final class PhotoDigitTests: XCTestCase {
    /// Digit `px` (28×28, ink bright) drawn dark on paper into a `w`×`h` page at (ox, oy), `scale`× larger,
    /// under a linear shadow that darkens the paper from 240 at the left to `shadowed` at the right.
    func page(_ digits: [[UInt8]], w: Int = 200, h: Int = 120, scale: Int = 3, at origins: [(Int, Int)], shadowed: Double = 240) -> Bitmap {
        var out = Bitmap(width: w, height: h, layout: .gray)
        for y in 0..<h {
            for x in 0..<w {
                let paper = 240 - (240 - shadowed) * Double(x) / Double(w - 1)
                var ink = 0.0
                for (d, (ox, oy)) in zip(digits, origins) {
                    let dx = (x - ox) / scale, dy = (y - oy) / scale
                    if x >= ox, y >= oy, dx < 28, dy < 28 { ink = max(ink, Double(d[dy * 28 + dx]) / 255) }
                }
                out[x, y, 0] = UInt8(max(0, min(255, paper * (1 - ink) + 25 * ink)))
            }
        }
        return out
    }

    func testAStrongShadowIsLevelledAway() throws {
        let digits = try Digits.test()
        let model = try SmallModel.checkpoint()
        let preprocessor = DigitPreprocessor(input: model.input)
        let n = 40
        var direct: [[Double]] = [], shadowed: [[Double]] = [], correlations: [Double] = []
        for i in 0..<n {
            direct.append(digits.pixels[i].map { Double($0) / 255 })
            // The paper falls from 240 to 60 across the page: the right-hand paper is darker than the ink's
            // contrast on the left, so no single threshold separates ink from paper.
            let values = try preprocessor.intensities(of: page([digits.pixels[i]], at: [(100, 10)], shadowed: 60))
            shadowed.append(values)
            correlations.append(correlation(values, direct.last!))
        }
        let a = SmallModel.classify(direct, with: model), b = SmallModel.classify(shadowed, with: model)
        let agree = Double(zip(a, b).filter { $0 == $1 }.count) / Double(n)
        correlations.sort()
        print(String(format: "  shadow 240→60: agrees with the unprocessed prediction on %.1f%%, correlation with the original: median %.3f, lowest %.3f",
                     agree * 100, correlations[n / 2], correlations[0]))
        XCTAssertGreaterThanOrEqual(agree, 0.9)
        XCTAssertGreaterThan(correlations[n / 2], 0.9)
    }

    func testAJPEGStoredRotatedIsReadUpright() throws {
        let digits = try Digits.test()
        let model = try SmallModel.checkpoint()
        let upright = page([digits.pixels[0]], w: 120, h: 120, at: [(18, 18)])
        // Stored as a camera held sideways stores it (rotated 90° counter-clockwise), tagged orientation 6.
        var stored = Bitmap(width: 120, height: 120, layout: .gray)
        for y in 0..<120 { for x in 0..<120 { stored[y, 119 - x, 0] = upright[x, y, 0] } }
        var jpeg = try JPEG.encode(stored, quality: 95)
        let tiff: [UInt8] = Array("MM".utf8) + [0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]
        let payload = Array("Exif\0\0".utf8) + tiff
        jpeg.insert(contentsOf: [0xFF, 0xE1, 0, UInt8(payload.count + 2)] + payload, at: 2)
        let read = try ImageFile.decode(jpeg, file: "photo.jpg")
        let preprocessor = DigitPreprocessor(input: model.input)
        let a = try preprocessor.intensities(of: upright), b = try preprocessor.intensities(of: read)
        XCTAssertGreaterThan(correlation(a, b), 0.95)
        XCTAssertEqual(SmallModel.classify([a], with: model), SmallModel.classify([b], with: model))
    }

    func testDoubtsAndNumbers() throws {
        let digits = try Digits.test()
        let model = try SmallModel.checkpoint()
        var reader = DigitReader(model, minConfidence: 0)
        // Paper with grain and a shadow, no ink.
        var grain: UInt64 = 4
        var blank = Bitmap(width: 160, height: 120, layout: .gray)
        for y in 0..<120 {
            for x in 0..<160 {
                grain = grain &* 6364136223846793005 &+ 1442695040888963407
                blank[x, y, 0] = UInt8(200 - x / 2 + Int(grain >> 60))
            }
        }
        let one = page([digits.pixels[0]], at: [(80, 10)])
        let three = page([digits.pixels[1], digits.pixels[2], digits.pixels[3]], w: 300, h: 110, at: [(10, 12), (100, 8), (190, 14)])
        var dot = Bitmap(width: 400, height: 300, layout: .gray, repeating: 235)
        for y in 150..<154 { for x in 200..<204 { dot[x, y, 0] = 20 } }
        let readings = reader.read([blank, one, three, dot])
        XCTAssertEqual(readings.map { $0.doubts.map(\.doubt) }, [[.noInk], [], [.severalMarks], [.littleInk]])
        XCTAssertTrue(readings[0].uncertain)
        XCTAssertEqual(readings[1].probabilities.count, 1)
        for r in readings { for d in r.doubts { XCTAssertFalse(d.detail.isEmpty); XCTAssertFalse(d.detail.contains("\n")) } }
        reader.minConfidence = 1
        XCTAssertEqual(reader.read([one])[0].doubts.map(\.doubt), [.lowConfidence])

        // A number: the digits left to right, each as it would be read alone.
        reader.minConfidence = 0
        let number = reader.read([three], number: true)[0]
        let alone = reader.read((1...3).map { page([digits.pixels[$0]], at: [(80, 10)]) }).map { $0.digits[0] }
        XCTAssertEqual(number.digits, alone)
        XCTAssertEqual(number.number, alone.map(String.init).joined())
        XCTAssertFalse(number.uncertain)
        print("  the number of test digits \(digits.labels[1...3].map(String.init).joined()) is read as \(number.number)")
    }

    func testPredictReadsAFolderAndWritesCSV() throws {
        let dir = try TemporaryDirectory()
        let digits = try Digits.test()
        try FileManager.default.createDirectory(atPath: dir.file("photos"), withIntermediateDirectories: true)
        for i in 0..<3 { try PNG.write(page([digits.pixels[i]], at: [(80, 10)]), to: dir.file("photos/d\(i).png")) }
        try ImageFile.write(try JPEG.encode(page([digits.pixels[3]], at: [(80, 10)])), to: dir.file("photos/d3.JPG"))
        try ImageFile.write(Array("notes".utf8), to: dir.file("photos/notes.txt"))
        let files = try PredictCommand.expand(dir.file("photos"))
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent }, ["d0.png", "d1.png", "d2.png", "d3.JPG"])
        XCTAssertEqual(try PredictCommand.expand(dir.file("photos/d0.png")), [dir.file("photos/d0.png")])
        XCTAssertThrowsError(try PredictCommand.expand(dir.path)) { error in
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.hasPrefix(dir.path + ": ") ?? false)
        }
        let model = try SmallModel.checkpoint()
        let results = PredictCommand.predict(model, files: files + [dir.file("photos/notes.txt")])
        let csv = PredictCommand.csv(results).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(csv.first, "file,prediction,probability,uncertain,reasons,error")
        XCTAssertEqual(csv.count, 1 + 5 + 1)
        for line in csv[1...4] {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(fields.count, 6, String(line))
            XCTAssertNotNil(Int(fields[1]), String(line))
            XCTAssertTrue(["true", "false"].contains(fields[3]))
        }
        XCTAssertTrue(csv[5].hasPrefix(dir.file("photos/notes.txt") + ",,,,,"), String(csv[5]))
        XCTAssertTrue(csv[5].contains("neither a PNG"), String(csv[5]))
        let json = try PredictCommand.json(results, checkpoint: "m", top: 2)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let images = try XCTUnwrap(object?["images"] as? [[String: Any]])
        XCTAssertEqual(images.count, 5)
        XCTAssertNotNil(images[0]["uncertain"] as? Bool)
        XCTAssertNotNil(images[0]["reasons"] as? [Any])
        XCTAssertNotNil(images[0]["prediction"] as? Int)
    }
}
