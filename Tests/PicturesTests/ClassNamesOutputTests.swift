//  ClassNamesOutputTests.swift
//
//  With class names in the checkpoint (`cnn-train --classes`), cnn-eval (text and --json), cnn-predict (text,
//  --json, --csv) and the confusion and mistakes pictures name the classes; the same checkpoint without names
//  gives the digits, as before. cnn-export ignores the names.

import ArgumentParser
import CNN
import Foundation
import Images
@testable import CLI
@testable import Pictures
@testable import Training
import XCTest

final class ClassNamesOutputTests: XCTestCase {
    static let names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The small linear model twice: model.safetensors without names, named.safetensors with them.
    func checkpoints(in dir: TemporaryDirectory) throws -> (plain: String, named: String) {
        let model = try SmallModel.checkpoint()
        try model.write(to: dir.file("model.safetensors"))
        var named = model
        named.metadata[ClassNames.metadataKey] = try ClassNames.metadataValue(Self.names)
        try named.write(to: dir.file("named.safetensors"))
        return (dir.file("model.safetensors"), dir.file("named.safetensors"))
    }

    func testEvalNamesTheClassesInTextAndJSON() throws {
        let dir = try TemporaryDirectory()
        let (plain, named) = try checkpoints(in: dir)
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        try writeSmallTestSet(to: dir.file("data"), count: 300)

        let result = try EvalCommand.parse([named, "--data", dir.file("data"), "--threads", "1"]).evaluate()
        let text = EvalCommand.text(result, names: Self.names)
        for name in Self.names { XCTAssertTrue(text.contains(name), "the text names \(name)") }
        XCTAssertTrue(text.contains("Ankle boot  "), "the per-class table: a name, then the figures")
        let worst = try XCTUnwrap(result.mostConfused.first)
        XCTAssertTrue(text.contains("  \(Self.names[worst.truth]) → \(Self.names[worst.predicted]): \(worst.count)"), text)
        let digits = EvalCommand.text(result)
        XCTAssertFalse(digits.contains("Trouser"))
        XCTAssertTrue(digits.contains("  \(worst.truth) → \(worst.predicted): \(worst.count)"))

        // Through run(): the names come from the checkpoint.
        let namedJSON = try capturing { try EvalCommand.parse([named, "--data", dir.file("data"), "--json", "--threads", "1"]).run() }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(namedJSON.utf8)) as? [String: Any])
        XCTAssertEqual(object["class_names"] as? [String], Self.names)
        let pair = try XCTUnwrap((object["most_confused"] as? [[String: Any]])?.first)
        XCTAssertEqual(pair["true_name"] as? String, Self.names[worst.truth])
        XCTAssertEqual(pair["predicted_name"] as? String, Self.names[worst.predicted])
        let plainJSON = try capturing { try EvalCommand.parse([plain, "--data", dir.file("data"), "--json", "--threads", "1"]).run() }
        let plainObject = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(plainJSON.utf8)) as? [String: Any])
        XCTAssertNil(plainObject["class_names"], "no names, no key")
        XCTAssertNil((plainObject["most_confused"] as? [[String: Any]])?.first?["true_name"])
        XCTAssertEqual(plainObject["confusion_matrix"] as? [[Int]], object["confusion_matrix"] as? [[Int]])
        let namedText = try capturing { try EvalCommand.parse([named, "--data", dir.file("data"), "--threads", "1"]).run() }
        XCTAssertTrue(namedText.contains("Sneaker"))
    }

    func testPredictNamesTheClassesInTextJSONAndCSV() throws {
        let dir = try TemporaryDirectory()
        let (plain, named) = try checkpoints(in: dir)
        let digits = try Digits.test()
        var files: [String] = []
        for i in 0..<4 {
            files.append(dir.file("image-\(i).png"))
            try PNG.write(Bitmap(width: 28, height: 28, layout: .gray, pixels: digits.pixels[i].map { 255 - $0 }), to: files[i])
        }
        let model = try Checkpoint.read(contentsOf: named)
        XCTAssertEqual(model.classNames, Self.names)
        XCTAssertNil(try Checkpoint.read(contentsOf: plain).classNames)
        let results = PredictCommand.predict(model, files: files)
        let best = results.map { r -> Int in
            guard case let .success(reading) = r.outcome else { return -1 }
            return Inference.top(reading.probabilities[0], 1)[0].label
        }
        XCTAssertFalse(best.contains(-1))

        let text = PredictCommand.text(results, top: 1, names: Self.names).split(separator: "\n")
        let plainText = PredictCommand.text(results, top: 1).split(separator: "\n")
        for (k, line) in text.enumerated() {
            XCTAssertTrue(line.contains("   \(Self.names[best[k]]) "), String(line))
            XCTAssertTrue(plainText[k].contains("   \(best[k]) "), String(plainText[k]))
        }

        let json = try PredictCommand.json(results, checkpoint: named, top: 2, names: Self.names)
        let images = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["images"] as? [[String: Any]])
        for (k, image) in images.enumerated() {
            XCTAssertEqual(image["prediction"] as? Int, best[k])
            XCTAssertEqual(image["prediction_name"] as? String, Self.names[best[k]])
            let top = try XCTUnwrap(image["top"] as? [[String: Any]])
            XCTAssertEqual(top.map { $0["name"] as? String }, top.map { Self.names[$0["class"] as! Int] })
        }
        let plainJSON = try PredictCommand.json(results, checkpoint: plain, top: 2)
        XCTAssertFalse(plainJSON.contains("prediction_name"))
        XCTAssertFalse(plainJSON.contains("\"name\""))

        let csv = PredictCommand.csv(results, names: Self.names).split(separator: "\n")
        XCTAssertEqual(csv[0], "file,prediction,probability,uncertain,reasons,error")
        for k in 0..<4 {
            XCTAssertTrue(csv[k + 1].hasPrefix(files[k] + ",\(Self.names[best[k]]),"), String(csv[k + 1]))
            XCTAssertTrue(PredictCommand.csv(results).split(separator: "\n")[k + 1].hasPrefix(files[k] + ",\(best[k]),"))
        }
        XCTAssertTrue(PredictCommand.csv(results, names: ["a,b"] + Self.names.dropFirst()).contains("\"a,b\"") || !best.contains(0),
                      "a name with a comma is quoted")

        // Through run(): the names come from the checkpoint.
        let printed = try capturing { try PredictCommand.parse([named, files[0], "--csv"]).run() }
        XCTAssertTrue(printed.contains(",\(Self.names[best[0]]),"), printed)
    }

    func testConfusionAndMistakesPicturesNameTheClasses() throws {
        var confusion = (0..<10).map { i in (0..<10).map { j in i == j ? 900 : (i * 3 + j) % 5 } }
        confusion[6][0] = 40
        let digits = ConfusionMatrixPicture.render(confusion: confusion, source: "m, test set")
        let named = ConfusionMatrixPicture.render(confusion: confusion, source: "m, test set", classNames: Self.names)
        _ = try roundTrip(named)
        XCTAssertGreaterThan(named.width, digits.width, "room for the row names")
        XCTAssertGreaterThan(named.height, digits.height, "room for the column names, turned")
        XCTAssertEqual(count(.ink, in: digits) < count(.ink, in: named), true, "more ink for names than for digits")

        let tile = MistakeTile(truth: 6, predicted: 0, probability: 0.93, intensities: Array(repeating: 0.5, count: 28 * 28), height: 28, width: 28)
        let tiles = Array(repeating: tile, count: 8)
        let plainTiles = MistakesPicture.render(tiles, wrong: 8, total: 10, source: "m", columns: 8)
        let namedTiles = MistakesPicture.render(tiles, wrong: 8, total: 10, source: "m", columns: 8, classNames: Self.names)
        _ = try roundTrip(namedTiles)
        XCTAssertGreaterThan(namedTiles.width, plainTiles.width, "'Shirt → T-shirt/top (0.93)' is wider than '6 → 0 (0.93)'")
        XCTAssertGreaterThan(count(.red, in: namedTiles), count(.red, in: plainTiles), "the prediction, in red, is a name")
    }

    /// cnn-plot confusion and mistakes read the names from the checkpoint: other pictures than without them;
    /// cnn-export writes the same ONNX model with or without them.
    func testPlotAndExportCommandsWithANamedCheckpoint() throws {
        let dir = try TemporaryDirectory()
        let (plain, named) = try checkpoints(in: dir)
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        try writeSmallTestSet(to: dir.file("data"), count: 200)
        for picture in ["confusion", "mistakes"] {
            for (name, model) in [("plain", plain), ("named", named)] {
                var command = try PlotCommand.parseAsRoot([picture, model, "--data", dir.file("data"), "--out", dir.file("\(picture)-\(name).png")])
                try command.run()
            }
            let a = try PNG.read(contentsOf: dir.file("\(picture)-plain.png")), b = try PNG.read(contentsOf: dir.file("\(picture)-named.png"))
            XCTAssertNotEqual(a.pixels, b.pixels, picture)
        }
        for (name, model) in [("plain", plain), ("named", named)] {
            try ExportCommand.parse([model, "--onnx", dir.file("\(name).onnx")]).run()
        }
        XCTAssertEqual(FileManager.default.contents(atPath: dir.file("plain.onnx")), FileManager.default.contents(atPath: dir.file("named.onnx")))
    }

    /// Standard output of `body`, through a file.
    func capturing(_ body: () throws -> Void) throws -> String {
        let dir = try TemporaryDirectory()
        let path = dir.file("stdout.txt")
        fflush(stdout)
        let saved = dup(STDOUT_FILENO)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        dup2(fd, STDOUT_FILENO)
        close(fd)
        defer { fflush(stdout); dup2(saved, STDOUT_FILENO); close(saved) }
        try body()
        fflush(stdout)
        return String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
}
