//  TrainCommandTests.swift
//
//  cnn-train's flags, parsed and validated in-process: the defaults, every flag's way into
//  TrainingConfiguration, the values validation refuses (with a message naming the flag), and the help text.

import ArgumentParser
import CLI
import Foundation
import Training
import XCTest

final class TrainCommandTests: XCTestCase {
    func testDefaults() throws {
        let command = try TrainCommand.parse([])
        let c = command.trainingConfiguration
        var expected = TrainingConfiguration()
        expected.threads = ProcessInfo.processInfo.activeProcessorCount
        expected.out = c.out
        XCTAssertEqual(c, expected)
        XCTAssertEqual(c.data, "Data")
        XCTAssertEqual(c.arch, "default")
        XCTAssertEqual(c.epochs, 3)
        XCTAssertEqual(c.batchSize, 64)
        XCTAssertEqual(c.lr, 0.05)
        XCTAssertEqual(c.momentum, 0.9)
        XCTAssertFalse(c.nesterov)
        XCTAssertEqual(c.weightDecay, 5e-4)
        XCTAssertEqual(c.schedule, .cosine)
        XCTAssertEqual(c.stepEpochs, 1)
        XCTAssertEqual(c.stepGamma, 0.5)
        XCTAssertEqual(c.warmupSteps, 100)
        XCTAssertEqual(c.initialization, "pytorch")
        XCTAssertEqual(c.seed, 1)
        XCTAssertNil(c.limit)
        XCTAssertNil(c.checkpointEvery)
        XCTAssertTrue(c.out.hasPrefix("runs/"), c.out)
        XCTAssertEqual(c.out.count, "runs/yyyyMMdd-HHmmss".count, c.out)
        XCTAssertNil(command.resume)
        XCTAssertNil(command.targetAccuracy)
        XCTAssertFalse(command.quiet)
        XCTAssertEqual(command.logFormat, .text)
    }

    func testEveryFlagMapsIntoTheConfiguration() throws {
        let command = try TrainCommand.parse([
            "--data", "/tmp/mnist", "--arch", "lenet5", "--epochs", "7", "--batch-size", "128", "--lr", "0.2",
            "--momentum", "0.5", "--nesterov", "--weight-decay", "0.001", "--schedule", "step", "--step-epochs", "3",
            "--step-gamma", "0.25", "--warmup-steps", "0", "--init", "he", "--seed", "18446744073709551615",
            "--threads", "3", "--limit", "5000", "--out", "runs/mine", "--checkpoint-every", "250",
            "--target-accuracy", "0.99", "--validation", "1000", "--quiet", "--log-format", "json",
        ])
        var expected = TrainingConfiguration()
        expected.data = "/tmp/mnist"; expected.arch = "lenet5"; expected.epochs = 7; expected.batchSize = 128
        expected.lr = 0.2; expected.momentum = 0.5; expected.nesterov = true; expected.weightDecay = 0.001
        expected.schedule = .step; expected.stepEpochs = 3; expected.stepGamma = 0.25; expected.warmupSteps = 0
        expected.initialization = "he"; expected.seed = .max; expected.threads = 3; expected.limit = 5000
        expected.out = "runs/mine"; expected.checkpointEvery = 250; expected.validation = 1000
        XCTAssertEqual(command.trainingConfiguration, expected)
        XCTAssertEqual(command.targetAccuracy, 0.99)
        XCTAssertTrue(command.quiet)
        XCTAssertEqual(command.logFormat, .json)
        XCTAssertEqual(command.trainingConfiguration.learningRateSchedule, .step(epochs: 3, gamma: 0.25))

        let resume = try TrainCommand.parse(["--resume", "runs/old", "--lr=0.01", "--arch", "conv8k3-fc10"])
        XCTAssertEqual(resume.resume, "runs/old")
        XCTAssertEqual(resume.trainingConfiguration.lr, 0.01)
        XCTAssertEqual(resume.trainingConfiguration.arch, "conv8k3-fc10")
        for schedule in ScheduleName.allCases {
            XCTAssertEqual(try TrainCommand.parse(["--schedule", schedule.rawValue]).trainingConfiguration.schedule, schedule)
        }
        XCTAssertEqual(try TrainCommand.parse(["--schedule", "constant"]).trainingConfiguration.learningRateSchedule, .constant)
        XCTAssertEqual(try TrainCommand.parse(["--momentum", "0"]).trainingConfiguration.momentum, 0)
        // Presets and specs are accepted in any case.
        XCTAssertNoThrow(try TrainCommand.parse(["--arch", "CS231N"]))
    }

    func testValidationRejectsBadLearningRates() {
        for value in ["0", "-1", "nan", "inf", "-inf"] {
            assertParseFails(TrainCommand.self, ["--lr=\(value)"], mentions: ["--lr"])
        }
        assertParseFails(TrainCommand.self, ["--lr", "fast"], mentions: ["--lr", "fast"])
    }

    func testValidationRejectsBadSizesAndCounts() {
        assertParseFails(TrainCommand.self, ["--batch-size", "0"], mentions: ["--batch-size", "0"])
        assertParseFails(TrainCommand.self, ["--epochs", "0"], mentions: ["--epochs", "0"])
        assertParseFails(TrainCommand.self, ["--epochs=-1"], mentions: ["--epochs", "-1"])
        assertParseFails(TrainCommand.self, ["--epochs", "2.5"], mentions: ["--epochs"])
        assertParseFails(TrainCommand.self, ["--threads", "0"], mentions: ["--threads", "0"])
        assertParseFails(TrainCommand.self, ["--threads", "1000"], mentions: ["--threads"])
        assertParseFails(TrainCommand.self, ["--limit", "0"], mentions: ["--limit"])
        assertParseFails(TrainCommand.self, ["--checkpoint-every", "0"], mentions: ["--checkpoint-every"])
        assertParseFails(TrainCommand.self, ["--log-every", "0"], mentions: ["--log-every", "at least 1"])
        assertParseFails(TrainCommand.self, ["--log-every", "-3"], mentions: ["--log-every"])
        XCTAssertEqual(try TrainCommand.parse(["--log-every", "50"]).trainingConfiguration.logEvery, 50)
    }

    /// --classes FILE is read and checked before anything runs: as many names as classes, one line naming the file.
    func testClassesFileIsCheckedUpFront() throws {
        let dir = try TemporaryDirectory()
        let names = (0..<10).map { "class \($0)" }
        let good = dir.file("names.txt"), short = dir.file("nine.txt")
        try Data((names.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: good))
        try Data(names.dropLast().joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: short))
        XCTAssertEqual(try TrainCommand.parse(["--classes", good]).trainingConfiguration.classNames, names)
        XCTAssertNil(try TrainCommand.parse([]).trainingConfiguration.classNames)
        let message = assertParseFails(TrainCommand.self, ["--classes", short], mentions: ["--classes", short, "9 names", "10 classes"])
        XCTAssertFalse(message?.contains("\n") ?? true)
        assertParseFails(TrainCommand.self, ["--classes", dir.file("none.txt")], mentions: [dir.file("none.txt"), "no such file"])
        XCTAssertTrue(TrainCommand.helpMessage(columns: 120).contains("--classes"))
        assertParseFails(TrainCommand.self, ["--warmup-steps=-5"], mentions: ["--warmup-steps"])
        assertParseFails(TrainCommand.self, ["--step-epochs", "0"], mentions: ["--step-epochs"])
        assertParseFails(TrainCommand.self, ["--step-gamma", "0"], mentions: ["--step-gamma"])
        assertParseFails(TrainCommand.self, ["--seed=-1"], mentions: ["--seed"])
    }

    func testValidationRejectsBadOptimizerSettings() {
        assertParseFails(TrainCommand.self, ["--nesterov", "--momentum", "0"], mentions: ["--nesterov", "--momentum"])
        assertParseFails(TrainCommand.self, ["--momentum", "1"], mentions: ["--momentum"])
        assertParseFails(TrainCommand.self, ["--momentum=-0.1"], mentions: ["--momentum"])
        assertParseFails(TrainCommand.self, ["--weight-decay=-1"], mentions: ["--weight-decay"])
        assertParseFails(TrainCommand.self, ["--target-accuracy", "1.5"], mentions: ["--target-accuracy", "1.5"])
        assertParseFails(TrainCommand.self, ["--target-accuracy", "0"], mentions: ["--target-accuracy"])
        assertParseFails(TrainCommand.self, ["--target-accuracy", "0.99"], mentions: ["--target-accuracy", "--validation"])
        assertParseFails(TrainCommand.self, ["--init", "xavier"], mentions: ["--init", "xavier", "pytorch", "he"])
    }

    func testValidationRejectsUnknownChoices() {
        assertParseFails(TrainCommand.self, ["--schedule", "linear"], mentions: ["--schedule", "linear"])
        assertParseFails(TrainCommand.self, ["--log-format", "xml"], mentions: ["--log-format", "xml"])
        assertParseFails(TrainCommand.self, ["--frobnicate"], mentions: ["--frobnicate"])
    }

    func testValidationRejectsUnknownPresetsAndMalformedSpecs() {
        assertParseFails(TrainCommand.self, ["--arch", "resnet50"], mentions: ["--arch", "resnet50", "cs231n", "lenet5"])
        assertParseFails(TrainCommand.self, ["--arch", "conv32-relu-fc10"], mentions: ["--arch", "'conv32'"])
        assertParseFails(TrainCommand.self, ["--arch", "conv0k3-fc10"], mentions: ["--arch", "'conv0k3'"])
        assertParseFails(TrainCommand.self, ["--arch", "drop1.5-fc10"], mentions: ["--arch", "'drop1.5'"])
        assertParseFails(TrainCommand.self, ["--arch", ""], mentions: ["--arch", "empty"])
        // Shape errors depend on the data's image size, so they are left to the run.
        XCTAssertNoThrow(try TrainCommand.parse(["--arch", "conv8k3-fc7"]))
        XCTAssertNoThrow(try TrainCommand.parse(["--arch", "conv8k29-fc10"]))
        // With --resume the architecture comes from the run directory.
        XCTAssertNoThrow(try TrainCommand.parse(["--resume", "runs/x", "--arch", "nonsense"]))
    }

    func testHelpMentionsEveryFlagAndThePresets() {
        let help = TrainCommand.helpMessage(columns: 120)
        for flag in ["--data", "--arch", "--epochs", "--batch-size", "--lr", "--momentum", "--nesterov", "--weight-decay",
                     "--schedule", "--step-epochs", "--step-gamma", "--warmup-steps", "--init", "--seed", "--threads",
                     "--limit", "--out", "--checkpoint-every", "--log-every", "--resume", "--target-accuracy", "--quiet", "--log-format",
                     "--help"] {
            XCTAssertTrue(help.contains(flag + " ") || help.contains(flag + "\n") || help.contains(flag + ","), "help mentions \(flag)")
        }
        for preset in Architecture.presets {
            XCTAssertTrue(help.contains(preset.name), "help mentions the preset \(preset.name)")
        }
        for schedule in ScheduleName.allCases { XCTAssertTrue(help.contains(schedule.rawValue)) }
        XCTAssertTrue(help.contains("cnn-train"))
    }

    func testRunReportsErrorsWithTheDocumentedExitStatus() throws {
        let dir = try TemporaryDirectory()
        // No data directory: 66.
        let missing = try TrainCommand.parse(["--data", dir.file("nowhere"), "--out", dir.file("run"), "--quiet"])
        XCTAssertThrowsError(try missing.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 66) }
        // The output directory cannot be made: 73.
        try writeSyntheticDataset(to: dir.file("data"), trainCount: 20, testCount: 10)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.file("file"), contents: Data()))
        let unwritable = try TrainCommand.parse(["--data", dir.file("data"), "--out", dir.file("file/run"), "--quiet",
                                                 "--arch", "fc10"])
        XCTAssertThrowsError(try unwritable.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 73) }
        // An architecture that does not fit 12×12 images: a usage error, 64.
        let tooBig = try TrainCommand.parse(["--data", dir.file("data"), "--out", dir.file("run"), "--quiet", "--arch", "conv4k13-fc10"])
        XCTAssertThrowsError(try tooBig.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 64) }
        // Divergence: 70.
        let diverging = try TrainCommand.parse(["--data", dir.file("data"), "--out", dir.file("run"), "--quiet", "--arch", "fc10",
                                                "--lr", "1e30", "--warmup-steps", "0", "--epochs", "3", "--threads", "2"])
        XCTAssertThrowsError(try diverging.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 70) }
        // Resuming a directory that is not a run: 66.
        let resume = try TrainCommand.parse(["--resume", dir.file("data"), "--quiet"])
        XCTAssertThrowsError(try resume.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 66) }
    }
}
