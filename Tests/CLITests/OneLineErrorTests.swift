//  OneLineErrorTests.swift
//
//  Every tool, as `main()` runs it (`runCommand`): each failure is one line on standard error in the form
//  "TOOL: error: WHAT: PROBLEM[; HINT: ...]" with status 64 for usage errors, including ArgumentParser's own
//  (which cnn-plot and cnn-predict used to print in its multi-line "Error:" form), unknown subcommands and
//  unknown presets (with "did you mean"); a file that is not safetensors, a kernel wider than the image and a
//  --limit past the data are named as such; --version prints the version and the commit on every tool.

import ArgumentParser
import BuildInfo
@testable import CLI
import Foundation
import Training
import XCTest

final class OneLineErrorTests: XCTestCase {
    /// Runs `Command` as the tool `name` on `arguments`; returns the status and standard error.
    func run<Command: ParsableCommand>(_: Command.Type, _ name: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        var status: Int32 = -1
        let result = try runCapturingStandardError { status = runCommand(Command.self, name: name, arguments: arguments) }
        return (status, result.stderr)
    }

    /// Asserts one line in the common form, starting with "`name`: error: `what`: ", mentioning `mentions`.
    @discardableResult
    func assertOneLine<Command: ParsableCommand>(_ command: Command.Type, _ name: String, _ arguments: [String],
                                                 status: Int32 = 64, what: String, mentions: [String] = [],
                                                 file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let (got, stderr) = try run(command, name, arguments)
        print("  \(name) \(arguments.joined(separator: " ")) → \(got): \(stderr.trimmingCharacters(in: .newlines))")
        XCTAssertEqual(got, status, stderr, file: file, line: line)
        let lines = stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "not one line: \(stderr)", file: file, line: line)
        let text = String(lines.first ?? "")
        XCTAssertTrue(text.hasPrefix("\(name): error: \(what): "), text, file: file, line: line)
        XCTAssertNotNil(text.range(of: #"^cnn-[a-z]+: error: [^;]+: [^\n]+$"#, options: .regularExpression), text, file: file, line: line)
        for m in mentions { XCTAssertTrue(text.contains(m), "\"\(text)\" does not mention \"\(m)\"", file: file, line: line) }
        return text
    }

    func testUsageErrorsOfEveryToolAreOneLine() throws {
        try assertOneLine(PlotCommand.self, "cnn-plot", ["curves"], what: "<runs>", mentions: ["missing argument", "cnn-plot curves --help"])
        try assertOneLine(PlotCommand.self, "cnn-plot", ["curves", "a", "--widht", "900"], what: "--widht",
                          mentions: ["unknown option", "did you mean '--width'?"])
        try assertOneLine(PredictCommand.self, "cnn-predict", [], what: "<checkpoint>", mentions: ["missing argument", "--help"])
        try assertOneLine(PredictCommand.self, "cnn-predict", ["m.safetensors", "a.png", "--top", "x"], what: "--top",
                          mentions: ["'x' is not a valid value"])
        try assertOneLine(BenchCommand.self, "cnn-bench", ["--steps", "zero"], what: "--steps")
        try assertOneLine(EvalCommand.self, "cnn-eval", [], what: "<checkpoint>")
        try assertOneLine(ExportCommand.self, "cnn-export", ["m.safetensors"], what: "--onnx", mentions: ["missing"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--lr", "0"], what: "--lr", mentions: ["must be"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--lrr", "3"], what: "--lrr", mentions: ["did you mean '--lr'?"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--schedule", "sometimes"], what: "--schedule",
                          mentions: ["give one of 'constant', 'step'"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--threads", "0"], what: "--threads", mentions: ["between 1 and 256"])
    }

    /// --data, --threads and --batch-size are one option group each: every tool checks them the same way.
    func testSharedOptionsAreCheckedTheSameWayEverywhere() throws {
        let message = "--threads: must be between 1 and 256 (got 0)"
        try assertOneLine(TrainCommand.self, "cnn-train", ["--threads", "0"], what: "--threads", mentions: [message])
        try assertOneLine(EvalCommand.self, "cnn-eval", ["m.safetensors", "--threads", "0"], what: "--threads", mentions: [message])
        try assertOneLine(BenchCommand.self, "cnn-bench", ["--threads", "0"], what: "--threads", mentions: [message])
        try assertOneLine(PlotCommand.self, "cnn-plot", ["confusion", "m.safetensors", "--threads", "0"], what: "--threads",
                          mentions: [message])
        try assertOneLine(PlotCommand.self, "cnn-plot", ["mistakes", "m.safetensors", "--threads", "300"], what: "--threads",
                          mentions: ["got 300"])
        try assertOneLine(EvalCommand.self, "cnn-eval", ["m.safetensors", "--batch-size", "0"], what: "--batch-size",
                          mentions: ["must be at least 1 (got 0)"])
        try assertOneLine(BenchCommand.self, "cnn-bench", ["--batch-size", "0"], what: "--batch-size", mentions: ["must be at least 1 (got 0)"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--batch-size", "0"], what: "--batch-size", mentions: ["must be at least 1 (got 0)"])
        XCTAssertEqual(try EvalCommand.parse(["m.safetensors"]).batchSize, 1000)
        XCTAssertEqual(try BenchCommand.parse([]).batchSize, 64)
        XCTAssertEqual(try EvalCommand.parse(["m.safetensors", "--data", "/d", "--threads", "3"]).data, "/d")
        XCTAssertEqual(try EvalCommand.parse(["m.safetensors", "--threads", "3"]).threads, 3)
    }

    func testUnknownSubcommandsSaySoWithDidYouMean() throws {
        try assertOneLine(PlotCommand.self, "cnn-plot", ["histogram", "X"], what: "histogram",
                          mentions: ["unknown subcommand", "curves, confusion, mistakes, filters"])
        try assertOneLine(PlotCommand.self, "cnn-plot", ["curvs", "runs/a"], what: "curvs", mentions: ["did you mean 'curves'?"])
        try assertOneLine(PlotCommand.self, "cnn-plot", ["filter", "m.safetensors"], what: "filter", mentions: ["did you mean 'filters'?"])
    }

    func testPresetsAndLayersGetDidYouMean() throws {
        try assertOneLine(TrainCommand.self, "cnn-train", ["--arch", "lenet"], what: "--arch", mentions: ["'lenet'", "did you mean 'lenet5'?"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--arch", "cs231"], what: "--arch", mentions: ["did you mean 'cs231n'?"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--arch", "cnv8k3-relu-fc10"], what: "--arch", mentions: ["did you mean 'conv8k3'?"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--arch", "conv8k3-rleu-fc10"], what: "--arch", mentions: ["did you mean 'relu'?"])
    }

    func testAFileThatIsNotSafeTensorsIsNamedAsSuch() throws {
        let dir = try TemporaryDirectory()
        let readme = dir.file("README.md")
        try Data("# cnn\n\nTrain convolutional networks on handwritten digits.\n".utf8).write(to: URL(fileURLWithPath: readme))
        let text = try assertOneLine(EvalCommand.self, "cnn-eval", [readme], status: 65, what: readme, mentions: ["not a safetensors file"])
        XCTAssertFalse(text.contains("header length"), text)
        try assertOneLine(EvalCommand.self, "cnn-eval", [dir.path], status: 66, what: dir.path, mentions: ["no model.safetensors"])
    }

    func testAKernelWiderThanTheImageAndALimitPastTheData() throws {
        let dir = try TemporaryDirectory()
        let data = dir.file("data")
        try writeSyntheticDataset(to: data, size: 28, trainCount: 20, testCount: 10)
        try assertOneLine(TrainCommand.self, "cnn-train", ["--data", data, "--arch", "conv8k29-fc10", "--out", dir.file("a")],
                          what: "--arch", mentions: ["conv8k29", "29-wide kernel does not fit the 28×28 input"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--data", data, "--arch", "conv8k5p1-pool2-conv8k5-pool2-conv8k5-fc10",
                                                          "--out", dir.file("b")],
                          what: "--arch", mentions: ["does not fit the"])
        try assertOneLine(TrainCommand.self, "cnn-train", ["--data", data, "--limit", "100000", "--out", dir.file("c")],
                          what: "--limit", mentions: ["100000 exceeds the 20 training images"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("c")), "nothing written")
    }

    /// The version a checkpoint and config.json record is the one --version prints.
    func testTheCheckpointRecordsTheVersionThatVersionPrints() throws {
        let dir = try TemporaryDirectory()
        try writeSyntheticDataset(to: dir.file("data"), trainCount: 64, testCount: 20)
        try TrainCommand.parse(["--data", dir.file("data"), "--out", dir.file("run"), "--arch", "fc10", "--epochs", "1",
                                "--threads", "1", "--quiet"]).run()
        let printed = try capturingStandardOutput { _ = runCommand(TrainCommand.self, name: "cnn-train", arguments: ["--version"]) }
        let words = printed.split(separator: " ")
        XCTAssertEqual(words.first, "cnn-train")
        let version = try XCTUnwrap(words.dropFirst().first.map(String.init))
        XCTAssertEqual(version, BuildInfo.version)
        let model = try Checkpoint.read(contentsOf: dir.file("run/model.safetensors"))
        XCTAssertEqual(model.metadata["version"], version)
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("run/config.json")))) as? [String: Any])
        XCTAssertEqual(config["version"] as? String, version)
    }

    func testVersionOnEveryTool() throws {
        for (name, version) in [("cnn-train", { runCommand(TrainCommand.self, name: "cnn-train", arguments: ["--version"]) }),
                                ("cnn-eval", { runCommand(EvalCommand.self, name: "cnn-eval", arguments: ["--version"]) }),
                                ("cnn-plot", { runCommand(PlotCommand.self, name: "cnn-plot", arguments: ["--version"]) }),
                                ("cnn-predict", { runCommand(PredictCommand.self, name: "cnn-predict", arguments: ["--version"]) }),
                                ("cnn-bench", { runCommand(BenchCommand.self, name: "cnn-bench", arguments: ["--version"]) }),
                                ("cnn-export", { runCommand(ExportCommand.self, name: "cnn-export", arguments: ["--version"]) })] {
            var status: Int32 = -1
            let out = try capturingStandardOutput { status = version() }
            XCTAssertEqual(status, 0, name)
            XCTAssertNotNil(out.range(of: "^\(name) [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\)\n$",
                                      options: .regularExpression), out)
        }
    }
}
