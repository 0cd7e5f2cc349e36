//  AugmentationTests.swift
//
//  The warp: no ranges is the normalised image bit for bit; a shift moves a dot by the drawn amount and keeps its
//  mass; the same seed, epoch and position give the same bytes and another epoch another warp; the prefetching
//  pipeline gives the bytes of warping each image directly; and an augmented run stopped and resumed ends in the
//  bytes of an uninterrupted one.

import CNN
import Foundation
import Training
import XCTest

final class AugmentationTests: XCTestCase {
    func syntheticData() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("AugmentationTests-data")
        try writeDataset(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2), to: dir.path)
        return dir
    }

    func warp(_ a: Augmentation, _ pixels: [UInt8], H: Int, W: Int, seed: UInt64, mean: Double = 0, std: Double = 1.0 / 255) -> [Float] {
        var out = [Float](repeating: 0, count: H * W)
        var generator = RandomGenerator(seed: seed)
        pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { a.warp(px.baseAddress!, height: H, width: W, into: $0.baseAddress!, mean: mean, std: std, generator: &generator) }
        }
        return out
    }

    /// `warp` (the framed source, floor by truncation) gives the bytes of `referenceWarp` (a bounds check per
    /// tap), and leaves the generator in the same state, over shapes from 1×1 to 28×28, ranges from none to
    /// sampling mostly outside the image, elastic fields included, and 400 random draws.
    func testTheFastWarpGivesTheReferenceBytes() {
        var g = RandomGenerator(seed: 11)
        let shapes = [(1, 1), (1, 5), (5, 1), (2, 3), (12, 12), (12, 17), (28, 28), (31, 9)]
        let ranges = [Augmentation(), Augmentation(shift: 2, rotate: 8, scale: 0.08), Augmentation(shift: 0.5),
                      Augmentation(rotate: 180), Augmentation(scale: 0.9), Augmentation(shift: 40, rotate: 90, scale: 0.5),
                      Augmentation(shift: 2, rotate: 10, scale: 0.1, elasticAlpha: 8, elasticSigma: 3),
                      Augmentation(elasticAlpha: 34, elasticSigma: 1)]
        var compared = 0, nonBackground = 0
        for draw in 0..<400 {
            let (H, W) = shapes[draw % shapes.count]
            let a = ranges[(draw / shapes.count) % ranges.count]
            // Sparse ink like a digit, with runs of 0 and 255 and values between.
            let pixels = (0..<(H * W)).map { _ -> UInt8 in
                let u = g.nextUniform(0, 1)
                return u < 0.5 ? 0 : u < 0.7 ? 255 : UInt8(g.nextUniform(0, 255.99))
            }
            let seed = UInt64(draw) &* 0x9E37_79B9_7F4A_7C15
            let (mean, std) = draw % 2 == 0 ? (0.1307, 0.3081) : (0.0, 1.0 / 255)
            var fast = [Float](repeating: .nan, count: H * W), reference = fast
            var gf = RandomGenerator(seed: seed), gr = RandomGenerator(seed: seed)
            pixels.withUnsafeBufferPointer { px in
                fast.withUnsafeMutableBufferPointer { a.warp(px.baseAddress!, height: H, width: W, into: $0.baseAddress!, mean: mean, std: std, generator: &gf) }
                reference.withUnsafeMutableBufferPointer { a.referenceWarp(px.baseAddress!, height: H, width: W, into: $0.baseAddress!, mean: mean, std: std, generator: &gr) }
            }
            XCTAssertEqual(fast.map(\.bitPattern), reference.map(\.bitPattern), "draw \(draw): \(H)×\(W), \(a)")
            XCTAssertEqual(gf.nextUniform(0, 1), gr.nextUniform(0, 1), "draw \(draw): the generators' states")
            compared += H * W
            nonBackground += reference.filter { $0 != Float(-mean / std) }.count
        }
        XCTAssertEqual(compared, 400 / shapes.count * shapes.reduce(0) { $0 + $1.0 * $1.1 })
        XCTAssertGreaterThan(nonBackground, compared / 4, "the draws sample ink, not only background")
    }

    func testNoRangesGiveTheNormalisedImageExactly() throws {
        let data = try syntheticData()
        let train = try Dataset.load(directory: data.path, split: .train)
        let size = 144
        for i in [0, 17, 255] {
            let image = Array(train.pixels[(i * size)..<((i + 1) * size)])
            XCTAssertEqual(warp(Augmentation(), image, H: 12, W: 12, seed: 3, mean: 0.1307, std: 0.3081),
                           Array(train.images[(i * size)..<((i + 1) * size)]), "image \(i)")
        }
    }

    /// A dot at (10, 8) of a 20×20 image, shifted: its mass (255) is kept and its centre moves by the (tx, ty) the
    /// generator draws third and fourth (after θ and s, which are 0 and 1 here).
    func testAShiftMovesADotByTheDrawnAmount() {
        var image = [UInt8](repeating: 0, count: 400)
        image[8 * 20 + 10] = 255
        let a = Augmentation(shift: 3)
        for seed: UInt64 in [1, 2, 3] {
            var g = RandomGenerator(seed: seed)
            _ = g.nextUniform(0, 0); _ = g.nextUniform(1, 1)
            let tx = g.nextUniform(-3, 3), ty = g.nextUniform(-3, 3)
            let out = warp(a, image, H: 20, W: 20, seed: seed)
            let mass = out.reduce(0, +)
            XCTAssertEqual(mass, 255, accuracy: 1e-3, "seed \(seed)")
            let cx = (0..<400).reduce(Float(0)) { $0 + Float($1 % 20) * out[$1] } / mass
            let cy = (0..<400).reduce(Float(0)) { $0 + Float($1 / 20) * out[$1] } / mass
            XCTAssertEqual(cx, 10 + tx, accuracy: 1e-3, "x centre, seed \(seed)")
            XCTAssertEqual(cy, 8 + ty, accuracy: 1e-3, "y centre, seed \(seed)")
        }
        // Outside the image is background: a shift of a whole image width leaves nothing.
        XCTAssertEqual(warp(Augmentation(shift: 100), image, H: 20, W: 20, seed: 1).filter { $0 != 0 }.count < 5, true)
    }

    func testTheSameSeedEpochAndPositionGiveTheSameBytes() throws {
        let data = try syntheticData()
        let train = try Dataset.load(directory: data.path, split: .train)
        let a = Augmentation(shift: 2, rotate: 10, scale: 0.1, elasticAlpha: 8, elasticSigma: 3)
        let image = Array(train.pixels[0..<144])
        let s = Augmentation.seed(1, epoch: 2, position: 5)
        XCTAssertEqual(warp(a, image, H: 12, W: 12, seed: s), warp(a, image, H: 12, W: 12, seed: s))
        XCTAssertNotEqual(warp(a, image, H: 12, W: 12, seed: s), warp(a, image, H: 12, W: 12, seed: Augmentation.seed(1, epoch: 3, position: 5)))
        XCTAssertNotEqual(s, Augmentation.seed(1, epoch: 2, position: 6))
        XCTAssertNotEqual(s, Augmentation.seed(2, epoch: 2, position: 5))

        // The pipeline (a batch made ahead on its own thread with one kernel thread, on the pool's workers with
        // two) gives what warping each image directly gives.
        var order = Array(0..<train.count)
        var g = RandomGenerator(seed: 4)
        order.shuffle(using: &g)
        defer { Parallel.setThreads(1) }
        for threads in [1, 2] {
        Parallel.setThreads(threads)
        let pipeline = BatchPipeline(dataset: train, augmentation: a, seed: 1)
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        for start in stride(from: 0, to: 256, by: 100) {
            let n = min(100, 256 - start)
            pipeline.batch(epoch: 2, order: order, start: start, count: n, into: &x, labels: &y)
            XCTAssertEqual(x.shape, [n, 1, 12, 12])
            for b in [0, n - 1] {
                let i = order[start + b]
                let direct = warp(a, Array(train.pixels[(i * 144)..<((i + 1) * 144)]), H: 12, W: 12,
                                  seed: Augmentation.seed(1, epoch: 2, position: start + b), mean: train.input.mean, std: train.input.std)
                XCTAssertEqual(Array(x.scalars[(b * 144)..<((b + 1) * 144)]), direct, "\(threads) threads, batch at \(start), image \(b)")
                XCTAssertEqual(y[b], train.labels[i])
            }
        }
        }
    }

    /// Two runs with the same seed give the same bytes; a run stopped mid-epoch (a batch was being made ahead) and
    /// resumed ends in the bytes of the uninterrupted one.
    func testAnAugmentedRunRepeatsAndResumesToTheSameBytes() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("AugmentationTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("a"), arch: "conv4k3p1-bn-relu-pool2-fc10")
        c.shift = 2; c.rotate = 10; c.scale = 0.1; c.elasticAlpha = 6; c.elasticSigma = 3
        let a = try Trainer(configuration: c).run()
        var b = c
        b.out = out.file("b")
        _ = try Trainer(configuration: b).run()
        XCTAssertTrue(fileBytes(a.modelPath) == fileBytes(b.out + "/model.safetensors"), "same seed, same bytes")
        var plain = c
        plain.out = out.file("plain"); plain.shift = 0; plain.rotate = 0; plain.scale = 0; plain.elasticAlpha = 0; plain.elasticSigma = 0
        XCTAssertFalse(fileBytes(a.modelPath) == fileBytes(try Trainer(configuration: plain).run().modelPath), "augmentation changes the model")

        var r = c
        r.out = out.file("resumed")
        let first = try Trainer(configuration: r)
        var count = 0
        first.onEvent = { if case .progress = $0 { count += 1 } }
        first.shouldStop = { count == 5 }
        XCTAssertTrue(try first.run().interrupted)
        let resumed = try Trainer(configuration: r, resume: r.out).run()
        XCTAssertTrue(fileBytes(a.modelPath) == fileBytes(resumed.modelPath), "resumed: same bytes")
        XCTAssertEqual(resumed.metrics.map(\.trainLoss), a.metrics.map(\.trainLoss))
    }
}
