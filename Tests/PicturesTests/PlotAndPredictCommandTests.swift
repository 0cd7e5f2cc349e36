//  PlotAndPredictCommandTests.swift
//
//  cnn-plot and cnn-predict run in the test process: flags are checked before anything runs, every
//  subcommand writes a PNG that decodes, failures exit with their documented status, and cnn-predict
//  classifies files on disk, reports a bad one on its own line, and prints valid JSON.

import ArgumentParser
import CNN
import Foundation
import Images
@testable import CLI
@testable import Pictures
@testable import Training
import XCTest

final class PlotAndPredictCommandTests: XCTestCase {
    /// Runs a parsed command and returns the exit status it ends with (0 when it returns).
    func status(_ arguments: [String]) throws -> Int32 {
        var command = try PlotCommand.parseAsRoot(arguments)
        do { try command.run() } catch let e as ExitCode { return e.rawValue }
        return 0
    }

    func testFlagsAreCheckedBeforeRunning() {
        for (arguments, mention) in [
            (["curves"], "at least one run directory"),
            (["curves", "runs/a", "--out", "curves.jpg"], "--out must name a .png file"),
            (["mistakes", "m.safetensors", "--count", "0"], "--count must be between 1 and 400"),
            (["confusion", "m.safetensors", "--split", "validation"], "validation"),
            (["filters"], "checkpoint"),
            (["bars", "x"], "bars"),
        ] {
            XCTAssertThrowsError(try PlotCommand.parseAsRoot(arguments), "\(arguments)") { error in
                let message = PlotCommand.message(for: error)
                XCTAssertTrue(message.contains(mention), "\(arguments): \(message)")
                XCTAssertEqual(PlotCommand.exitCode(for: error).rawValue, 64)
            }
        }
        XCTAssertThrowsError(try PredictCommand.parse(["model.safetensors"]))
        XCTAssertThrowsError(try PredictCommand.parse(["model.safetensors", "a.png", "--top", "0"]))
    }

    func testEverySubcommandWritesAPictureThatDecodes() throws {
        let dir = try TemporaryDirectory()
        // A run directory with two epochs.
        let run = dir.file("run-a")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let log = MetricsLog(directory: run)
        try log.start()
        for e in 1...2 {
            try log.append(EpochMetrics(epoch: e, step: e * 10, lr: 0.1, trainLoss: 0.4 / Double(e), trainAccuracy: 0.9, testLoss: 0.3 / Double(e),
                                        testAccuracy: 0.92, seconds: 1, elapsedSeconds: Double(e), imagesPerSecond: 100))
        }
        XCTAssertEqual(try status(["curves", run, "--out", dir.file("pictures/curves.png")]), 0)
        XCTAssertEqual(try PNG.read(contentsOf: dir.file("pictures/curves.png")).width, 1200)
        // With steps.jsonl beside metrics.jsonl, cnn-plot curves reads it: another picture.
        let steps = StepLog(directory: run)
        try steps.start()
        for k in 1...20 {
            try steps.append(StepMetrics(epoch: (k + 9) / 10, step: k, lr: 0.1, loss: 2 / Double(k), accuracy: 0.5 + 0.02 * Double(k),
                                         elapsedSeconds: Double(k) / 10))
        }
        XCTAssertEqual(try status(["curves", run, "--out", dir.file("pictures/curves-steps.png")]), 0)
        let withSteps = FileManager.default.contents(atPath: dir.file("pictures/curves-steps.png"))
        XCTAssertNotNil(withSteps)
        XCTAssertNotEqual(withSteps, FileManager.default.contents(atPath: dir.file("pictures/curves.png")))

        // A small convolutional checkpoint for the filters.
        var generator = RandomGenerator(seed: 3)
        let specs = try Architecture.resolve("conv4k3-relu-pool2-fc10", input: InputDescriptor())
        let conv = Checkpoint(network: Sequential(specs: specs, generator: &generator), input: InputDescriptor())
        try conv.write(to: dir.file("conv.safetensors"))
        XCTAssertEqual(try status(["filters", dir.file("conv.safetensors"), "--out", dir.file("filters.png")]), 0)
        XCTAssertNoThrow(try PNG.read(contentsOf: dir.file("filters.png")))

        // The linear model has no convolution: exit 65 with a message naming the file.
        try SmallModel.checkpoint().write(to: dir.file("linear.safetensors"))
        XCTAssertEqual(try status(["filters", dir.file("linear.safetensors"), "--out", dir.file("f2.png")]), 65)

        // Confusion matrix and mistakes on the first 500 real test digits.
        let data = dir.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try writeSmallTestSet(to: data, count: 500)
        XCTAssertEqual(try status(["confusion", dir.file("linear.safetensors"), "--data", data, "--out", dir.file("confusion.png")]), 0)
        let confusion = try PNG.read(contentsOf: dir.file("confusion.png"))
        XCTAssertGreaterThan(confusion.width, 10 * ConfusionMatrixPicture.cell)
        XCTAssertEqual(try status(["mistakes", dir.file("linear.safetensors"), "--data", data, "--count", "12",
                                   "--out", dir.file("mistakes.png")]), 0)
        XCTAssertNoThrow(try PNG.read(contentsOf: dir.file("mistakes.png")))
    }

    func testFailuresExitWithTheirStatus() throws {
        let dir = try TemporaryDirectory()
        XCTAssertEqual(try status(["curves", dir.file("missing"), "--out", dir.file("c.png")]), 66, "no such run directory")
        XCTAssertEqual(try status(["filters", dir.file("missing.safetensors"), "--out", dir.file("c.png")]), 66, "no checkpoint")
        // The output's directory is a regular file: cannot create (73).
        _ = FileManager.default.createFile(atPath: dir.file("file"), contents: Data("x".utf8))
        let run = dir.file("run")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try MetricsLog(directory: run).start()
        try MetricsLog(directory: run).append(EpochMetrics(epoch: 1, step: 1, lr: 0.1, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1,
                                                           testAccuracy: 0.5, seconds: 1, elapsedSeconds: 1, imagesPerSecond: 1))
        XCTAssertEqual(try status(["curves", run, "--out", dir.file("file/c.png")]), 73)
    }

    func testPredictClassifiesFilesAndReportsBadOnes() throws {
        let dir = try TemporaryDirectory()
        let digits = try Digits.test()
        try SmallModel.checkpoint().write(to: dir.file("model.safetensors"))
        let model = try Checkpoint.read(contentsOf: dir.file("model.safetensors"))
        var files: [String] = []
        for i in 0..<10 {
            // Dark on light, in a larger canvas: what a person would draw.
            var big = [UInt8](repeating: 250, count: 50 * 40)
            for y in 0..<28 { for x in 0..<28 { big[(6 + y) * 50 + 11 + x] = UInt8(250 - Int(digits.pixels[i][y * 28 + x]) * 250 / 255) } }
            files.append(dir.file("digit-\(i).png"))
            try PNG.write(Bitmap(width: 50, height: 40, layout: .gray, pixels: big), to: files.last!)
        }
        try ImageFile.write(Array("not an image".utf8), to: dir.file("notes.txt"))
        files.insert(dir.file("notes.txt"), at: 3)
        files.append(dir.file("missing.png"))

        let results = PredictCommand.predict(model, files: files)
        XCTAssertEqual(results.count, 12)
        var right = 0, k = 0
        for r in results {
            switch r.outcome {
            case let .success(reading):
                XCTAssertEqual(reading.probabilities.count, 1)
                let p = reading.probabilities[0]
                XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-9)
                if Inference.top(p, 1)[0].label == digits.labels[k] { right += 1 }
                k += 1
            case let .failure(message):
                XCTAssertTrue(message.hasPrefix(r.file + ": "), message)
                XCTAssertFalse(message.contains("\n"))
                print("  " + message)
            }
        }
        XCTAssertEqual(k, 10)
        XCTAssertGreaterThanOrEqual(right, 8, "the linear model gets most of the first ten digits right")

        let text = PredictCommand.text(results, top: 3, show: true)
        print(text.split(separator: "\n").prefix(30).joined(separator: "\n"))
        XCTAssertTrue(text.contains("digit-0.png"))
        XCTAssertFalse(text.contains("notes.txt"), "failures go to standard error, not into the table")

        let json = try PredictCommand.json(results, checkpoint: "a \"quoted\"\tname\u{1}", top: 3)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let images = object?["images"] as? [[String: Any]]
        XCTAssertEqual(images?.count, 12)
        XCTAssertEqual((images?[0]["top"] as? [[String: Any]])?.count, 3)
        XCTAssertNotNil(images?[3]["error"])
        XCTAssertEqual(object?["checkpoint"] as? String, "a \"quoted\"\tname\u{1}", "control characters are escaped")
    }

    func testPredictExitsWith65WhenAnImageFails() throws {
        let dir = try TemporaryDirectory()
        try SmallModel.checkpoint().write(to: dir.file("model.safetensors"))
        let command = try PredictCommand.parse([dir.file("model.safetensors"), dir.file("missing.png"), "--json"])
        XCTAssertThrowsError(try command.run()) { error in
            XCTAssertEqual((error as? ExitCode)?.rawValue, 65)
        }
    }
}
