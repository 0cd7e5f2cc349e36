//  RecipeFlagTests.swift
//
//  cnn-train's recipe and optimizer flags, parsed in-process: a recipe's settings, flags overriding them, an
//  optimizer's own defaults, --list-recipes, the values refused, and the warnings for flags --resume ignores.

import ArgumentParser
import CLI
import CNN
import Foundation
import Training
import XCTest

final class RecipeFlagTests: XCTestCase {
    func testARecipeSetsItsSettingsAndFlagsOverrideThem() throws {
        let record = try XCTUnwrap(Recipe.named("record")).configuration
        let plain = try TrainCommand.parse(["--recipe", "record", "--out", "o"]).trainingConfiguration
        var expected = record
        expected.threads = ProcessInfo.processInfo.activeProcessorCount
        expected.out = "o"
        XCTAssertEqual(plain, expected)
        let overridden = try TrainCommand.parse(["--recipe", "record", "--epochs", "2", "--lr", "0.01", "--arch", "lenet5",
                                                 "--no-cycle-momentum", "--seed", "5"]).trainingConfiguration
        XCTAssertEqual(overridden.epochs, 2)
        XCTAssertEqual(overridden.lr, 0.01)
        XCTAssertEqual(overridden.arch, "lenet5")
        XCTAssertFalse(overridden.cycleMomentum)
        XCTAssertEqual(overridden.seed, 5)
        XCTAssertEqual(overridden.optimizer, record.optimizer, "what no flag names stays the recipe's")
        XCTAssertEqual(overridden.batchSize, record.batchSize)
        XCTAssertEqual(overridden.recipe, "record")
    }

    /// Another optimizer than the recipe's brings PyTorch's defaults for the rate and weight decay, unless given.
    func testAnOptimizerBringsItsOwnDefaults() throws {
        let adam = try TrainCommand.parse(["--optimizer", "adam"]).trainingConfiguration
        XCTAssertEqual(adam.optimizer, .adam)
        XCTAssertEqual(adam.lr, 1e-3)
        XCTAssertEqual(adam.weightDecay, 0)
        XCTAssertEqual(adam.momentum, 0.9, "β₁")
        let adamw = try TrainCommand.parse(["--optimizer", "adamw", "--lr", "0.004", "--beta2", "0.99", "--adam-eps", "1e-6"]).trainingConfiguration
        XCTAssertEqual(adamw.lr, 0.004)
        XCTAssertEqual(adamw.weightDecay, 0.01)
        XCTAssertEqual(adamw.beta2, 0.99)
        XCTAssertEqual(adamw.adamEpsilon, 1e-6)
        XCTAssertEqual(try TrainCommand.parse(["--optimizer", "sgd", "--out", "x"]).trainingConfiguration,
                       try TrainCommand.parse(["--out", "x"]).trainingConfiguration, "--optimizer sgd is the default")
        let cycle = try TrainCommand.parse(["--schedule", "onecycle", "--pct-start", "0.25", "--div-factor", "10", "--final-div-factor", "100"]).trainingConfiguration
        XCTAssertEqual(cycle.learningRateSchedule, .oneCycle(OneCycle(pctStart: 0.25, divFactor: 10, finalDivFactor: 100)))
    }

    func testBadRecipeAndOptimizerValuesAreRefused() {
        assertParseFails(TrainCommand.self, ["--recipe", "fastest"], mentions: ["--recipe", "default", "record"])
        assertParseFails(TrainCommand.self, ["--optimizer", "rmsprop"], mentions: ["--optimizer"])
        assertParseFails(TrainCommand.self, ["--optimizer", "adam", "--nesterov"], mentions: ["--nesterov"])
        assertParseFails(TrainCommand.self, ["--beta2", "1"], mentions: ["--beta2"])
        assertParseFails(TrainCommand.self, ["--adam-eps", "0"], mentions: ["--adam-eps"])
        assertParseFails(TrainCommand.self, ["--pct-start", "1"], mentions: ["--pct-start"])
        assertParseFails(TrainCommand.self, ["--div-factor", "0.5"], mentions: ["--div-factor"])
        assertParseFails(TrainCommand.self, ["--final-div-factor", "nan"], mentions: ["--final-div-factor"])
        assertParseFails(TrainCommand.self, ["--schedule", "linear"], mentions: ["--schedule"])
    }

    func testListRecipesPrintsEveryRecipe() throws {
        let command = try TrainCommand.parse(["--list-recipes"])
        let printed = try capturingStandardOutput { try command.run() }
        for recipe in Recipe.all { XCTAssertTrue(printed.contains(recipe.name + ": "), printed) }
        XCTAssertTrue(printed.contains("optimizer = \"adamw\""), printed)
        XCTAssertNoThrow(try TrainCommand.parse(["--list-recipes", "--lr", "0"]), "--list-recipes checks nothing else")
    }

    /// With --resume, every training flag but --epochs is ignored, and each gets a one-line warning.
    func testFlagsThatResumeIgnoresAreNamed() throws {
        XCTAssertEqual(try TrainCommand.parse(["--resume", "r", "--epochs", "9", "--threads", "1", "--quiet"]).ignoredByResume, [])
        let warnings = try TrainCommand.parse(["--resume", "r", "--recipe", "record", "--lr", "0.1", "--optimizer", "adam",
                                               "--seed", "3", "--out", "elsewhere"]).ignoredByResume
        XCTAssertEqual(warnings.count, 5, "\(warnings)")
        for flag in ["--recipe", "--lr", "--optimizer", "--seed", "--out"] {
            XCTAssertTrue(warnings.contains { $0.contains(flag + " is ignored with --resume") }, "\(flag): \(warnings)")
        }
        XCTAssertTrue(warnings.allSatisfy { !$0.contains("\n") && $0.hasPrefix("cnn-train: warning: ") })
        XCTAssertEqual(try TrainCommand.parse(["--lr", "0.1"]).ignoredByResume, [], "no warnings without --resume")
    }

    func testAugmentationFlagsReachTrainingAndTheBenchmark() throws {
        let c = try TrainCommand.parse(["--shift", "2", "--rotate", "10", "--scale", "0.1", "--elastic", "34,4"]).trainingConfiguration
        XCTAssertEqual(c.augmentation, Augmentation(shift: 2, rotate: 10, scale: 0.1, elasticAlpha: 34, elasticSigma: 4))
        XCTAssertTrue(try TrainCommand.parse([]).trainingConfiguration.augmentation.isIdentity, "no augmentation by default")
        XCTAssertEqual(try BenchCommand.parse(["--shift", "2", "--rotate", "10"]).augmentationOptions.augmentation(),
                       Augmentation(shift: 2, rotate: 10))
        assertParseFails(TrainCommand.self, ["--elastic", "34"], mentions: ["--elastic"])
        assertParseFails(TrainCommand.self, ["--elastic", "0,4"], mentions: ["--elastic"])
        assertParseFails(TrainCommand.self, ["--rotate", "-1"], mentions: ["--rotate"])
        assertParseFails(TrainCommand.self, ["--scale", "1"], mentions: ["--scale"])
        assertParseFails(BenchCommand.self, ["--shift", "nan"], mentions: ["--shift"])
        assertParseFails(TrainCommand.self, ["--validation", "-1"], mentions: ["--validation"])
        assertParseFails(TrainCommand.self, ["--label-smoothing", "1"], mentions: ["--label-smoothing"])
        assertParseFails(TrainCommand.self, ["--ema", "1"], mentions: ["--ema"])
    }
}
