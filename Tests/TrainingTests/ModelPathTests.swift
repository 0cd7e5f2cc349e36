//  ModelPathTests.swift
//
//  A run directory given where a checkpoint is expected means its model-best.safetensors (chosen on the
//  validation split) when it has one, else the final model, else the newest epoch checkpoint; the test
//  accuracies in metrics.jsonl never choose; a file is taken as it is, and a directory without a model is
//  refused by name.

import Foundation
@testable import Training
import XCTest

final class ModelPathTests: XCTestCase {
    func makeRun(accuracies: [Double], final: Bool, checkpoints: [Int], best: Bool = false) throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory()
        let run = dir.file("run")
        try FileManager.default.createDirectory(atPath: run + "/checkpoints", withIntermediateDirectories: true)
        let log = MetricsLog(directory: run)
        try log.start()
        for (i, a) in accuracies.enumerated() {
            try log.append(EpochMetrics(epoch: i + 1, step: 10 * (i + 1), lr: 0.1, trainLoss: 0.5, trainAccuracy: 0.9,
                                        testLoss: 0.4, testAccuracy: a, seconds: 1, elapsedSeconds: Double(i + 1), imagesPerSecond: 100))
        }
        for e in checkpoints {
            FileManager.default.createFile(atPath: run + String(format: "/checkpoints/epoch-%04d.safetensors", e), contents: Data())
        }
        if final { FileManager.default.createFile(atPath: run + "/model.safetensors", contents: Data()) }
        if best { FileManager.default.createFile(atPath: run + "/model-best.safetensors", contents: Data()) }
        return (dir, run)
    }

    func testTheValidationChosenModelWins() throws {
        let (dir, run) = try makeRun(accuracies: [0.97, 0.99, 0.98], final: true, checkpoints: [1, 2, 3], best: true)
        XCTAssertEqual(try ModelPath.resolve(run), run + "/model-best.safetensors")
        XCTAssertEqual(try ModelPath.resolve(run + "/"), run + "/model-best.safetensors")
        _ = dir
    }

    func testTheTestSetNeverChooses() throws {
        // Epoch 2 has the highest test accuracy, but without a validation split nothing is chosen on it.
        let (dir, run) = try makeRun(accuracies: [0.97, 0.99, 0.98], final: true, checkpoints: [1, 2, 3])
        XCTAssertEqual(try ModelPath.resolve(run), run + "/model.safetensors")
        _ = dir
    }

    func testWithoutTheBestCheckpointTheFinalModelThenTheNewestCheckpoint() throws {
        let (dir, run) = try makeRun(accuracies: [0.99, 0.98], final: true, checkpoints: [2])
        XCTAssertEqual(try ModelPath.resolve(run), run + "/model.safetensors")
        let (dir2, stopped) = try makeRun(accuracies: [0.99, 0.98], final: false, checkpoints: [1, 2])
        XCTAssertEqual(try ModelPath.resolve(stopped), stopped + "/checkpoints/epoch-0002.safetensors")
        _ = (dir, dir2)
    }

    func testAFileIsTakenAsItIsAndAnEmptyDirectoryIsRefused() throws {
        let dir = try TemporaryDirectory()
        XCTAssertEqual(try ModelPath.resolve(dir.file("x.safetensors")), dir.file("x.safetensors"))
        XCTAssertThrowsError(try ModelPath.resolve(dir.path)) { error in
            guard case let .badRunDirectory(path, why)? = error as? RunError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dir.path)
            XCTAssertTrue(why.contains("no model.safetensors"), why)
        }
    }
}
