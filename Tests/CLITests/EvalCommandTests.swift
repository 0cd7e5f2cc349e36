//  EvalCommandTests.swift
//
//  cnn-eval in-process: its flags, and end to end on a checkpoint written by a tiny cnn-train run, with the
//  --json output parsed and compared with what the trainer logged; a checkpoint for other image sizes is refused.

import ArgumentParser
import CLI
import CNN
import Foundation
import Training
import XCTest

final class EvalCommandTests: XCTestCase {
    func testDefaultsAndFlags() throws {
        let d = try EvalCommand.parse(["model.safetensors"])
        XCTAssertEqual(d.checkpoint, "model.safetensors")
        XCTAssertEqual(d.data, "Data")
        XCTAssertEqual(d.split, .test)
        XCTAssertEqual(d.batchSize, 1000)
        XCTAssertEqual(d.threads, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertFalse(d.json)

        let e = try EvalCommand.parse(["runs/a/model.safetensors", "--data", "/tmp/mnist", "--split", "train",
                                       "--batch-size", "250", "--threads", "1", "--json"])
        XCTAssertEqual(e.checkpoint, "runs/a/model.safetensors")
        XCTAssertEqual(e.data, "/tmp/mnist")
        XCTAssertEqual(e.split, .train)
        XCTAssertEqual(e.batchSize, 250)
        XCTAssertEqual(e.threads, 1)
        XCTAssertTrue(e.json)
    }

    func testValidation() {
        assertParseFails(EvalCommand.self, [], mentions: ["<checkpoint>"])
        assertParseFails(EvalCommand.self, ["m.safetensors", "--batch-size", "0"], mentions: ["--batch-size"])
        assertParseFails(EvalCommand.self, ["m.safetensors", "--threads", "0"], mentions: ["--threads"])
        assertParseFails(EvalCommand.self, ["m.safetensors", "--split", "validation"], mentions: ["--split", "validation"])
        let help = EvalCommand.helpMessage(columns: 120)
        for flag in ["--data", "--split", "--batch-size", "--threads", "--json", "<checkpoint>"] {
            XCTAssertTrue(help.contains(flag), "help mentions \(flag)")
        }
    }

    /// Trains 12×12 synthetic digits for one epoch through cnn-train, then evaluates the model with cnn-eval.
    func testEndToEndJSONOutputMatchesTheTrainingLog() throws {
        let dir = try TemporaryDirectory()
        let data = dir.file("data"), out = dir.file("run")
        try writeSyntheticDataset(to: data)
        let start = Date()
        let train = try TrainCommand.parse(["--data", data, "--out", out, "--arch", "conv4k3p1-bn-relu-pool2-fc10",
                                            "--epochs", "1", "--batch-size", "32", "--warmup-steps", "0", "--threads", "2",
                                            "--log-format", "json"])
        let trainOutput = try capturingStandardOutput { try train.run() }
        let epochLine = try XCTUnwrap(trainOutput.split(separator: "\n").first { $0.hasPrefix("{") })
        let logged = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(epochLine.utf8)) as? [String: Any])
        let loggedAccuracy = try XCTUnwrap((logged["test_accuracy"] as? NSNumber)?.doubleValue)

        let model = out + "/model.safetensors"
        let eval = try EvalCommand.parse([model, "--data", data, "--json", "--threads", "2"])
        let evalOutput = try capturingStandardOutput { try eval.run() }
        print(String(format: "  tiny run and cnn-eval: %.1fs; logged test accuracy %.4f", Date().timeIntervalSince(start), loggedAccuracy))
        let lines = evalOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "--json prints one line")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evalOutput.utf8)) as? [String: Any])
        for key in ["checkpoint", "accuracy", "correct", "total", "loss", "per_class_accuracy", "per_class_precision",
                    "confusion_matrix", "most_confused"] {
            XCTAssertNotNil(json[key], "cnn-eval --json has \(key)")
        }
        XCTAssertEqual(json["checkpoint"] as? String, model)
        let accuracy = try XCTUnwrap((json["accuracy"] as? NSNumber)?.doubleValue)
        let correct = try XCTUnwrap((json["correct"] as? NSNumber)?.intValue)
        let total = try XCTUnwrap((json["total"] as? NSNumber)?.intValue)
        XCTAssertEqual(total, 100)
        XCTAssertEqual(accuracy, Double(correct) / Double(total))
        XCTAssertEqual(accuracy, loggedAccuracy, "cnn-eval and cnn-train agree")
        XCTAssertGreaterThan(accuracy, 0.5, "the synthetic digits are easy")
        let loss = try XCTUnwrap((json["loss"] as? NSNumber)?.doubleValue)
        XCTAssertEqual(loss, (logged["test_loss"] as? NSNumber)?.doubleValue ?? .nan, accuracy: 1e-5 * max(1, loss))
        let confusion = try XCTUnwrap(json["confusion_matrix"] as? [[NSNumber]])
        XCTAssertEqual(confusion.count, 10)
        XCTAssertTrue(confusion.allSatisfy { $0.count == 10 })
        XCTAssertEqual(confusion.joined().map(\.intValue).reduce(0, +), total)
        XCTAssertEqual((0..<10).map { confusion[$0][$0].intValue }.reduce(0, +), correct)
        let perClass = try XCTUnwrap(json["per_class_accuracy"] as? [NSNumber])
        XCTAssertEqual(perClass.count, 10)
        XCTAssertTrue(perClass.allSatisfy { (0...1).contains($0.doubleValue) })

        // A run directory means its best model (here the final one), and a path with a tab and a control
        // character in it still gives valid JSON naming it (a hand-written escaper let them through).
        let byDirectory = try capturingStandardOutput { try EvalCommand.parse([out, "--data", data, "--json", "--threads", "2"]).run() }
        let viaDirectory = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(byDirectory.utf8)) as? [String: Any])
        XCTAssertEqual(viaDirectory["checkpoint"] as? String, model)
        XCTAssertEqual((viaDirectory["correct"] as? NSNumber)?.intValue, correct)
        let odd = dir.file("with\ttab\u{1}.safetensors")
        try FileManager.default.copyItem(atPath: model, toPath: odd)
        let oddOutput = try capturingStandardOutput { try EvalCommand.parse([odd, "--data", data, "--json", "--threads", "2"]).run() }
        let oddJSON = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(oddOutput.utf8)) as? [String: Any], oddOutput)
        XCTAssertEqual(oddJSON["checkpoint"] as? String, odd)

        // evaluate() gives the same figures, and the checkpoint's own metadata agrees.
        let result = try EvalCommand.parse([model, "--data", data]).evaluate()
        XCTAssertEqual(result.correct, correct)
        XCTAssertEqual(result.confusion, confusion.map { $0.map(\.intValue) })
        XCTAssertEqual(try Checkpoint.read(contentsOf: out + "/checkpoints/epoch-0001.safetensors").metadata["test_accuracy"],
                       String(result.accuracy))

        // The text report names the figures too.
        let text = try EvalCommand.parse([model, "--data", data])
        let report = try capturingStandardOutput { try text.run() }
        XCTAssertTrue(report.contains("accuracy"))
        XCTAssertTrue(report.contains("(\(correct)/\(total))"), report)
        XCTAssertTrue(report.contains("confusion matrix"))
    }

    func testImagesOfAnotherSizeThanTheCheckpointAreRefused() throws {
        let dir = try TemporaryDirectory()
        // A 28×28 checkpoint, untrained, and 14×14 data.
        let input = InputDescriptor()
        var generator = RandomGenerator(seed: 1)
        let network = Sequential(specs: try Architecture.resolve("conv4k3p1-relu-pool2-fc10", input: input), generator: &generator)
        let model = dir.file("model.safetensors")
        try Checkpoint(network: network, input: input).write(to: model)
        try writeSyntheticDataset(to: dir.file("data14"), size: 14, trainCount: 10, testCount: 10)

        let command = try EvalCommand.parse([model, "--data", dir.file("data14")])
        XCTAssertThrowsError(try command.evaluate()) { error in
            XCTAssertEqual(error as? RunError, .inputMismatch(checkpoint: model, expected: "1×28×28", data: "1×14×14"))
            let message = (error as? LocalizedError)?.errorDescription ?? ""
            print("  \(message)")
            XCTAssertTrue(message.contains(model) && message.contains("28×28") && message.contains("14×14"), message)
            XCTAssertEqual(ExitStatus.of(error), .dataError)
        }
        XCTAssertThrowsError(try command.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 65) }
        // 28×28 data is fine.
        try writeSyntheticDataset(to: dir.file("data28"), size: 28, trainCount: 10, testCount: 10)
        XCTAssertEqual(try EvalCommand.parse([model, "--data", dir.file("data28")]).evaluate().total, 10)
    }

    func testMissingOrCorruptCheckpoint() throws {
        let dir = try TemporaryDirectory()
        try writeSyntheticDataset(to: dir.file("data"), trainCount: 10, testCount: 10)
        let missing = try EvalCommand.parse([dir.file("none.safetensors"), "--data", dir.file("data")])
        XCTAssertThrowsError(try missing.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 66) }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.file("junk.safetensors"), contents: Data("junk junk junk".utf8)))
        let junk = try EvalCommand.parse([dir.file("junk.safetensors"), "--data", dir.file("data")])
        XCTAssertThrowsError(try junk.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 65) }
    }
}
