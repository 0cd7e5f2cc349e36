//  SignalAndResumeTests.swift
//
//  The built cnn-train and cnn-eval binaries (beside the test bundle; skipped when absent), run as a user
//  runs them: SIGINT and SIGTERM finish the step, write a checkpoint, print how to resume and exit with 130
//  and 143, and the resumed run ends with the model an uninterrupted run writes, byte for byte; a bad flag is
//  one line with status 64. And in-process: the output options do not change the model, and --resume keeps the
//  run's own thread count unless --threads is given.
//
//  scripts/kill-resume.sh does the same with SIGKILL at random moments, on the release build.

import ArgumentParser
import CLI
import CNN
import Foundation
import Training
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class SignalAndResumeTests: XCTestCase {
    struct NotBuilt: Error, CustomStringConvertible {
        let description: String
    }

    /// The path of the executable `name` built beside the test bundle. The README's test command builds the
    /// executables first (`swift build && swift test`); without them these tests fail rather than skip.
    func executable(_ name: String) throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw NotBuilt(description: "\(name) is not built beside \(bundle.path); run `swift build` before `swift test`")
    }

    struct Finished {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Starts `path` with `arguments`, its output going to files in `dir`.
    func start(_ path: String, _ arguments: [String], in dir: TemporaryDirectory, name: String) throws -> (Process, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = dir.file(name + ".stdout"), err = dir.file(name + ".stderr")
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        return (process, out, err)
    }

    func wait(_ started: (Process, String, String)) -> Finished {
        let (process, out, err) = started
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, "exited, not killed by a signal")
        func text(_ path: String) -> String { String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return Finished(status: process.terminationStatus, stdout: text(out), stderr: text(err))
    }

    /// Polls until `path` exists; false after `seconds`.
    func waitFor(_ path: String, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            usleep(2_000)
        }
        return false
    }

    func testSIGINTAndSIGTERMWriteACheckpointAndTheRunResumesToTheSameModel() throws {
        let train = try executable("cnn-train")
        let dir = try TemporaryDirectory("CLITests-signals")
        let data = dir.file("data")
        try writeSyntheticDataset(to: data, trainCount: 512, testCount: 100)
        // 16 steps an epoch, 4 epochs, a checkpoint every step: the signal comes after the second.
        let flags = ["--data", data, "--arch", "conv4k3p1-relu-pool2-fc10", "--epochs", "4", "--batch-size", "32",
                     "--warmup-steps", "5", "--threads", "2", "--checkpoint-every", "1"]

        let reference = dir.file("reference")
        let straight = try Trainer(configuration: try TrainCommand.parse(flags + ["--out", reference]).trainingConfiguration).run()
        let expected = FileManager.default.contents(atPath: straight.modelPath)
        XCTAssertNotNil(expected)

        for (sig, name, status) in [(SIGINT, "SIGINT", Int32(130)), (SIGTERM, "SIGTERM", Int32(143))] {
            let out = dir.file("run-\(name)")
            let started = Date()
            let run = try start(train, flags + ["--out", out], in: dir, name: name)
            XCTAssertTrue(waitFor(out + "/checkpoints/step-00000002.safetensors"), "the run reached step 2")
            kill(run.0.processIdentifier, sig)
            let stopped = wait(run)
            print("  \(name): status \(stopped.status) after \(String(format: "%.1f", Date().timeIntervalSince(started)))s; stderr: \(stopped.stderr.trimmingCharacters(in: .newlines))")
            XCTAssertEqual(stopped.status, status, name)
            XCTAssertTrue(stopped.stderr.contains("stopped by \(name)"), stopped.stderr)
            XCTAssertTrue(stopped.stderr.contains("resume with: \(train) --resume \(out)"), stopped.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.safetensors"), "stopped before the end")
            let files = try FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints")
            XCTAssertFalse(files.contains { $0.hasPrefix(".") }, "no temporary file: \(files)")

            let resumed = wait(try start(train, ["--resume", out], in: dir, name: name + "-resumed"))
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertTrue(resumed.stdout.contains("resuming from \(out)/checkpoints/"), resumed.stdout)
            XCTAssertTrue(FileManager.default.contents(atPath: out + "/model.safetensors") == expected,
                          "\(name): the resumed run's model.safetensors is the uninterrupted run's, byte for byte")
            XCTAssertEqual(MetricsLog(directory: out).rows().map(\.testAccuracy), straight.metrics.map(\.testAccuracy))
        }
    }

    func testBadFlagsAreOneLineWithStatus64() throws {
        let train = try executable("cnn-train"), eval = try executable("cnn-eval")
        let dir = try TemporaryDirectory("CLITests-flags")
        for (path, arguments, mention) in [(train, ["--lr", "0"], "--lr"), (train, ["--epochs=-1"], "--epochs"),
                                           (train, ["--arch", "resnet50"], "resnet50"), (eval, [], "<checkpoint>"),
                                           (eval, ["m.safetensors", "--batch-size", "0"], "--batch-size")] {
            let finished = wait(try start(path, arguments, in: dir, name: "flags"))
            let name = (path as NSString).lastPathComponent
            XCTAssertEqual(finished.status, 64, "\(arguments)")
            XCTAssertEqual(finished.stderr.split(separator: "\n").count, 1, finished.stderr)
            XCTAssertTrue(finished.stderr.hasPrefix("\(name): error: ") && finished.stderr.contains(mention), finished.stderr)
        }
    }

    /// What is printed does not change what is trained: the default text, --quiet and --log-format json give the
    /// same model.safetensors.
    func testOutputOptionsDoNotChangeTheModel() throws {
        let dir = try TemporaryDirectory("CLITests-output")
        let data = dir.file("data")
        try writeSyntheticDataset(to: data, trainCount: 64, testCount: 10)
        var models: [Data?] = []
        for (i, extra) in [[], ["--quiet"], ["--log-format", "json"]].enumerated() {
            let out = dir.file("run\(i)")
            _ = try capturingStandardOutput {
                try TrainCommand.parse(["--data", data, "--out", out, "--arch", "conv4k3p1-bn-relu-pool2-fc10", "--epochs", "2",
                                        "--batch-size", "16", "--threads", "2"] + extra).run()
            }
            models.append(FileManager.default.contents(atPath: out + "/model.safetensors"))
        }
        XCTAssertNotNil(models[0])
        XCTAssertEqual(models[1], models[0], "--quiet")
        XCTAssertEqual(models[2], models[0], "--log-format json")
    }

    /// The thread count can change the last bits of the weights, so --resume keeps the run's own unless told.
    func testResumeKeepsTheRunsThreadCount() throws {
        let dir = try TemporaryDirectory("CLITests-threads")
        let data = dir.file("data"), out = dir.file("run")
        try writeSyntheticDataset(to: data, trainCount: 64, testCount: 10)
        _ = try capturingStandardOutput {
            try TrainCommand.parse(["--data", data, "--out", out, "--arch", "fc10", "--epochs", "1", "--threads", "1", "--quiet"]).run()
        }
        Parallel.setThreads(2)
        _ = try capturingStandardOutput { try TrainCommand.parse(["--resume", out, "--quiet"]).run() }
        XCTAssertEqual(Parallel.threads, 1, "the run's own thread count")
        _ = try capturingStandardOutput { try TrainCommand.parse(["--resume", out, "--quiet", "--threads", "2"]).run() }
        XCTAssertEqual(Parallel.threads, 2, "--threads given")
    }
}
