//  StepLogTests.swift
//
//  steps.jsonl (`--log-every N`): one line every N global steps with the mean training loss and accuracy over
//  the images of those N steps (across epoch boundaries), as JSONEncoder writes it; and a run stopped, even
//  one whose latest checkpoint is missing, and resumed, ends with the same lines as an uninterrupted run.
//
//  The runs: 256 synthetic training images in batches of 30, so 9 steps an epoch whose last batch has 16
//  images, 2 epochs.

import Foundation
@testable import Training
import XCTest

final class StepLogTests: XCTestCase {
    func configuration(data: String, out: String, logEvery: Int?) -> TrainingConfiguration {
        var c = smallConfiguration(data: data, out: out, batchSize: 30)
        c.logEvery = logEvery
        return c
    }

    func syntheticData() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("StepLogTests-data")
        try writeDataset(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2), to: dir.path)
        return dir
    }

    /// The rows with the wall time zeroed: everything else repeats bit for bit.
    func untimed(_ directory: String) -> [StepMetrics] {
        StepLog(directory: directory).rows().map { var r = $0; r.elapsedSeconds = 0; return r }
    }

    func testLinesEveryNStepsHoldTheMeansOverTheirImages() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("StepLogTests-run")
        _ = try Trainer(configuration: configuration(data: data.path, out: out.file("every1"), logEvery: 1)).run()
        _ = try Trainer(configuration: configuration(data: data.path, out: out.file("every4"), logEvery: 4)).run()
        _ = try Trainer(configuration: configuration(data: data.path, out: out.file("none"), logEvery: nil)).run()

        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("none") + "/steps.jsonl"), "no steps.jsonl without --log-every")
        let every1 = StepLog(directory: out.file("every1")).rows()
        XCTAssertEqual(every1.map(\.step), Array(1...18))
        XCTAssertEqual(every1.map(\.epoch), Array(repeating: 1, count: 9) + Array(repeating: 2, count: 9))

        // Each line of the file is one JSON object with exactly these keys, sorted, and nothing else.
        let text = String(decoding: fileBytes(out.file("every4") + "/steps.jsonl"), as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("}\n"))
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 4, "steps 4, 8, 12 and 16 of 18")
        for line in lines {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(Set(object.keys), ["epoch", "step", "lr", "loss", "accuracy", "elapsed_seconds"])
            XCTAssertTrue(line.hasPrefix("{\"accuracy\":"), "keys sorted: \(line)")
        }
        let every4 = StepLog(directory: out.file("every4")).rows()
        XCTAssertEqual(every4.map(\.step), [4, 8, 12, 16])
        XCTAssertEqual(every4.map(\.epoch), [1, 1, 2, 2], "step 12 is the third of epoch 2")

        // Line k·4 is the image-weighted mean of steps 4k-3 ... 4k; step 9, the last of epoch 1, has 16 images.
        func images(_ step: Int) -> Double { step % 9 == 0 ? 16 : 30 }
        for row in every4 {
            let window = every1.filter { $0.step > row.step - 4 && $0.step <= row.step }
            let n = window.map { images($0.step) }.reduce(0, +)
            let loss = window.map { $0.loss * images($0.step) }.reduce(0, +) / n
            let accuracy = window.map { $0.accuracy * images($0.step) }.reduce(0, +) / n
            XCTAssertEqual(row.loss, loss, accuracy: 1e-12 * loss, "step \(row.step)")
            XCTAssertEqual(row.accuracy, accuracy, accuracy: 1e-12, "step \(row.step)")
            XCTAssertEqual(row.lr, every1[row.step - 1].lr, "the rate of step \(row.step)")
            XCTAssertTrue(row.accuracy >= 0 && row.accuracy <= 1)
            XCTAssertGreaterThan(row.elapsedSeconds, 0)
        }
        XCTAssertEqual(every4.map(\.elapsedSeconds), every4.map(\.elapsedSeconds).sorted(), "elapsed time only grows")
        // Logging changes nothing that is trained.
        XCTAssertEqual(fileBytes(out.file("every4") + "/model.safetensors"), fileBytes(out.file("none") + "/model.safetensors"))
    }

    /// Stopped at step 13 (checkpoints step-5, epoch-1 at 9, step-10, step-13), with lines 4, 8 and 12 written.
    /// Resumed as it is, from step 13: the sums of steps 13 come from the checkpoint. Resumed with step-13 lost
    /// (killed before it was written): from step 10, line 12 is dropped and written again, once.
    func testResumeGivesTheLinesOfAnUninterruptedRun() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("StepLogTests-run")
        let straight = out.file("straight")
        _ = try Trainer(configuration: configuration(data: data.path, out: straight, logEvery: 4)).run()
        XCTAssertEqual(untimed(straight).map(\.step), [4, 8, 12, 16])

        for lose in [false, true] {
            var c = configuration(data: data.path, out: out.file(lose ? "lost" : "kept"), logEvery: 4)
            c.checkpointEvery = 5
            let first = try Trainer(configuration: c)
            var steps = 0
            first.onEvent = { if case .progress = $0 { steps += 1 } }
            first.shouldStop = { steps == 13 }
            XCTAssertTrue(try first.run().interrupted)
            XCTAssertEqual(untimed(c.out).map(\.step), [4, 8, 12])
            if lose {
                for suffix in [".safetensors", ".state.safetensors"] {
                    try FileManager.default.removeItem(atPath: c.out + "/checkpoints/step-00000013" + suffix)
                }
            }
            let resumed = try Trainer(configuration: c, resume: c.out)
            let summary = try resumed.run()
            XCTAssertFalse(summary.interrupted)
            XCTAssertEqual(untimed(c.out), untimed(straight), lose ? "resumed from step 10" : "resumed from step 13")
            XCTAssertEqual(fileBytes(summary.modelPath), fileBytes(straight + "/model.safetensors"))
        }
    }

    /// A state file without the window sums (written before --log-every existed) still loads, with sums of 0.
    func testOlderStateFilesWithoutWindowSumsLoad() throws {
        let dir = try TemporaryDirectory("StepLogTests-state")
        var state = TrainingState(epoch: 1, stepInEpoch: 2, globalStep: 11, optimizerState: [], dropoutGenerators: [])
        state.windowLoss = 3.5; state.windowCorrect = 7; state.windowSeen = 60
        try state.file().write(to: dir.file("new.state.safetensors"))
        XCTAssertEqual(try TrainingState.read(contentsOf: dir.file("new.state.safetensors"), shapes: []), state)

        var file = state.file()
        for key in ["window_loss", "window_correct", "window_seen"] { file.metadata[key] = nil }
        try file.write(to: dir.file("old.state.safetensors"))
        let old = try TrainingState.read(contentsOf: dir.file("old.state.safetensors"), shapes: [])
        XCTAssertEqual([old.windowLoss, Double(old.windowCorrect), Double(old.windowSeen)], [0, 0, 0])
        XCTAssertEqual(old.globalStep, 11)
    }
}
