//  ValidationAndEMATests.swift
//
//  The validation split (disjoint from training, stratified, from the seed, taken from the training file and
//  never from the test set), what it chooses (model-best.safetensors, --target-accuracy), and the moving average of
//  the weights inside a run (its columns, model-ema.safetensors, exact resume).

import CNN
import Foundation
import SafeTensors
import Training
import XCTest

final class ValidationAndEMATests: XCTestCase {
    func syntheticData() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("ValidationTests-data")
        try writeDataset(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2), to: dir.path)
        return dir
    }

    func untimed(_ rows: [EpochMetrics]) -> [[Double?]] {
        rows.map { [Double($0.epoch), $0.lr, $0.trainLoss, $0.testAccuracy, $0.valLoss, $0.valAccuracy, $0.emaTestLoss,
                    $0.emaTestAccuracy, $0.emaValAccuracy] }
    }

    func testTheSplitIsDisjointStratifiedAndFixedByTheSeed() {
        var generator = RandomGenerator(seed: 5)
        // Unbalanced classes: class k has 10·(k + 1) images, shuffled.
        var labels = (0..<10).flatMap { k in Array(repeating: k, count: 10 * (k + 1)) }
        labels.shuffle(using: &generator)
        let split = ValidationSplit(labels: labels, count: 55, seed: 1)
        XCTAssertEqual(split.validation.count, 55)
        XCTAssertEqual(Set(split.validation).intersection(split.training), [], "disjoint")
        XCTAssertEqual((split.validation + split.training).sorted(), Array(labels.indices), "together, every image once")
        XCTAssertEqual(split.validation, split.validation.sorted())
        // 55 of 550 is a tenth: exactly k + 1 of class k.
        for k in 0..<10 { XCTAssertEqual(split.validation.filter { labels[$0] == k }.count, k + 1, "class \(k)") }
        XCTAssertEqual(ValidationSplit(labels: labels, count: 55, seed: 1), split, "the same seed, the same split")
        XCTAssertNotEqual(ValidationSplit(labels: labels, count: 55, seed: 2).validation, split.validation)
        // Remainders: 7 of 550 gives ⌊7·n_k/550⌋ = 0 or 1 for each class, and the rest by the largest remainder.
        let small = ValidationSplit(labels: labels, count: 7, seed: 1)
        XCTAssertEqual(small.validation.count, 7)
        XCTAssertEqual(Set(small.validation.map { labels[$0] }), [3, 4, 5, 6, 7, 8, 9].reduce(into: Set<Int>()) { $0.insert($1) })
    }

    /// The validation images are training-file images the run does not train on, and the test set is whole.
    func testTheRunHoldsOutTrainingImagesAndNeverTheTestSet() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ValidationTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"))
        c.validation = 56
        let trainer = try Trainer(configuration: c)
        let full = try Dataset.load(directory: data.path, split: .train)
        let test = try Dataset.load(directory: data.path, split: .test)
        let validation = try XCTUnwrap(trainer.validation)
        XCTAssertEqual(validation.count, 56)
        XCTAssertEqual(trainer.train.count, 200)
        XCTAssertEqual(trainer.test.count, test.count)
        XCTAssertEqual(trainer.test.images, test.images, "the test set is the test file, whole")
        let split = ValidationSplit(labels: full.labels, count: 56, seed: c.seed)
        XCTAssertEqual(validation.images, full.subset(split.validation).images, "validation images come from the training file")
        XCTAssertEqual(trainer.train.images, full.subset(split.training).images, "and the run trains on the others")
        let size = 144
        let trainRows = Set((0..<trainer.train.count).map { Array(trainer.train.pixels[($0 * size)..<(($0 + 1) * size)]) })
        let testRows = Set((0..<test.count).map { Array(test.pixels[($0 * size)..<(($0 + 1) * size)]) })
        for i in 0..<validation.count {
            let row = Array(validation.pixels[(i * size)..<((i + 1) * size)])
            XCTAssertFalse(trainRows.contains(row), "validation image \(i) is trained on")
            XCTAssertFalse(testRows.contains(row), "validation image \(i) is a test image")
        }
        XCTAssertThrowsError(try Trainer(configuration: { var d = c; d.validation = 256; d.out = out.file("all"); return d }()))
    }

    /// model-best.safetensors is the epoch of highest validation accuracy; without validation there is none, and the
    /// summary names no best epoch.
    func testModelBestAndTheTargetUseValidation() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ValidationTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 3)
        c.validation = 56
        let summary = try Trainer(configuration: c).run()
        let rows = summary.metrics
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows.allSatisfy { $0.valAccuracy != nil && $0.valLoss != nil })
        let best = try XCTUnwrap(summary.best)
        XCTAssertEqual(best.valAccuracy, rows.compactMap(\.valAccuracy).max())
        XCTAssertEqual(best.epoch, rows.first { $0.valAccuracy == best.valAccuracy }?.epoch, "the first of equals")
        let model = try Checkpoint.read(contentsOf: c.out + "/model-best.safetensors")
        XCTAssertEqual(model.metadata["epoch"], String(best.epoch))
        XCTAssertEqual(model.metadata["val_accuracy"], String(best.valAccuracy!))
        let epochFile = try Checkpoint.read(contentsOf: c.out + String(format: "/checkpoints/epoch-%04d.safetensors", best.epoch))
        XCTAssertEqual(model.network.parameters.map(\.value), epochFile.network.parameters.map(\.value))
        let header = String(decoding: fileBytes(c.out + "/metrics.csv"), as: UTF8.self).split(separator: "\n")[0]
        XCTAssertTrue(header.hasSuffix(",images_per_second,val_loss,val_accuracy"), String(header))

        var plain = smallConfiguration(data: data.path, out: out.file("plain"))
        plain.validation = 0
        let p = try Trainer(configuration: plain).run()
        XCTAssertNil(p.best)
        XCTAssertFalse(FileManager.default.fileExists(atPath: plain.out + "/model-best.safetensors"))

        // The target is judged on validation: a target the validation accuracy reaches in epoch 1 stops there,
        // whatever the test accuracy.
        var t = c
        t.out = out.file("target")
        let trainer = try Trainer(configuration: t)
        trainer.targetAccuracy = rows[0].valAccuracy
        var reached: Double?
        trainer.onEvent = { if case let .targetReached(a, _) = $0 { reached = a } }
        let stopped = try trainer.run()
        XCTAssertEqual(stopped.metrics.count, 1)
        XCTAssertEqual(reached, rows[0].valAccuracy)
    }

    /// With --ema: its columns, model-ema.safetensors whose evaluation gives the logged figures, and a stop and
    /// resume that ends in the same bytes for both models.
    func testTheMovingAverageIsEvaluatedSavedAndResumedExactly() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ValidationTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("straight"), arch: "conv4k3p1-bn-relu-pool2-drop0.25-fc10")
        c.ema = 0.9; c.validation = 32; c.labelSmoothing = 0.1
        let straight = try Trainer(configuration: c).run()
        let rows = straight.metrics
        XCTAssertTrue(rows.allSatisfy { $0.emaTestAccuracy != nil && $0.emaValAccuracy != nil })
        let ema = try Checkpoint.read(contentsOf: c.out + "/model-ema.safetensors")
        let test = try Dataset.load(directory: data.path, split: .test)
        let evaluated = Evaluator.evaluate(ema.network, on: test)
        XCTAssertEqual(evaluated.accuracy, rows.last?.emaTestAccuracy)
        XCTAssertEqual(ema.metadata["test_accuracy"], String(evaluated.accuracy))
        let model = try Checkpoint.read(contentsOf: c.out + "/model.safetensors")
        XCTAssertNotEqual(ema.network.parameters.map(\.value), model.network.parameters.map(\.value), "the average is another model")
        let header = String(decoding: fileBytes(c.out + "/metrics.csv"), as: UTF8.self).split(separator: "\n")[0]
        XCTAssertTrue(header.hasSuffix(",val_loss,val_accuracy,ema_test_loss,ema_test_accuracy,ema_val_loss,ema_val_accuracy"), String(header))

        var r = c
        r.out = out.file("resumed")
        let first = try Trainer(configuration: r)
        var count = 0
        first.onEvent = { if case .progress = $0 { count += 1 } }
        first.shouldStop = { count == 9 }
        XCTAssertTrue(try first.run().interrupted)
        let state = try TrainingState.read(contentsOf: r.out + "/checkpoints/step-00000009.state.safetensors",
                                           shapes: model.network.parameters.map(\.value.shape))
        XCTAssertTrue(state.averagedState.contains { $0.name == "1.running_mean" }, "the averaged batch-norm statistics are saved")
        let resumed = try Trainer(configuration: r, resume: r.out).run()
        for name in ["model.safetensors", "model-ema.safetensors", "model-best.safetensors"] {
            XCTAssertTrue(fileBytes(c.out + "/" + name) == fileBytes(r.out + "/" + name), "\(name) differs after resuming")
        }
        XCTAssertEqual(untimed(resumed.metrics), untimed(rows))
    }
}
