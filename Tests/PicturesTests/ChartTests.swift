//  ChartTests.swift
//
//  The four pictures render without trapping for one and several runs, give PNGs that decode to the
//  expected size, and a few pixels say the right thing (the run colours are drawn, the heat map's darkest
//  cell holds the largest count, each filter tile spans black to white).

import CLI
import CNN
import IDX
import Images
@testable import Pictures
@testable import Training
import XCTest

final class ChartTests: XCTestCase {
    /// A run directory with `epochs` rows that improve like a real run.
    func makeRun(in dir: TemporaryDirectory, name: String, epochs: Int, quality: Double) throws -> String {
        let path = dir.file(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let log = MetricsLog(directory: path)
        try log.start()
        for e in 1...epochs {
            let t = Double(e)
            try log.append(EpochMetrics(epoch: e, step: e * 938, lr: 0.05, trainLoss: 0.5 / (t * quality), trainAccuracy: 1 - 0.06 / (t * quality),
                                        testLoss: 0.3 / (t * quality), testAccuracy: 1 - 0.03 / (t * quality),
                                        seconds: 30, elapsedSeconds: 30 * t, imagesPerSecond: 2000))
        }
        return path
    }

    func testCurvesForOneRun() throws {
        let dir = try TemporaryDirectory()
        let run = try makeRun(in: dir, name: "run-a", epochs: 1, quality: 1)
        let runs = try RunHistory.load(runDirectories: [run])
        XCTAssertEqual(runs.map(\.name), ["run-a"])
        let canvas = TrainingCurves.render(runs.map(CurveRun.init))
        _ = try roundTrip(canvas)
        XCTAssertEqual(canvas.width, 1200)
        XCTAssertGreaterThan(count(RGB.palette[0], in: canvas), 100, "the run's colour is drawn")
    }

    func testCurvesForSeveralRunsHaveOneColourEach() throws {
        let dir = try TemporaryDirectory()
        let paths = try (0..<4).map { try makeRun(in: dir, name: "run-\($0)", epochs: 3 + $0, quality: 1 + Double($0)) }
        let canvas = TrainingCurves.render(try RunHistory.load(runDirectories: paths).map(CurveRun.init), width: 900)
        _ = try roundTrip(canvas)
        for k in 0..<4 { XCTAssertGreaterThan(count(RGB.palette[k], in: canvas), 100, "run \(k)") }
        XCTAssertEqual(count(RGB.palette[4], in: canvas), 0)
    }

    /// A one-epoch run with steps.jsonl: the steps are read and placed at step / steps per epoch, and drawn as a
    /// line in the run's lightened colour that the same run without steps.jsonl does not have.
    func testCurvesDrawLoggedStepsUnderTheEpochPoints() throws {
        let dir = try TemporaryDirectory()
        let run = try makeRun(in: dir, name: "run-a", epochs: 1, quality: 1)
        let plain = TrainingCurves.render(try RunHistory.load(runDirectories: [run]).map(CurveRun.init))
        let steps = StepLog(directory: run)
        try steps.start()
        for k in 1...93 {
            let t = Double(k * 10) / 938
            try steps.append(StepMetrics(epoch: 1, step: k * 10, lr: 0.05, loss: 2.3 * exp(-4 * t) + 0.4,
                                         accuracy: 0.95 - 0.85 * exp(-5 * t), elapsedSeconds: 30 * t))
        }
        let history = try XCTUnwrap(try RunHistory.load(runDirectories: [run]).first)
        XCTAssertEqual(history.steps.count, 93)
        XCTAssertEqual(history.stepsPerEpoch, 938)
        let curve = CurveRun(history)
        XCTAssertEqual(curve.steps.first?.epoch ?? 0, 10.0 / 938, accuracy: 1e-12)
        XCTAssertEqual(curve.steps.last?.epoch ?? 0, 930.0 / 938, accuracy: 1e-12)

        let drawn = TrainingCurves.render([curve])
        _ = try roundTrip(drawn)
        XCTAssertEqual(count(TrainingCurves.stepColor(RGB.palette[0]), in: plain), 0)
        XCTAssertGreaterThan(count(TrainingCurves.stepColor(RGB.palette[0]), in: drawn), 100, "the step line is drawn")
        XCTAssertGreaterThan(count(RGB.palette[0], in: drawn), 100, "and the epoch points over it")
        XCTAssertNotEqual(drawn.pixels, plain.pixels)
    }

    func testCurvesRefuseADirectoryWithoutMetrics() throws {
        let dir = try TemporaryDirectory()
        XCTAssertThrowsError(try RunHistory.load(runDirectories: [dir.path])) { error in
            XCTAssertEqual(error as? RunError, .badRunDirectory(dir.path, "no metrics.jsonl; give the directory cnn-train wrote (its --out)"))
        }
        XCTAssertThrowsError(try RunHistory.load(runDirectories: [dir.file("nope")]))
    }

    func testConfusionHeatMapDarkestCellHoldsTheLargestCount() throws {
        var confusion = (0..<10).map { i in (0..<10).map { j in i == j ? 900 + 10 * i : (i + j) % 7 } }
        confusion[3][5] = 40
        let total = confusion.flatMap { $0 }.reduce(0, +), correct = (0..<10).map { confusion[$0][$0] }.reduce(0, +)
        let result = EvaluationResult(total: total, correct: correct, loss: 0.1, confusion: confusion)
        let canvas = ConfusionMatrixPicture.render(confusion: result.confusion, source: "model.safetensors, test set")
        _ = try roundTrip(canvas)
        // Find the grid's top-left corner once (the first pixel of cell (0, 0)'s colour), then sample each
        // cell near its own top-left corner, away from the number written in it.
        let first = ConfusionMatrixPicture.shade(confusion[0][0], largest: 990)
        let rgb = canvas.pixels
        let start = stride(from: 0, to: rgb.count, by: 3).first { RGB(rgb[$0], rgb[$0 + 1], rgb[$0 + 2]) == first }! / 3
        let origin = (x: start % canvas.width, y: start / canvas.width)
        func cellColor(_ i: Int, _ j: Int) -> RGB {
            canvas[origin.x + j * ConfusionMatrixPicture.cell + 4, origin.y + i * ConfusionMatrixPicture.cell + 4]
        }
        var darkest = (i: -1, j: -1, lum: 2.0)
        for i in 0..<10 { for j in 0..<10 { let l = cellColor(i, j).luminance; if l < darkest.lum { darkest = (i, j, l) } } }
        XCTAssertEqual([darkest.i, darkest.j], [9, 9], "990 is the largest count")
        XCTAssertLessThan(cellColor(3, 5).luminance, cellColor(1, 2).luminance, "40 is darker than 3")
        XCTAssertEqual(cellColor(0, 7), .white, "a zero count stays white")
    }

    func testMistakesGrid() throws {
        let digits = try Digits.test()
        let mistakes = (0..<7).map { k in
            MistakeTile(truth: digits.labels[k], predicted: (digits.labels[k] + 1) % 10, probability: 0.9 - 0.1 * Double(k),
                    intensities: digits.pixels[k].map { Double($0) / 255 }, height: 28, width: 28)
        }
        let canvas = MistakesPicture.render(mistakes, wrong: 120, total: 10000, source: "model.safetensors, test set", columns: 4)
        let back = try roundTrip(canvas)
        XCTAssertGreaterThan(back.width, 4 * 112)
        XCTAssertGreaterThan(count(.red, in: canvas), 50, "predicted classes are written in red")
        let dark = stride(from: 0, to: canvas.pixels.count, by: 3).filter { canvas.pixels[$0] < 50 }.count
        XCTAssertGreaterThan(dark, 7 * 1000, "ink of the digits, dark on white, 4× enlarged")
        _ = try roundTrip(MistakesPicture.render([], wrong: 0, total: 100, source: "none"))
    }

    func testMistakesAreFoundMostConfidentFirst() throws {
        let model = try SmallModel.checkpoint()
        let data = try Dataset.load(directory: dataDirectory, split: .test, limit: 300)
        let found = Mistakes.find(network: model.network, dataset: data, count: 10)
        XCTAssertGreaterThan(found.wrong, 0)
        XCTAssertEqual(found.mistakes.count, min(10, found.wrong))
        XCTAssertEqual(found.mistakes.map(\.probability), found.mistakes.map(\.probability).sorted(by: >))
        for m in found.mistakes { XCTAssertNotEqual(m.truth, m.predicted) }
        // Intensities undo the normalisation: the digit's own pixels.
        let digits = try Digits.test()
        let m = found.mistakes[0]
        XCTAssertEqual(m.intensities.map { ($0 * 255).rounded() }, digits.pixels[m.index].map(Double.init))
    }

    func testFilterTilesAreNormalisedPerFilter() throws {
        var weight = Tensor<Float>(shape: [6, 1, 5, 5])
        for f in 0..<6 { for k in 0..<25 { weight.scalars[f * 25 + k] = Float(k) * powf(10, Float(f - 3)) } }
        let canvas = FiltersPicture.render(weight: weight.scalars, shape: weight.shape, source: "six filters")
        _ = try roundTrip(canvas)
        // Every filter, whatever its magnitude, has a black and a white cell.
        XCTAssertGreaterThanOrEqual(count(.black, in: canvas), 6 * 12 * 12)
        XCTAssertGreaterThanOrEqual(count(.white, in: canvas), 1000)
        var conv = Tensor<Float>(shape: [32, 3, 3, 3])
        for i in conv.scalars.indices { conv.scalars[i] = Float(i % 7) }
        _ = try roundTrip(FiltersPicture.render(weight: conv.scalars, shape: conv.shape, source: "three channels"))
    }
}
