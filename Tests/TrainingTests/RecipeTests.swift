//  RecipeTests.swift
//
//  Recipes, the optimizers and schedules inside the training loop, and extending a run: the `default` recipe is
//  the no-flag configuration; config.json records the resolved settings; Adam and AdamW under one-cycle and
//  exponential decay resume to the same bytes; a run extended with more epochs follows the longer run's schedule.

import CNN
import Foundation
import SafeTensors
import Training
import XCTest

final class RecipeTests: XCTestCase {
    /// A data directory of synthetic 12×12 images: 256 for training, 100 for testing.
    func syntheticData() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("RecipeTests-data")
        try writeDataset(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2), to: dir.path)
        return dir
    }

    func untimed(_ rows: [EpochMetrics]) -> [[Double]] {
        rows.map { [Double($0.epoch), Double($0.step), $0.lr, $0.trainLoss, $0.trainAccuracy, $0.testLoss, $0.testAccuracy] }
    }

    func testDefaultRecipeIsTheNoFlagRunAndEveryRecipeIsUsable() throws {
        XCTAssertEqual(Recipe.all.first?.name, "default")
        XCTAssertEqual(Recipe.named("default")?.configuration, TrainingConfiguration())
        XCTAssertTrue(Recipe.named("default")?.changes.isEmpty ?? false)
        XCTAssertNil(Recipe.named("nope"))
        XCTAssertEqual(Set(Recipe.all.map(\.name)).count, Recipe.all.count, "recipe names are unique")
        for recipe in Recipe.all {
            let c = recipe.configuration
            XCTAssertEqual(c.recipe, recipe.name)
            XCTAssertEqual(c.problems(), [], recipe.name)
            XCTAssertNoThrow(try Architecture.resolve(c.arch, input: InputDescriptor()), recipe.name)
            XCTAssertTrue(Recipe.listing.contains(recipe.name + ": " + recipe.summary))
        }
        let record = try XCTUnwrap(Recipe.named("record")).configuration
        XCTAssertEqual(record.optimizer, .adamw)
        XCTAssertEqual(record.schedule, .onecycle)
        XCTAssertTrue(Recipe.named("record")!.changes.contains { $0.key == "optimizer" && $0.value == "\"adamw\"" })
    }

    /// config.json records the resolved settings, the recipe's name among them, and a resumed run reads them back;
    /// a config.json written before these settings existed still loads, with their defaults.
    func testConfigJSONRecordsTheResolvedRecipeAndOldFilesStillLoad() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("RecipeTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"))
        c.recipe = "record"; c.optimizer = .adam; c.beta2 = 0.99; c.adamEpsilon = 1e-6; c.schedule = .onecycle
        c.pctStart = 0.25; c.divFactor = 10; c.finalDivFactor = 100; c.cycleMomentum = false
        _ = try Trainer(configuration: c)
        XCTAssertEqual(try Trainer.readConfiguration(directory: c.out), c)
        let text = String(decoding: fileBytes(c.out + "/config.json"), as: UTF8.self)
        for key in ["\"recipe\" : \"record\"", "\"optimizer\" : \"adam\"", "\"pct_start\" : 0.25", "\"cycle_momentum\" : false"] {
            XCTAssertTrue(text.contains(key), "config.json lacks \(key)")
        }
        // An older config.json: none of the keys added with the optimizers and recipes.
        let old = """
        {"configuration": {"arch": "default", "batch_size": 64, "data": "Data", "epochs": 3, "initialization": "pytorch",
         "lr": 0.05, "mean": 0.1307, "momentum": 0.9, "nesterov": false, "out": "x", "schedule": "cosine", "seed": 1,
         "std": 0.3081, "step_epochs": 1, "step_gamma": 0.5, "threads": 2, "warmup_steps": 100, "weight_decay": 0.0005}}
        """
        let dir = out.file("old")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(old.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        var expected = TrainingConfiguration()
        expected.out = "x"; expected.threads = 2
        XCTAssertEqual(try Trainer.readConfiguration(directory: dir), expected)
    }

    /// Runs `c` straight, and again stopped after `steps` steps and resumed; both must end in the same bytes.
    func assertExactResume(_ c: TrainingConfiguration, stopAfter steps: Int, _ what: String,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        var straight = c
        straight.out = c.out + "-straight"
        let a = try Trainer(configuration: straight).run()
        let first = try Trainer(configuration: c)
        var count = 0
        first.onEvent = { if case .progress = $0 { count += 1 } }
        first.shouldStop = { count == steps }
        XCTAssertTrue(try first.run().interrupted, file: file, line: line)
        let b = try Trainer(configuration: c, resume: c.out).run()
        XCTAssertFalse(b.interrupted, file: file, line: line)
        XCTAssertTrue(fileBytes(a.modelPath) == fileBytes(b.modelPath), "\(what): resumed model differs", file: file, line: line)
        XCTAssertEqual(untimed(a.metrics), untimed(b.metrics), what, file: file, line: line)
        XCTAssertGreaterThan(a.metrics.last?.testAccuracy ?? 0, 0.3, "\(what) learns something", file: file, line: line)
    }

    func testAdamWithOneCycleResumesExactly() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("RecipeTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("adam"), arch: "conv4k3p1-bn-relu-pool2-drop0.25-fc10", lr: 0.01)
        c.optimizer = .adam; c.weightDecay = 1e-4; c.schedule = .onecycle
        try assertExactResume(c, stopAfter: 11, "Adam + one-cycle")
        let state = try TrainingState.read(contentsOf: c.out + "/checkpoints/epoch-0002.state.safetensors",
                                           shapes: try Checkpoint.read(contentsOf: c.out + "/model.safetensors").network.parameters.map(\.value.shape))
        XCTAssertEqual(state.optimizer, .adam)
        XCTAssertEqual(state.optimizerState.first?.name, "step")
        XCTAssertEqual(state.optimizerState.first?.tensor.scalars, [16])
        XCTAssertTrue(state.optimizerState.contains { $0.name == "exp_avg_sq.0" })
        // A checkpoint whose state belongs to another optimizer is not one this run resumes from.
        XCTAssertThrowsError(try TrainingState.read(contentsOf: c.out + "/checkpoints/epoch-0002.state.safetensors", shapes: [[4, 1, 3, 3]]))
    }

    func testAdamWWithExponentialDecayResumesExactly() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("RecipeTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("adamw"), lr: 0.01)
        c.optimizer = .adamw; c.weightDecay = 0.01; c.schedule = .exponential; c.stepGamma = 0.9
        try assertExactResume(c, stopAfter: 5, "AdamW + exponential")
        let rows = MetricsLog(directory: c.out).rows()
        // metrics.jsonl holds the Double as computed (0.01 · 0.9 = 0.009000000000000001), not rounded.
        XCTAssertEqual(rows.count, 2)
        for (lr, expected) in zip(rows.map(\.lr), [0.01, 0.009]) {
            XCTAssertEqual(lr, expected, accuracy: 1e-15, "the rate of each epoch's last step: ×0.9 per epoch")
        }
    }

    /// An SGD run resumed as if it were an Adam run is refused rather than resumed with the wrong state.
    func testAStateOfAnotherOptimizerIsNotResumed() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("RecipeTests-run")
        let c = smallConfiguration(data: data.path, out: out.file("sgd"), epochs: 1)
        _ = try Trainer(configuration: c).run()
        // Rewrite config.json to say adam: the checkpoints hold SGD's velocities.
        let path = c.out + "/config.json"
        let text = String(decoding: fileBytes(path), as: UTF8.self).replacingOccurrences(of: "\"optimizer\" : \"sgd\"", with: "\"optimizer\" : \"adam\"")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Trainer(configuration: c, resume: c.out)) { XCTAssertEqual($0 as? RunError, .nothingToResume(c.out)) }
    }

    /// A 2-epoch run extended to 3 follows the 3-epoch run's schedule from its checkpoint on: with a constant rate
    /// it ends in the bytes of a straight 3-epoch run; with cosine, its third epoch runs at the 3-epoch run's rates.
    func testExtendingARunContinuesTheLongerSchedule() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("RecipeTests-run")
        for schedule in [ScheduleName.constant, .cosine] {
            var long = smallConfiguration(data: data.path, out: out.file("long-\(schedule)"), epochs: 3)
            long.schedule = schedule
            long.warmupSteps = 0  // the warm-up's cap, a tenth of the run, depends on the run's length too
            let straight = try Trainer(configuration: long).run()
            var short = long
            short.epochs = 2
            short.out = out.file("short-\(schedule)")
            _ = try Trainer(configuration: short).run()
            let extender = try Trainer(configuration: short, resume: short.out, extendTo: 3)
            var notices: [String] = []
            extender.onEvent = { if case let .notice(text) = $0 { notices.append(text) } }
            let extended = try extender.run()
            XCTAssertEqual(extended.metrics.count, 3)
            XCTAssertEqual(try Trainer.readConfiguration(directory: short.out).epochs, 3, "config.json says 3 epochs now")
            XCTAssertTrue(notices.contains { $0.contains("from 2 to 3 epochs") && $0.contains("from step 16") }, "\(notices)")
            XCTAssertEqual(extended.metrics[2].lr, straight.metrics[2].lr, accuracy: 1e-15, "\(schedule): epoch 3's rate")
            if schedule == .constant {
                XCTAssertTrue(fileBytes(extended.modelPath) == fileBytes(straight.modelPath), "constant rate: same bytes")
            } else {
                XCTAssertNotEqual(extended.metrics[1].lr, straight.metrics[1].lr, "epochs 1–2 ran the 2-epoch cosine")
            }
        }
        // Fewer epochs than the run has cannot be a resume.
        let c = smallConfiguration(data: data.path, out: out.file("short-constant"))
        XCTAssertThrowsError(try Trainer(configuration: c, resume: c.out, extendTo: 2)) {
            XCTAssertTrue(($0 as? LocalizedError)?.errorDescription?.contains("can only be extended") ?? false, "\($0)")
        }
    }
}
