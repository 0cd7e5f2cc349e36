//  OneProcessPerRunTests.swift
//
//  The built cnn-train, two processes on one run directory: while one trains (held stopped with SIGSTOP, so
//  the timing cannot race), a second fresh run and a second --resume of the directory exit at once with
//  status 75 and the one line "DIR is being trained by PID on HOST since TIME", and change nothing; cnn-eval
//  reads the run's checkpoint meanwhile. After the first is SIGKILLed its lock is gone, and the next --resume
//  takes the run over and rewrites train.lock with its own pid.

import Foundation
import Training
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class OneProcessPerRunTests: XCTestCase {
    struct Finished {
        var status: Int32
        var stderr: String
    }

    /// The executable `name` built beside the test bundle (`swift build` before `swift test`).
    func executable(_ name: String) throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "\(name) beside \(bundle.path); run `swift build` first"])
    }

    func start(_ path: String, _ arguments: [String], stderr: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        try process.run()
        return process
    }

    func run(_ path: String, _ arguments: [String], stderr: String) throws -> Finished {
        let process = try start(path, arguments, stderr: stderr)
        process.waitUntilExit()
        return Finished(status: process.terminationStatus,
                        stderr: String(decoding: FileManager.default.contents(atPath: stderr) ?? Data(), as: UTF8.self))
    }

    /// Polls until `condition` holds; false after `seconds`.
    func waitUntil(seconds: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(2_000)
        }
        return false
    }

    func testASecondRunOfTheSameDirectoryExitsWith75AndADeadHoldersLockIsTakenOver() throws {
        let train = try executable("cnn-train"), eval = try executable("cnn-eval")
        let tmp = try TemporaryDirectory("CLITests-lock")
        let data = tmp.file("data"), out = tmp.file("run")
        try writeSyntheticDataset(to: data, trainCount: 256, testCount: 100)
        let flags = ["--data", data, "--arch", "fc10", "--epochs", "1000", "--threads", "1", "--quiet"]

        let first = try start(train, flags + ["--out", out], stderr: tmp.file("first.stderr"))
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: out + "/checkpoints/epoch-0001.safetensors") },
                      "the first run wrote its first checkpoint")
        kill(first.processIdentifier, SIGSTOP)
        let holder = try XCTUnwrap(RunLock.holder(of: out), "the first run holds the lock")
        XCTAssertEqual(holder.pid, first.processIdentifier)
        let metricsBefore = FileManager.default.contents(atPath: out + "/metrics.jsonl")

        let expected = "cnn-train: error: \(out) is being trained by \(first.processIdentifier) on \(holder.host) since \(holder.since); HINT: try again when that run has ended\n"
        for (name, arguments) in [("fresh", flags + ["--out", out]), ("resume", ["--resume", out, "--quiet"])] {
            let started = Date()
            let second = try run(train, arguments, stderr: tmp.file(name + ".stderr"))
            print("  second \(name) run: status \(second.status) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s: \(second.stderr)", terminator: "")
            XCTAssertEqual(second.status, 75, name)
            XCTAssertEqual(second.stderr, expected, name)
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, "\(name): at once, without loading the data")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/metrics.jsonl"), metricsBefore, "nothing changed")
        XCTAssertEqual(RunLock.holder(of: out), holder, "the first still holds the lock")

        // Readers are never blocked.
        let read = try run(eval, [out + "/checkpoints/epoch-0001.safetensors", "--verify"], stderr: tmp.file("eval.stderr"))
        XCTAssertEqual(read.status, 0, read.stderr)

        // A holder that dies leaves no lock: the next run takes it over and says so in train.lock.
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        XCTAssertNil(RunLock.holder(of: out), "the lock died with its process")
        let third = try start(train, ["--resume", out, "--quiet"], stderr: tmp.file("third.stderr"))
        defer { if third.isRunning { kill(third.processIdentifier, SIGKILL); third.waitUntilExit() } }
        XCTAssertTrue(waitUntil { RunLock.holder(of: out)?.pid == third.processIdentifier }, "the resumed run holds the lock")
        let line = String(decoding: FileManager.default.contents(atPath: out + "/train.lock") ?? Data(), as: UTF8.self)
        XCTAssertTrue(line.hasPrefix("pid=\(third.processIdentifier) host="), line)
        // Once it trains (a signal in its first milliseconds can come before its handler is in place).
        let before = try FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints").count
        XCTAssertTrue(waitUntil { ((try? FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints").count) ?? 0) > before },
                      "the resumed run wrote a checkpoint")
        kill(third.processIdentifier, SIGINT)
        third.waitUntilExit()
        XCTAssertEqual(third.terminationStatus, 130, "stopped with a checkpoint")
        XCTAssertNil(RunLock.holder(of: out), "released at exit")
    }
}
