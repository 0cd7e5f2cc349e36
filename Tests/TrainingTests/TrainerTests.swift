//  TrainerTests.swift
//
//  The training loop end to end: it learns the real MNIST from 2,000 images, writes the documented run
//  directory, logs the accuracy that evaluating its checkpoint gives, repeats exactly from a seed, resumes to the
//  same bytes after a stop, and reports divergence.
//
//  `swift test` builds in debug, where the Swift loops are much slower than in release; the runs here are
//  sized to take seconds in debug (the figures are printed so CI logs show them).

import BuildInfo
import CNN
import Foundation
import IDX
import SafeTensors
import Training
import XCTest

/// One short run on a 2,000-image subset of the real MNIST, shared by the tests that inspect it.
final class RealMNISTRun {
    static let trainCount = 2000
    static let testCount = 2000
    static let arch = "conv8k3p1-relu-pool2-conv16k3p1-relu-pool2-fc10"

    let data: TemporaryDirectory
    let out: TemporaryDirectory
    let configuration: TrainingConfiguration
    let summary: TrainingSummary
    let seconds: Double
    let events: [String]

    private init() throws {
        data = try TemporaryDirectory("TrainerTests-data")
        out = try TemporaryDirectory("TrainerTests-run")
        try RealMNIST.writeSubset(trainCount: Self.trainCount, testCount: Self.testCount, to: data.path)
        var c = TrainingConfiguration()
        c.data = data.path
        c.out = out.path + "/run"
        c.arch = Self.arch
        c.epochs = 2
        c.batchSize = 20
        c.lr = 0.03
        c.weightDecay = 0
        c.warmupSteps = 10
        c.threads = 2
        c.seed = 1
        configuration = c
        let start = Date()
        let trainer = try Trainer(configuration: c)
        var events: [String] = []
        trainer.onEvent = { event in
            switch event {
            case .started: events.append("started")
            case .epochFinished(let m): events.append("epoch \(m.epoch)")
            case .checkpointWritten(let path): events.append("checkpoint " + (path as NSString).lastPathComponent)
            case .progress, .targetReached, .notice: break
            }
        }
        summary = try trainer.run()
        seconds = Date().timeIntervalSince(start)
        self.events = events
        for m in summary.metrics {
            print(String(format: "  real MNIST (%d train / %d test images, %@): epoch %d train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%, %.1fs, %.0f img/s",
                         Self.trainCount, Self.testCount, Self.arch, m.epoch, m.trainLoss, m.trainAccuracy * 100,
                         m.testLoss, m.testAccuracy * 100, m.seconds, m.imagesPerSecond))
        }
        print(String(format: "  real MNIST run: %.1fs in all (debug build)", seconds))
    }

    private static var cached: Result<RealMNISTRun, Error>?

    /// The run, made on first use.
    static func shared() throws -> RealMNISTRun {
        if cached == nil { cached = Result { try RealMNISTRun() } }
        return try cached!.get()
    }

    /// Drops the run, removing its directories.
    static func release() { cached = nil }
}

final class TrainerTests: XCTestCase {
    override class func tearDown() {
        RealMNISTRun.release()
        super.tearDown()
    }

    // MARK: Learning on the real MNIST

    func testShortRunOnRealMNISTLearns() throws {
        let run = try RealMNISTRun.shared()
        let last = try XCTUnwrap(run.summary.metrics.last)
        XCTAssertEqual(run.summary.metrics.map(\.epoch), [1, 2])
        XCTAssertGreaterThan(last.testAccuracy, 0.90, "test accuracy after 2 epochs on 2,000 images")
        XCTAssertLessThan(last.testLoss, run.summary.metrics[0].testLoss + 0.05)
        XCTAssertLessThan(last.trainLoss, 0.5)
        XCTAssertFalse(run.summary.interrupted)
        XCTAssertEqual(run.summary.modelPath, run.configuration.out + "/model.safetensors")
        XCTAssertNil(run.summary.best, "without validation no epoch is chosen (the test set never chooses)")
        XCTAssertLessThan(run.seconds, 60, "seconds, not minutes")
        XCTAssertEqual(run.events, ["started", "checkpoint epoch-0001.safetensors", "epoch 1",
                                    "checkpoint epoch-0002.safetensors", "epoch 2", "checkpoint model.safetensors"])
    }

    // MARK: The run directory

    func testRunDirectoryHasConfigMetricsCheckpointsAndModel() throws {
        let run = try RealMNISTRun.shared()
        let dir = run.configuration.out
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertEqual(files, ["config.json", "metrics.jsonl", "metrics.csv", "checkpoints", "model.safetensors"])
        let checkpoints = Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints"))
        XCTAssertEqual(checkpoints, ["epoch-0001.safetensors", "epoch-0001.state.safetensors",
                                     "epoch-0002.safetensors", "epoch-0002.state.safetensors"])

        // config.json: parses, with the resolved architecture, seed, version and every setting.
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(fileBytes(dir + "/config.json"))) as? [String: Any])
        XCTAssertEqual(config["version"] as? String, BuildInfo.version)
        XCTAssertEqual((config["seed"] as? NSNumber)?.intValue, 1)
        let architecture = try XCTUnwrap(config["architecture"] as? [[String: Any]])
        XCTAssertEqual(architecture.map { $0["type"] as? String }, ["conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "flatten", "linear"])
        XCTAssertEqual((architecture[7]["in_features"] as? NSNumber)?.intValue, 16 * 7 * 7)
        let input = try XCTUnwrap(config["input"] as? [String: Any])
        XCTAssertEqual((input["height"] as? NSNumber)?.intValue, 28)
        let settings = try XCTUnwrap(config["configuration"] as? [String: Any])
        for key in ["data", "arch", "epochs", "batch_size", "lr", "momentum", "nesterov", "weight_decay", "schedule",
                    "step_epochs", "step_gamma", "warmup_steps", "initialization", "seed", "threads", "mean", "std", "out"] {
            XCTAssertNotNil(settings[key], "config.json's configuration has \(key)")
        }
        XCTAssertEqual(settings["arch"] as? String, RealMNISTRun.arch)
        XCTAssertEqual(try Trainer.readConfiguration(directory: dir), run.configuration, "config.json gives back the settings")

        // metrics.jsonl: one JSON object per epoch, with every column.
        let columns = ["epoch", "step", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds",
                       "images_per_second"]
        let jsonl = String(decoding: fileBytes(dir + "/metrics.jsonl"), as: UTF8.self)
        let lines = jsonl.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(jsonl.hasSuffix("\n"))
        for (i, line) in lines.enumerated() {
            let row = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for c in columns { XCTAssertNotNil(row[c] as? NSNumber, "metrics.jsonl row \(i + 1) has \(c)") }
            XCTAssertEqual((row["epoch"] as? NSNumber)?.intValue, i + 1)
            XCTAssertEqual((row["step"] as? NSNumber)?.intValue, (i + 1) * 100, "2,000 images in batches of 20: 100 steps an epoch")
        }

        // metrics.csv: a header with every column, then one row per epoch with as many fields.
        let csv = String(decoding: fileBytes(dir + "/metrics.csv"), as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.count, 3)
        let header = csv[0].split(separator: ",").map(String.init)
        for c in columns { XCTAssertTrue(header.contains(c), "metrics.csv has a \(c) column") }
        for row in csv.dropFirst() {
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(fields.count, header.count)
            XCTAssertTrue(fields.allSatisfy { Double($0) != nil }, row)
        }
        let accuracyColumn = try XCTUnwrap(header.firstIndex(of: "test_accuracy"))
        XCTAssertEqual(csv.dropFirst().map { Double($0.split(separator: ",")[accuracyColumn]) },
                       run.summary.metrics.map(\.testAccuracy))

        // The checkpoints and the model load, and the model is the last epoch's checkpoint.
        let model = try Checkpoint.read(contentsOf: dir + "/model.safetensors")
        XCTAssertEqual(model.network.specs, try Architecture.resolve(RealMNISTRun.arch, input: InputDescriptor()))
        XCTAssertEqual(model.metadata["epoch"], "2")
        XCTAssertEqual(model.metadata["global_step"], "200")
        XCTAssertEqual(model.metadata["seed"], "1")
        XCTAssertEqual(model.metadata["version"], BuildInfo.version)
        XCTAssertEqual(model.metadata["arch"], RealMNISTRun.arch)
        let epoch2 = try Checkpoint.read(contentsOf: dir + "/checkpoints/epoch-0002.safetensors")
        for (p, q) in zip(model.network.parameters, epoch2.network.parameters) { XCTAssertEqual(p.value, q.value) }
        let state = try TrainingState.read(contentsOf: dir + "/checkpoints/epoch-0001.state.safetensors",
                                           shapes: model.network.parameters.map(\.value.shape))
        XCTAssertEqual(state.epoch, 1)
        XCTAssertEqual(state.stepInEpoch, 0)
        XCTAssertEqual(state.globalStep, 100)
        XCTAssertEqual(state.optimizerState.map(\.name), (0..<6).map { "velocity.\($0)" }, "weight and bias of two convolutions and a linear layer")
    }

    // MARK: Evaluation agrees with the log

    func testEvaluatingACheckpointGivesTheLoggedAccuracyExactly() throws {
        let run = try RealMNISTRun.shared()
        let test = try Dataset.load(directory: run.data.path, split: .test)
        for (epoch, logged) in run.summary.metrics.enumerated().map({ ($0 + 1, $1) }) {
            let checkpoint = try Checkpoint.read(contentsOf: run.configuration.out + String(format: "/checkpoints/epoch-%04d.safetensors", epoch))
            let result = Evaluator.evaluate(checkpoint.network, on: test)
            print(String(format: "  epoch %d checkpoint: evaluated %.4f%%, logged %.4f%%", epoch, result.accuracy * 100, logged.testAccuracy * 100))
            XCTAssertEqual(result.total, RealMNISTRun.testCount)
            XCTAssertEqual(result.accuracy, logged.testAccuracy, "epoch \(epoch)")
            XCTAssertEqual(checkpoint.metadata["test_accuracy"], String(result.accuracy))
            XCTAssertEqual(checkpoint.metadata["test_loss"].flatMap(Double.init), result.loss)
            XCTAssertEqual(result.confusion.joined().reduce(0, +), result.total)
            XCTAssertEqual((0..<10).map { result.confusion[$0][$0] }.reduce(0, +), result.correct)
        }
    }

    // MARK: Determinism

    /// The columns of a metrics row that do not depend on timing.
    func untimed(_ rows: [EpochMetrics]) -> [[Double]] {
        rows.map { [Double($0.epoch), Double($0.step), $0.lr, $0.trainLoss, $0.trainAccuracy, $0.testLoss, $0.testAccuracy] }
    }

    /// A data directory of synthetic 12×12 images: 256 for training, 100 for testing.
    func syntheticData() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("TrainerTests-data")
        try writeDataset(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2), to: dir.path)
        return dir
    }

    /// Asserts that two files have the same bytes, reporting sizes and the first difference rather than the bytes.
    func assertSameBytes(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) {
        let x = fileBytes(a), y = fileBytes(b)
        XCTAssertFalse(x.isEmpty, "\(a) is missing or empty", file: file, line: line)
        guard x != y else { return }
        let first = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
        XCTFail("\(a) (\(x.count) bytes) and \(b) (\(y.count) bytes) differ, first at byte \(first)", file: file, line: line)
    }

    /// Asserts that two training-state files agree in everything but the timing metadata.
    func assertSameState(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var x = try SafeTensorsFile.read(contentsOf: a), y = try SafeTensorsFile.read(contentsOf: b)
        for key in ["elapsed_seconds", "partial_seconds"] {
            XCTAssertNotNil(x.metadata.removeValue(forKey: key), key, file: file, line: line)
            y.metadata[key] = nil
        }
        XCTAssertEqual(x.metadata, y.metadata, file: file, line: line)
        XCTAssertTrue(x.tensors == y.tensors, "\(a) and \(b) hold different optimizer states", file: file, line: line)
    }

    func train(_ c: TrainingConfiguration) throws -> TrainingSummary {
        try Trainer(configuration: c).run()
    }

    func testSameSeedAndFlagsGiveIdenticalModelsAndMetrics() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        // Batch norm and dropout too, since both carry state that must repeat.
        let arch = "conv4k3p1-bn-relu-pool2-drop0.25-fc10"
        let a = try train(smallConfiguration(data: data.path, out: out.file("a"), arch: arch))
        let b = try train(smallConfiguration(data: data.path, out: out.file("b"), arch: arch))
        assertSameBytes(a.modelPath, b.modelPath)
        for name in ["epoch-0001.safetensors", "epoch-0002.safetensors"] {
            assertSameBytes(out.file("a/checkpoints/" + name), out.file("b/checkpoints/" + name))
        }
        // The state files hold the elapsed time too; all else repeats.
        try assertSameState(out.file("a/checkpoints/epoch-0001.state.safetensors"), out.file("b/checkpoints/epoch-0001.state.safetensors"))
        XCTAssertEqual(untimed(a.metrics), untimed(b.metrics))
        XCTAssertEqual(a.metrics.count, 2)
        print("  same seed twice: identical model (\(fileBytes(a.modelPath).count) bytes); test accuracy \(a.metrics.map(\.testAccuracy))")

        // Another seed gives another model.
        var other = smallConfiguration(data: data.path, out: out.file("c"), arch: arch)
        other.seed = 2
        let c = try train(other)
        XCTAssertFalse(fileBytes(a.modelPath) == fileBytes(c.modelPath), "seed 2 gives another model")
    }

    // MARK: Resume

    /// Runs `c` until `stopAfter` steps, then resumes it; returns the interrupted and the final summaries.
    func stopAndResume(_ c: TrainingConfiguration, stopAfter steps: Int) throws -> (TrainingSummary, TrainingSummary) {
        let first = try Trainer(configuration: c)
        // shouldStop is polled after every step and after every epoch's checkpoint: count steps, not polls.
        var count = 0
        first.onEvent = { if case .progress = $0 { count += 1 } }
        first.shouldStop = { count == steps }
        let interrupted = try first.run()
        XCTAssertTrue(interrupted.interrupted)
        XCTAssertFalse(FileManager.default.fileExists(atPath: interrupted.modelPath), "no model.safetensors after a stop")
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.out + String(format: "/checkpoints/step-%08d.safetensors", steps)))
        // Resume with other settings passed in: the run directory's config.json wins (but for the thread count).
        var ignored = TrainingConfiguration()
        ignored.threads = 2
        let second = try Trainer(configuration: ignored, resume: c.out)
        XCTAssertEqual(second.configuration.epochs, c.epochs)
        XCTAssertEqual(second.configuration.arch, c.arch)
        XCTAssertEqual(second.configuration.out, c.out)
        let finished = try second.run()
        return (interrupted, finished)
    }

    func testResumeAfterAStopMidEpochGivesTheSameModel() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        let arch = "conv4k3p1-bn-relu-pool2-drop0.25-fc10"
        let straight = try train(smallConfiguration(data: data.path, out: out.file("straight"), arch: arch))

        // 8 steps an epoch; a checkpoint every 3 steps; stopped after step 11 (epoch 2, step 3).
        var c = smallConfiguration(data: data.path, out: out.file("resumed"), arch: arch)
        c.checkpointEvery = 3
        let (interrupted, resumed) = try stopAndResume(c, stopAfter: 11)
        XCTAssertEqual(interrupted.metrics.map(\.epoch), [1])
        // Every 3 steps but at the end of an epoch (8 and 16), which has its own checkpoint; and at the stop (11).
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: c.out + "/checkpoints").filter { !$0.contains(".state.") }),
                       ["step-00000003.safetensors", "step-00000006.safetensors", "epoch-0001.safetensors",
                        "step-00000009.safetensors", "step-00000011.safetensors", "step-00000012.safetensors",
                        "step-00000015.safetensors", "epoch-0002.safetensors"])

        XCTAssertFalse(resumed.interrupted)
        assertSameBytes(resumed.modelPath, straight.modelPath)
        assertSameBytes(c.out + "/checkpoints/epoch-0002.safetensors", out.file("straight/checkpoints/epoch-0002.safetensors"))
        XCTAssertEqual(untimed(resumed.metrics), untimed(straight.metrics), "metrics, with the interrupted epoch's running sums")
        XCTAssertEqual(MetricsLog(directory: c.out).rows().count, 2)
        XCTAssertEqual(String(decoding: fileBytes(c.out + "/metrics.csv"), as: UTF8.self).split(separator: "\n").count, 3)
    }

    func testResumeAfterAStopAtTheLastStepOfAnEpochGivesTheSameModel() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        let straight = try train(smallConfiguration(data: data.path, out: out.file("straight")))
        let c = smallConfiguration(data: data.path, out: out.file("resumed"))
        // Step 8 is the last of epoch 1: stopped before the epoch's evaluation.
        let (interrupted, resumed) = try stopAndResume(c, stopAfter: 8)
        XCTAssertEqual(interrupted.metrics.count, 0)
        assertSameBytes(resumed.modelPath, straight.modelPath)
        XCTAssertEqual(untimed(resumed.metrics), untimed(straight.metrics))
    }

    func testResumeOfAFinishedRunChangesNothing() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        let c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 1)
        let first = try train(c)
        let model = fileBytes(first.modelPath)
        let again = try Trainer(configuration: c, resume: c.out).run()
        XCTAssertEqual(untimed(again.metrics), untimed(first.metrics))
        XCTAssertTrue(fileBytes(again.modelPath) == model, "model.safetensors is unchanged")
    }

    /// Every setting survives config.json, which is what a resumed run trains with, including a seed past 2^53
    /// (where a detour through Double would lose digits) and rates with no short binary form.
    func testConfigJSONGivesBackEverySetting() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"), arch: "conv4k3p1-bn-relu-pool2-fc10", lr: 0.1)
        c.seed = .max - 2
        c.momentum = 0.3; c.nesterov = true; c.weightDecay = 1e-4; c.schedule = .step; c.stepEpochs = 3; c.stepGamma = 0.7
        c.warmupSteps = 7; c.initialization = "he"; c.limit = 200; c.mean = 0.2; c.std = 0.35; c.checkpointEvery = 4
        _ = try Trainer(configuration: c)
        XCTAssertEqual(try Trainer.readConfiguration(directory: c.out), c)
        var d = c
        d.out = out.file("run2"); d.seed = (1 << 53) + 1; d.limit = nil; d.checkpointEvery = nil; d.nesterov = false
        _ = try Trainer(configuration: d)
        XCTAssertEqual(try Trainer.readConfiguration(directory: d.out), d)
        let text = String(decoding: fileBytes(d.out + "/config.json"), as: UTF8.self)
        // Written as an integer, not through Double (JSONEncoder's pretty form puts a space before the colon).
        XCTAssertNotNil(text.range(of: #""seed" ?: 9007199254740993\b"#, options: .regularExpression), text)
    }

    func testResumeWithoutConfigThrowsAndWithoutACheckpointStartsOver() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        // Not a run directory at all.
        assertThrows(try Trainer(configuration: TrainingConfiguration(), resume: out.path), as: RunError.self,
                     mentions: [out.path, "config.json"]) {
            guard case .badRunDirectory = $0 else { return XCTFail("got \($0)") }
        }
        // A run directory with config.json but no checkpoint yet (killed before any was written): it starts again
        // from the beginning, and ends where an uninterrupted run ends.
        let c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 1)
        _ = try Trainer(configuration: c)
        // Killed between the first checkpoint's state file and its model file: the same.
        try SafeTensorsFile(tensors: [], metadata: ["epoch": "0"]).write(to: c.out + "/checkpoints/step-00000003.state.safetensors")
        let restarted = try Trainer(configuration: c, resume: c.out).run()
        let straight = try train(smallConfiguration(data: data.path, out: out.file("straight"), epochs: 1))
        assertSameBytes(restarted.modelPath, straight.modelPath)
        // Checkpoints there, but none that loads: that is an error, not a fresh start.
        let broken = smallConfiguration(data: data.path, out: out.file("broken"), epochs: 1)
        _ = try Trainer(configuration: broken)
        XCTAssertTrue(FileManager.default.createFile(atPath: broken.out + "/checkpoints/epoch-0001.safetensors", contents: Data("junk".utf8)))
        XCTAssertTrue(FileManager.default.createFile(atPath: broken.out + "/checkpoints/epoch-0001.state.safetensors", contents: Data("junk".utf8)))
        assertThrows(try Trainer(configuration: broken, resume: broken.out), as: RunError.self, mentions: [broken.out]) {
            XCTAssertEqual($0, .nothingToResume(broken.out))
        }
    }

    // MARK: Failures

    func testHugeLearningRateDiverges() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 3, lr: 1e6)
        c.warmupSteps = 0
        c.schedule = .constant
        assertThrows(try train(c), as: RunError.self, mentions: ["diverged", "--lr"]) {
            guard case let .diverged(epoch, step, lr, _) = $0 else { return XCTFail("got \($0)") }
            print("  lr 1e6 diverged at epoch \(epoch), step \(step)")
            XCTAssertEqual(lr, 1e6)
            XCTAssertGreaterThan(step, 0)
        }
    }

    func testInvalidConfigurationThrowsBeforeWritingAnything() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"), lr: 0)
        c.batchSize = 0
        assertThrows(try Trainer(configuration: c), as: RunError.self, mentions: ["--lr", "--batch-size"]) {
            guard case let .invalidConfiguration(problems) = $0 else { return XCTFail("got \($0)") }
            XCTAssertEqual(problems.count, 2)
        }
        // An architecture that does not fit 12×12 images.
        let tooBig = smallConfiguration(data: data.path, out: out.file("run"), arch: "conv4k13-fc10")
        assertThrows(try Trainer(configuration: tooBig), as: ArchitectureError.self, mentions: ["conv4k13", "1×12×12"])
        // Missing data.
        let noData = smallConfiguration(data: out.file("no-such-data"), out: out.file("run"))
        assertThrows(try Trainer(configuration: noData), as: IDXError.self, mentions: ["no-such-data"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("run")), "nothing written")
    }

    func testTrainAndTestImagesOfDifferentSizesAreRefused() throws {
        let data = try TemporaryDirectory("TrainerTests-data"), out = try TemporaryDirectory("TrainerTests-run")
        try writeDataset(train: .synthetic(count: 64, rows: 12, columns: 12), test: .synthetic(count: 10, rows: 14, columns: 14), to: data.path)
        assertThrows(try Trainer(configuration: smallConfiguration(data: data.path, out: out.file("run"))), as: RunError.self,
                     mentions: [data.path, "12×12", "14×14"]) {
            guard case .badData = $0 else { return XCTFail("got \($0)") }
        }
    }

    func testUnwritableOutputDirectory() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        // A regular file where a directory should be.
        XCTAssertTrue(FileManager.default.createFile(atPath: out.file("file"), contents: Data()))
        let c = smallConfiguration(data: data.path, out: out.file("file/run"))
        assertThrows(try Trainer(configuration: c), as: RunError.self, mentions: [out.file("file/run")]) {
            guard case .cannotWrite = $0 else { return XCTFail("got \($0)") }
        }
    }

    func testTargetAccuracyStopsEarlyAndLimitCutsTheTrainingSet() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 10)
        c.limit = 160
        c.validation = 32
        let trainer = try Trainer(configuration: c)
        XCTAssertEqual(trainer.train.count, 128)
        XCTAssertEqual(trainer.validation?.count, 32)
        XCTAssertEqual(trainer.test.count, 100)
        XCTAssertEqual(trainer.stepsPerEpoch, 4)
        trainer.targetAccuracy = 0.5
        var reached: Double?
        trainer.onEvent = { if case let .targetReached(accuracy, _) = $0 { reached = accuracy } }
        let summary = try trainer.run()
        let last = try XCTUnwrap(summary.metrics.last)
        XCTAssertLessThan(summary.metrics.count, 10, "stopped before the last epoch")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(last.valAccuracy), 0.5)
        XCTAssertTrue(summary.metrics.dropLast().allSatisfy { ($0.valAccuracy ?? 1) < 0.5 })
        XCTAssertEqual(reached, last.valAccuracy)
        XCTAssertEqual(last.step, 4 * summary.metrics.count)
        XCTAssertTrue(FileManager.default.fileExists(atPath: summary.modelPath))
    }

    /// The test set never decides when a run stops: a target without validation images is refused before the
    /// first step, with nothing trained.
    func testTargetAccuracyWithoutValidationIsRefused() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("TrainerTests-run")
        let c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 2)
        let trainer = try Trainer(configuration: c)
        trainer.targetAccuracy = 0.5
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue((error as? RunError)?.errorDescription?.contains("--target-accuracy: needs") == true, "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.out + "/checkpoints/epoch-0001.safetensors"))
    }
}
