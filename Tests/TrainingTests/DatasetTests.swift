//  DatasetTests.swift
//
//  Loading a split into memory: normalisation x = (p/255 − mean)/std, the limit, batches, and the seeded
//  shuffle.

import CNN
import Foundation
import IDX
import Training
import XCTest

final class DatasetTests: XCTestCase {
    /// Three 2×3 training images with known pixels, and two test images.
    let train = ImageSet(rows: 2, columns: 3,
                         pixels: [0, 255, 128, 1, 254, 64,
                                  10, 20, 30, 40, 50, 60,
                                  255, 255, 255, 0, 0, 0],
                         labels: [7, 0, 9])
    let test = ImageSet(rows: 2, columns: 3, pixels: Array(repeating: 100, count: 12), labels: [1, 2])

    func makeDirectory() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("DatasetTests")
        try writeDataset(train: train, test: test, to: dir.path)
        return dir
    }

    func testNormalisation() throws {
        let dir = try makeDirectory()
        for (mean, std) in [(0.1307, 0.3081), (0.5, 0.25), (0.0, 1.0)] {
            let d = try Dataset.load(directory: dir.path, split: .train, mean: mean, std: std)
            XCTAssertEqual(d.count, 3)
            XCTAssertEqual(d.labels, [7, 0, 9])
            XCTAssertEqual(d.input, InputDescriptor(channels: 1, height: 2, width: 3, mean: mean, std: std))
            XCTAssertEqual(d.images.count, 18)
            for (i, p) in train.pixels.enumerated() {
                let expected = (Double(p) / 255 - mean) / std
                XCTAssertEqual(Double(d.images[i]), expected, accuracy: 1e-5 * max(1, abs(expected)), "pixel \(i), mean \(mean), std \(std)")
            }
        }
        // mean 0, std 1: plain scaling to [0, 1].
        let plain = try Dataset.load(directory: dir.path, split: .train, mean: 0, std: 1)
        XCTAssertEqual(plain.images[0], 0)
        XCTAssertEqual(plain.images[1], 1, accuracy: 1e-6)
        // The default normalisation is MNIST's.
        let d = try Dataset.load(directory: dir.path, split: .test)
        XCTAssertEqual(d.input.mean, 0.1307)
        XCTAssertEqual(d.input.std, 0.3081)
        XCTAssertEqual(d.labels, [1, 2])
    }

    func testLimit() throws {
        let dir = try makeDirectory()
        let two = try Dataset.load(directory: dir.path, split: .train, limit: 2)
        let all = try Dataset.load(directory: dir.path, split: .train)
        XCTAssertEqual(two.count, 2)
        XCTAssertEqual(two.labels, [7, 0])
        XCTAssertEqual(two.images, Array(all.images[0..<12]))
        XCTAssertEqual(try Dataset.load(directory: dir.path, split: .train, limit: 100).count, 3, "a limit past the end keeps all")
        XCTAssertEqual(try Dataset.load(directory: dir.path, split: .train, limit: 3).images, all.images)
    }

    func testBatchCopiesTheChosenImagesAndLabels() throws {
        let dir = try makeDirectory()
        let d = try Dataset.load(directory: dir.path, split: .train)
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        d.batch([2, 0], into: &x, labels: &y)
        XCTAssertEqual(x.shape, [2, 1, 2, 3])
        XCTAssertEqual(x.scalars, Array(d.images[12..<18]) + Array(d.images[0..<6]))
        XCTAssertEqual(y, [9, 7])
        // Reusing the buffers for a smaller batch, from a range.
        d.batch(1..<2, into: &x, labels: &y)
        XCTAssertEqual(x.shape, [1, 1, 2, 3])
        XCTAssertEqual(x.scalars, Array(d.images[6..<12]))
        XCTAssertEqual(y, [0])
        // And a larger one again, with a repeated index (an ArraySlice, as the trainer passes).
        let order = [5, 1, 1, 2, 0][1...]
        d.batch(order, into: &x, labels: &y)
        XCTAssertEqual(x.shape, [4, 1, 2, 3])
        XCTAssertEqual(x.scalars, Array(d.images[6..<12]) + Array(d.images[6..<12]) + Array(d.images[12..<18]) + Array(d.images[0..<6]))
        XCTAssertEqual(y, [0, 0, 9, 7])
    }

    /// Images of 5×7 = 35 pixels: two blocks of sixteen and a tail of three, normalised on the copy with the
    /// same formula in Float, bit for bit, for every pixel value.
    func testBatchNormalisesEveryPixelValueOnTheCopy() throws {
        let pixels = (0..<(8 * 35)).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        let d = try Dataset(LabeledImages(images: IDXArray(dimensions: [8, 5, 7], bytes: pixels),
                                          labels: IDXArray(dimensions: [8], bytes: [0, 1, 2, 3, 4, 5, 6, 7])),
                            mean: 0.1307, std: 0.3081)
        XCTAssertEqual(d.pixels, pixels, "the bytes are kept as read")
        let scale = Float(1 / (255 * 0.3081)), shift = Float(-0.1307 / 0.3081)
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        d.batch([7, 0, 3], into: &x, labels: &y)
        XCTAssertEqual(x.shape, [3, 1, 5, 7])
        let expected = [7, 0, 3].flatMap { i in pixels[(i * 35)..<(i * 35 + 35)].map { Float($0) * scale + shift } }
        XCTAssertEqual(x.scalars.map(\.bitPattern), expected.map(\.bitPattern))
        XCTAssertEqual(y, [7, 0, 3])
        XCTAssertEqual(d.images.map(\.bitPattern), pixels.map { (Float($0) * scale + shift).bitPattern })
        var all = Set<UInt8>()
        pixels.forEach { all.insert($0) }
        XCTAssertEqual(all.count, 256, "every byte value is covered")
    }

    func testLoadSplitsGivesWhatLoadingOneByOneGives() throws {
        let dir = try makeDirectory()
        let (train, test) = try Dataset.loadSplits(directory: dir.path, mean: 0.5, std: 0.25, limit: 2)
        let train1 = try Dataset.load(directory: dir.path, split: .train, mean: 0.5, std: 0.25, limit: 2)
        let test1 = try Dataset.load(directory: dir.path, split: .test, mean: 0.5, std: 0.25)
        XCTAssertEqual(train.pixels, train1.pixels)
        XCTAssertEqual(train.labels, [7, 0])
        XCTAssertEqual(train.images, train1.images)
        XCTAssertEqual(test.pixels, test1.pixels, "the limit is the training split's only")
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(test.input, train.input)
        // Both splits missing: the training split's error, as loading them in order gives.
        let empty = try TemporaryDirectory("DatasetTests")
        assertThrows(try Dataset.loadSplits(directory: empty.path), as: IDXError.self, mentions: ["train-images-idx3-ubyte"])
        // Only the test split missing: its error.
        try FileManager.default.removeItem(atPath: dir.file("t10k-labels-idx1-ubyte.gz"))
        assertThrows(try Dataset.loadSplits(directory: dir.path), as: IDXError.self, mentions: ["t10k-labels-idx1-ubyte"])
    }

    func testShuffledIndicesArePermutationsFixedByTheSeed() throws {
        let set = ImageSet.synthetic(count: 1000, rows: 2, columns: 2)
        let d = try Dataset(LabeledImages(images: IDXArray(dimensions: [1000, 2, 2], bytes: set.pixels),
                                          labels: IDXArray(dimensions: [1000], bytes: set.labels)),
                            mean: 0, std: 1)
        var g1 = RandomGenerator(seed: 42), g2 = RandomGenerator(seed: 42), g3 = RandomGenerator(seed: 43)
        let a = d.shuffledIndices(using: &g1), b = d.shuffledIndices(using: &g2), c = d.shuffledIndices(using: &g3)
        XCTAssertEqual(a.sorted(), Array(0..<1000), "a permutation")
        XCTAssertEqual(c.sorted(), Array(0..<1000), "a permutation")
        XCTAssertEqual(a, b, "same seed, same order")
        XCTAssertNotEqual(a, c, "another seed, another order")
        XCTAssertNotEqual(a, Array(0..<1000), "actually shuffled")
        XCTAssertGreaterThan(zip(a, 0..<1000).filter { $0 != $1 }.count, 900, "few fixed points")
        // The generator moved on: the next draw differs.
        XCTAssertNotEqual(d.shuffledIndices(using: &g1), a)
        // Every position is reachable: over many shuffles of a small set, each element lands everywhere.
        let small = try Dataset(LabeledImages(images: IDXArray(dimensions: [4, 1, 1], bytes: [1, 2, 3, 4]),
                                              labels: IDXArray(dimensions: [4], bytes: [0, 1, 2, 3])), mean: 0, std: 1)
        var seen = Set<[Int]>()
        var g = RandomGenerator(seed: 1)
        for _ in 0..<500 { seen.insert(small.shuffledIndices(using: &g)) }
        XCTAssertEqual(seen.count, 24, "all 4! orders appear")
        // Degenerate sizes.
        let one = try Dataset(LabeledImages(images: IDXArray(dimensions: [1, 1, 1], bytes: [0]),
                                            labels: IDXArray(dimensions: [1], bytes: [0])), mean: 0, std: 1)
        XCTAssertEqual(one.shuffledIndices(using: &g), [0])
        let none = Dataset(try LabeledImages(images: IDXArray(dimensions: [1, 1, 1], bytes: [0]),
                                             labels: IDXArray(dimensions: [1], bytes: [0])), mean: 0, std: 1, limit: 0)
        XCTAssertEqual(none.count, 0)
        XCTAssertEqual(none.shuffledIndices(using: &g), [])
    }

    func testMissingOrMismatchedFilesThrowIDXErrors() throws {
        let dir = try TemporaryDirectory("DatasetTests")
        assertThrows(try Dataset.load(directory: dir.file("nowhere"), split: .train), as: IDXError.self, mentions: ["nowhere"]) {
            XCTAssertEqual($0, .directoryNotFound(directory: dir.file("nowhere")))
        }
        assertThrows(try Dataset.load(directory: dir.path, split: .test), as: IDXError.self, mentions: ["t10k-images-idx3-ubyte"])
        // 3 images, 2 labels.
        try IDXArray(dimensions: [3, 2, 2], bytes: Array(repeating: 0, count: 12)).write(to: dir.file("train-images-idx3-ubyte.gz"))
        try IDXArray(dimensions: [2], bytes: [0, 1]).write(to: dir.file("train-labels-idx1-ubyte.gz"))
        assertThrows(try Dataset.load(directory: dir.path, split: .train), as: IDXError.self, mentions: ["train-labels-idx1-ubyte.gz"]) {
            guard case .countMismatch = $0 else { return XCTFail("got \($0)") }
        }
        // A label outside the 10 classes.
        try IDXArray(dimensions: [3], bytes: [0, 1, 10]).write(to: dir.file("train-labels-idx1-ubyte.gz"))
        assertThrows(try Dataset.load(directory: dir.path, split: .train), as: IDXError.self, mentions: ["train-labels-idx1-ubyte.gz"]) {
            guard case .labelOutOfRange = $0 else { return XCTFail("got \($0)") }
        }
    }

    /// On the real MNIST test set, the default normalisation gives pixels of mean ≈ 0 and standard deviation ≈ 1
    /// (0.1307 and 0.3081 are the training set's statistics; the test set's are within 0.01 of them).
    func testRealMNISTNormalisationStatistics() throws {
        let d = try Dataset.load(directory: RealMNIST.directory, split: .test)
        XCTAssertEqual(d.count, 10_000)
        XCTAssertEqual(d.input, InputDescriptor())
        XCTAssertEqual(d.labels.first, 7)
        var sum = 0.0, squares = 0.0
        d.images.withUnsafeBufferPointer { p in
            for v in p { sum += Double(v); squares += Double(v) * Double(v) }
        }
        let n = Double(d.images.count), mean = sum / n, std = (squares / n - mean * mean).squareRoot()
        print(String(format: "  real MNIST test set after normalisation: mean %.4f, std %.4f", mean, std))
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(std, 1, accuracy: 0.02)
    }
}
