//  EnsembleTests.swift
//
//  cnn-eval with several checkpoints and with --tta, against averaging by hand: three tiny models (two
//  architectures, one with a validation split so that its run directory stands for model-best) are trained on
//  synthetic digits; the test computes each model's own softmax probabilities with Inference (and, for --tta,
//  on images it shifts itself in uint8), averages them and checks the tool's per-image predictions, its
//  accuracies and its --json against that. Members that do not fit together are refused with one line.

import ArgumentParser
import CLI
import CNN
import Foundation
import IDX
import Training
import XCTest

final class EnsembleTests: XCTestCase {
    typealias Fixture = (dir: TemporaryDirectory, data: String, arguments: [String], paths: [String])
    static var trained: Fixture?

    /// After the suite's last test: releases the members' directory, which removes it.
    override class func tearDown() { trained = nil }

    /// Trains the three members once for the whole suite: the data directory, the members as given to
    /// cnn-eval, and the files they stand for.
    func members() throws -> Fixture {
        if let f = Self.trained { return f }
        let dir = try TemporaryDirectory("EnsembleTests")
        let data = dir.file("data")
        try writeSyntheticDataset(to: data, trainCount: 128, testCount: 100)
        let runs: [(String, [String])] = [
            ("a", ["--arch", "conv4k3p1-bn-relu-pool2-fc10", "--seed", "1"]),
            ("b", ["--arch", "conv4k3p1-bn-relu-pool2-fc10", "--seed", "2", "--validation", "32"]),
            ("c", ["--arch", "conv3k5p2-relu-pool2-fc10", "--seed", "3", "--lr", "0.02"]),
        ]
        for (name, flags) in runs {
            let train = try TrainCommand.parse(["--data", data, "--out", dir.file(name), "--epochs", "1", "--batch-size", "32",
                                                 "--warmup-steps", "0", "--threads", "2", "--quiet"] + flags)
            _ = try capturingStandardOutput { try train.run() }
        }
        // a and b by run directory (b's stands for its model-best, chosen on its validation split), c by file.
        let f = (dir, data, [dir.file("a"), dir.file("b"), dir.file("c") + "/model.safetensors"],
                 [dir.file("a") + "/model.safetensors", dir.file("b") + "/model-best.safetensors", dir.file("c") + "/model.safetensors"])
        Self.trained = f
        return f
    }

    /// The test images moved `dx` right and `dy` down in uint8, 0 where uncovered, as LabeledImages.
    func shiftedImages(_ raw: LabeledImages, dx: Int, dy: Int) throws -> LabeledImages {
        var pixels = [UInt8](repeating: 0, count: raw.pixels.count)
        for n in 0..<raw.count {
            for r in 0..<raw.rows {
                for c in 0..<raw.columns {
                    let (sr, sc) = (r - dy, c - dx)
                    if sr >= 0, sr < raw.rows, sc >= 0, sc < raw.columns {
                        pixels[(n * raw.rows + r) * raw.columns + c] = raw.pixels[(n * raw.rows + sr) * raw.columns + sc]
                    }
                }
            }
        }
        return try LabeledImages(images: IDXArray(dimensions: [raw.count, raw.rows, raw.columns], bytes: pixels),
                                 labels: IDXArray(dimensions: [raw.count], bytes: raw.labels))
    }

    /// By hand: each model's own probabilities (Inference, over the given views of the images, each view
    /// normalised with the model's mean and std), averaged over the views, then over the models.
    func averagedByHand(_ paths: [String], views: [(dx: Int, dy: Int)], data: String)
        throws -> (members: [[[Double]]], mean: [[Double]]) {
        let raw = try LabeledImages.load(directory: data, split: .test)
        var members: [[[Double]]] = []
        for path in paths {
            let model = try Checkpoint.read(contentsOf: path)
            var sum = Array(repeating: [Double](repeating: 0, count: 10), count: raw.count)
            for v in views {
                let images = Dataset(try shiftedImages(raw, dx: v.dx, dy: v.dy), mean: model.input.mean, std: model.input.std)
                let p = Inference.probabilities(network: model.network, images: images.images, count: images.count,
                                                input: model.input, batchSize: 1000)
                for n in 0..<raw.count { for k in 0..<10 { sum[n][k] += p[n][k] } }
            }
            members.append(sum.map { $0.map { $0 * (1 / Double(views.count)) } })
        }
        let mean = (0..<raw.count).map { n in
            (0..<10).map { k in members.reduce(0) { $0 + $1[n][k] } * (1 / Double(members.count)) }
        }
        return (members, mean)
    }

    func argmax(_ row: [Double]) -> Int { row.indices.reduce(0) { row[$1] > row[$0] ? $1 : $0 } }

    func accuracy(_ probabilities: [[Double]], labels: [UInt8]) -> Double {
        Double(zip(probabilities, labels).filter { argmax($0) == Int($1) }.count) / Double(labels.count)
    }

    /// Checks the tool's evaluation `e` against the hand-made averages.
    func check(_ e: Ensemble.Evaluation, against hand: (members: [[[Double]]], mean: [[Double]]), paths: [String],
               labels: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(e.members.map(\.path), paths, file: file, line: line)
        for (m, mine) in zip(e.members, hand.members) {
            XCTAssertEqual(m.result.accuracy, accuracy(mine, labels: labels), "member \(m.path)", file: file, line: line)
        }
        let flat = hand.mean.flatMap { $0 }
        XCTAssertEqual(e.probabilities.count, flat.count, file: file, line: line)
        let largest = zip(e.probabilities, flat).map { abs($0 - $1) }.max() ?? .nan
        XCTAssertLessThan(largest, 1e-12, "largest difference of the averaged probabilities", file: file, line: line)
        XCTAssertEqual(e.predictions, hand.mean.map(argmax), "per-image predictions", file: file, line: line)
        XCTAssertEqual(e.ensemble.accuracy, accuracy(hand.mean, labels: labels), file: file, line: line)
        let loss = zip(hand.mean, labels).map { -log($0[Int($1)]) }.reduce(0, +) / Double(labels.count)
        XCTAssertEqual(e.ensemble.loss, loss, accuracy: 1e-9, file: file, line: line)
    }

    func testTheEnsembleIsTheAverageOfTheMembersProbabilities() throws {
        let f = try members()
        let labels = try LabeledImages.load(directory: f.data, split: .test).labels
        let hand = try averagedByHand(f.paths, views: [(0, 0)], data: f.data)
        let memberAccuracies = hand.members.map { accuracy($0, labels: labels) }
        print("  members \(memberAccuracies), ensemble \(accuracy(hand.mean, labels: labels))")
        let command = try EvalCommand.parse(f.arguments + ["--data", f.data, "--threads", "2"])
        XCTAssertTrue(command.isEnsemble)
        let e = try command.evaluateEnsemble()
        check(e, against: hand, paths: f.paths, labels: labels)
        XCTAssertEqual(e.shifts, [.none])
        // The averaging matters here: the ensemble disagrees with some member on some image.
        XCTAssertTrue(hand.members.contains { $0.map(argmax) != hand.mean.map(argmax) }, "a member and the ensemble differ")

        // Each member alone, as cnn-eval evaluates one checkpoint, has the accuracy the ensemble reports for it.
        for (m, path) in zip(e.members, f.paths) {
            XCTAssertEqual(try EvalCommand.parse([path, "--data", f.data, "--threads", "2"]).evaluate().correct, m.result.correct)
        }

        // --json: the ensemble's figures at the top and the ensemble object with each member.
        let output = try capturingStandardOutput { try EvalCommand.parse(f.arguments + ["--data", f.data, "--json", "--threads", "2"]).run() }
        XCTAssertEqual(output.split(separator: "\n").count, 1)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        XCTAssertNil(json["checkpoint"])
        XCTAssertEqual((json["accuracy"] as? NSNumber)?.doubleValue, e.ensemble.accuracy)
        XCTAssertEqual((json["correct"] as? NSNumber)?.intValue, e.ensemble.correct)
        XCTAssertEqual((json["confusion_matrix"] as? [[NSNumber]])?.map { $0.map(\.intValue) }, e.ensemble.confusion)
        let ensemble = try XCTUnwrap(json["ensemble"] as? [String: Any])
        XCTAssertEqual(ensemble["size"] as? Int, 3)
        XCTAssertEqual(ensemble["tta"] as? Bool, false)
        XCTAssertEqual(ensemble["shifts"] as? [[Int]], [[0, 0]])
        XCTAssertEqual((ensemble["accuracy"] as? NSNumber)?.doubleValue, accuracy(hand.mean, labels: labels))
        let members = try XCTUnwrap(ensemble["members"] as? [[String: Any]])
        XCTAssertEqual(members.compactMap { $0["checkpoint"] as? String }, f.paths)
        XCTAssertEqual(members.compactMap { ($0["accuracy"] as? NSNumber)?.doubleValue }, memberAccuracies)

        // One checkpoint without --tta keeps the single-model report, with no ensemble object.
        let single = try capturingStandardOutput { try EvalCommand.parse([f.paths[0], "--data", f.data, "--json"]).run() }
        let singleJSON = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(single.utf8)) as? [String: Any])
        XCTAssertNil(singleJSON["ensemble"])
        XCTAssertEqual(singleJSON["checkpoint"] as? String, f.paths[0])

        // The text report: a line per member, then the ensemble.
        let text = try capturingStandardOutput { try EvalCommand.parse(f.arguments + ["--data", f.data]).run() }
        for path in f.paths { XCTAssertTrue(text.contains(path), text) }
        let ensembleLine = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("ensemble of 3") }, text)
        XCTAssertTrue(ensembleLine.contains(String(format: "%.2f%%", e.ensemble.accuracy * 100)), text)
        XCTAssertTrue(text.contains(String(format: "accuracy %.2f%% (%d/%d)", e.ensemble.accuracy * 100, e.ensemble.correct, e.ensemble.total)), text)
    }

    func testTTAAveragesOverTheImageAndItsFourOnePixelShifts() throws {
        let f = try members()
        let labels = try LabeledImages.load(directory: f.data, split: .test).labels
        let views = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)].map { (dx: $0.0, dy: $0.1) }
        XCTAssertEqual(Ensemble.ttaShifts, views.map { Ensemble.Shift(dx: $0.dx, dy: $0.dy) })

        // Two members with --tta, and one member alone with --tta.
        let hand = try averagedByHand(Array(f.paths.prefix(2)), views: views, data: f.data)
        let e = try EvalCommand.parse(Array(f.arguments.prefix(2)) + ["--data", f.data, "--tta", "--threads", "2"]).evaluateEnsemble()
        check(e, against: hand, paths: Array(f.paths.prefix(2)), labels: labels)
        XCTAssertEqual(e.shifts.count, 5)
        // The text report names the ensemble in full, its accuracy in the same column as the members'.
        // Members given by short relative paths, so the ensemble's name is the widest in the column.
        let home = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(f.dir.path))
        defer { FileManager.default.changeCurrentDirectoryPath(home) }
        let report = try capturingStandardOutput {
            try EvalCommand.parse(["a", "b", "--data", f.data, "--tta", "--threads", "2"]).run()
        }
        let lines = report.split(separator: "\n")
        let ensembleLine = try XCTUnwrap(lines.first { $0.hasPrefix("ensemble of 2, 5 views each (--tta)  ") }, lines.joined(separator: "\n"))
        XCTAssertEqual(ensembleLine.firstIndex(of: "%").map { ensembleLine.distance(from: ensembleLine.startIndex, to: $0) },
                       lines[1].firstIndex(of: "%").map { lines[1].distance(from: lines[1].startIndex, to: $0) })
        let plain = try averagedByHand([f.paths[0]], views: [(0, 0)], data: f.data)
        XCTAssertNotEqual(hand.members[0].flatMap { $0 }, plain.members[0].flatMap { $0 }, "the views change the probabilities")

        let one = try averagedByHand([f.paths[0]], views: views, data: f.data)
        let command = try EvalCommand.parse([f.arguments[0], "--data", f.data, "--tta", "--threads", "2"])
        XCTAssertTrue(command.isEnsemble)
        check(try command.evaluateEnsemble(), against: one, paths: [f.paths[0]], labels: labels)
        let output = try capturingStandardOutput { try EvalCommand.parse([f.arguments[0], "--data", f.data, "--tta", "--json"]).run() }
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let ensemble = try XCTUnwrap(json["ensemble"] as? [String: Any])
        XCTAssertEqual(ensemble["tta"] as? Bool, true)
        XCTAssertEqual(ensemble["shifts"] as? [[Int]], [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])
        XCTAssertEqual((json["accuracy"] as? NSNumber)?.doubleValue, accuracy(one.mean, labels: labels))
    }

    func testShiftedMovesRightAndDownAndFillsTheBackground() {
        // One 3×4 plane: values 1…12 row by row.
        let x = Tensor<Float>(shape: [1, 1, 3, 4], scalars: (1...12).map(Float.init))
        XCTAssertEqual(Ensemble.shifted(x, by: Ensemble.Shift(dx: 1, dy: 0), background: -1).scalars,
                       [-1, 1, 2, 3, -1, 5, 6, 7, -1, 9, 10, 11])
        XCTAssertEqual(Ensemble.shifted(x, by: Ensemble.Shift(dx: 0, dy: -1), background: -1).scalars,
                       [5, 6, 7, 8, 9, 10, 11, 12, -1, -1, -1, -1])
        XCTAssertEqual(Ensemble.shifted(x, by: Ensemble.Shift(dx: 5, dy: 0), background: 0).scalars, [Float](repeating: 0, count: 12))
        XCTAssertEqual(Ensemble.shifted(x, by: .none, background: 0).scalars, x.scalars)
    }

    func testMembersThatDoNotFitTogetherAreRefusedNamingTheFile() throws {
        let f = try members()
        let dir = try TemporaryDirectory()
        var generator = RandomGenerator(seed: 1)
        // A member for 14×14 images and one with 5 classes, both beside a 12×12, 10-class member.
        let input14 = InputDescriptor(channels: 1, height: 14, width: 14, mean: 0.1307, std: 0.3081)
        let small = dir.file("fourteen.safetensors")
        try Checkpoint(network: Sequential(specs: try Architecture.resolve("conv2k3-relu-fc10", input: input14), generator: &generator),
                       input: input14).write(to: small)
        let input12 = try Checkpoint.read(contentsOf: f.paths[0]).input
        let five = dir.file("five.safetensors")
        try Checkpoint(network: Sequential(specs: try Architecture.resolve("conv2k3-relu-fc5", input: input12, classes: 5), generator: &generator),
                       input: input12).write(to: five)
        // Two members with class names that differ; the first named, the second not, is fine.
        func named(_ path: String, _ names: [String], as file: String) throws -> String {
            var model = try Checkpoint.read(contentsOf: path)
            model.metadata[ClassNames.metadataKey] = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
            try model.write(to: dir.file(file))
            return dir.file(file)
        }
        let letters = try named(f.paths[0], (0..<10).map { "class \($0)" }, as: "letters.safetensors")
        let others = try named(f.paths[1], (0..<10).map { "other \($0)" }, as: "others.safetensors")
        XCTAssertEqual(try EvalCommand.parse([letters, f.paths[1], "--data", f.data]).evaluateEnsemble().classNames?.first, "class 0")
        for (other, words) in [(small, ["14×14", "12×12"]), (five, ["5 class", "10"]), (others, ["other 0", "class 0"])] {
            let first = other == others ? letters : f.paths[0]
            let command = try EvalCommand.parse([first, other, "--data", f.data])
            XCTAssertThrowsError(try command.evaluateEnsemble()) { error in
                let message = (error as? LocalizedError)?.errorDescription ?? ""
                print("  \(message)")
                XCTAssertTrue(message.hasPrefix(other + ":"), message)
                XCTAssertFalse(message.contains("\n"))
                for w in words { XCTAssertTrue(message.contains(w), message) }
                XCTAssertEqual(ExitStatus.of(error), .dataError)
            }
            XCTAssertThrowsError(try command.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 65) }
        }
        // A missing member is named, with status 66; --logits takes one checkpoint.
        let missing = try EvalCommand.parse([f.paths[0], dir.file("none.safetensors"), "--data", f.data])
        XCTAssertThrowsError(try missing.run()) { XCTAssertEqual(($0 as? ExitCode)?.rawValue, 66) }
        assertParseFails(EvalCommand.self, [f.paths[0], f.paths[1], "--logits", dir.file("z.bin")], mentions: ["--logits"])
        assertParseFails(EvalCommand.self, [f.paths[0], "--tta", "--logits", dir.file("z.bin")], mentions: ["--logits"])
        // --verify checks every member.
        let verified = try capturingStandardOutput { try EvalCommand.parse(f.arguments + ["--verify"]).run() }
        for path in f.paths { XCTAssertTrue(verified.contains(path + ": ok"), verified) }
    }
}
