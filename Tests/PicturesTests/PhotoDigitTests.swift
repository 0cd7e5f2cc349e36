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

    func testTheEdgeOfThePaperIsNotTheDigit() throws {
        let digits = try Digits.test()
        let model = try SmallModel.checkpoint()
        let preprocessor = DigitPreprocessor(input: model.input)
        let reader = DigitReader(model, minConfidence: 0)
        for i in 0..<5 {
            let plain = page([digits.pixels[i]], at: [(80, 10)])
            // The desk in a band along the bottom, far larger than the digit, and a corner filled by a rotation.
            var framed = plain
            for y in 102..<120 { for x in 0..<200 { framed[x, y, 0] = 90 } }
            for y in 0..<50 { for x in 0..<(50 - y) { framed[x, y, 0] = 160 } }
            XCTAssertGreaterThan(correlation(try preprocessor.intensities(of: framed), try preprocessor.intensities(of: plain)), 0.95)
            XCTAssertEqual(reader.read([framed])[0].doubts.map(\.doubt), [])
            // Cropped tightly, the digit itself runs along the edge, and is still the digit.
            let ink = (0..<784).filter { digits.pixels[i][$0] > 0 }
            let (x0, x1) = (ink.map { $0 % 28 }.min()! * 3, ink.map { $0 % 28 }.max()! * 3 + 2)
            let (y0, y1) = (ink.map { $0 / 28 }.min()! * 3 + 10, ink.map { $0 / 28 }.max()! * 3 + 12)
            var tight = Bitmap(width: x1 - x0 + 1, height: y1 - y0 + 1, layout: .gray)
            for y in 0..<tight.height { for x in 0..<tight.width { tight[x, y, 0] = plain[80 + x0 + x, y0 + y, 0] } }
            let analysis = preprocessor.analyse(tight)
            XCTAssertEqual(analysis.edge, [])
            XCTAssertEqual(analysis.digit.first, 0)
            XCTAssertNotNil(preprocessor.render(analysis, marks: analysis.digit))
        }
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

    func testGrainAndScribblesAreNotDigits() throws {
        let digits = try Digits.test()
        let model = try SmallModel.checkpoint()
        let reader = DigitReader(model, minConfidence: 0)
        var state: UInt64 = 9
        func grain(_ spread: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % (2 * spread + 1) - spread
        }
        // Coarse paper grain, no ink: its darkest specks are more than faint, but no more than the grain itself.
        var coarse = Bitmap(width: 160, height: 120, layout: .gray)
        for y in 0..<120 { for x in 0..<160 { coarse[x, y, 0] = UInt8(175 + grain(75)) } }
        // A digit on paper with a fine grain, and a zigzag scribble of a pen 3 px wide.
        var digit = page([digits.pixels[0]], at: [(80, 10)])
        for y in 0..<120 { for x in 0..<200 { digit[x, y, 0] = UInt8(max(0, min(255, Int(digit[x, y, 0]) + grain(6)))) } }
        var zigzag = Bitmap(width: 200, height: 200, layout: .gray, repeating: 235)
        for k in 0..<10 {
            // Stroke k joins (20 + 16k, 20 or 180) to (36 + 16k, 180 or 20).
            let (ya, yb) = k % 2 == 0 ? (20.0, 180.0) : (180.0, 20.0)
            for step in 0...400 {
                let t = Double(step) / 400, cx = 20 + 16 * Double(k) + 16 * t, cy = ya + (yb - ya) * t
                for dy in -1...1 { for dx in -1...1 { zigzag[Int(cx) + dx, Int(cy) + dy, 0] = 30 } }
            }
        }
        let readings = reader.read([coarse, digit, zigzag])
        print("  coarse grain: \(readings[0].doubts.map(\.detail)); digit: \(readings[1].doubts.map(\.detail)); zigzag: \(readings[2].doubts.map(\.detail))")
        XCTAssertTrue(readings[0].doubts.map(\.doubt).contains(.weakInk))
        XCTAssertEqual(readings[1].doubts.map(\.doubt), [])
        XCTAssertTrue(readings[2].doubts.map(\.doubt).contains(.unlikeADigit))
        XCTAssertFalse(readings[2].doubts.map(\.doubt).contains(.weakInk))
        // Real digits are not taken for scribbles.
        let preprocessor = DigitPreprocessor(input: model.input)
        let lengths = (0..<20).map { i -> Double in
            let analysis = preprocessor.analyse(page([digits.pixels[i]], at: [(80, 10)]))
            return analysis.strokeLength(of: analysis.digit)
        }
        print("  stroke length / side of 20 test digits: " + lengths.map { String(format: "%.2f", $0) }.joined(separator: " "))
        XCTAssertEqual(lengths.filter { $0 > DigitReader.strokeLengthToSide }.count, 0)
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
