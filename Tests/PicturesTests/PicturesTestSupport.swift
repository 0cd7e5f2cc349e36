//  PicturesTestSupport.swift
//
//  Helpers of the Pictures tests: temporary directories, real MNIST test digits from Data/, a small linear
//  classifier trained in the test process, and picture statistics.

import CNN
import Foundation
import IDX
import Images
@testable import Pictures
@testable import Training
import XCTest

/// A fresh directory, removed when released.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "PicturesTests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// The repository's Data/ folder, found from this file's path.
let dataDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("Data").path
}()

/// MNIST digits as raw bytes (28·28 each, 0 background … 255 ink) with labels, loaded once.
struct Digits {
    let pixels: [[UInt8]]
    let labels: [Int]

    /// The first `count` images of `split`.
    static func load(_ split: Split, count: Int) throws -> Digits {
        // mean 0, std 1: the dataset holds pixel / 255.
        let data = try Dataset.load(directory: dataDirectory, split: split, mean: 0, std: 1, limit: count)
        let pixels = (0..<data.count).map { i in data.images[(i * 784)..<((i + 1) * 784)].map { UInt8(($0 * 255).rounded()) } }
        return Digits(pixels: pixels, labels: data.labels)
    }

    nonisolated(unsafe) static var testCache: Digits?
    static func test() throws -> Digits {
        if let d = testCache { return d }
        let d = try load(.test, count: 200)
        testCache = d
        return d
    }
}

/// A linear classifier (flatten, 784 → 10) trained for a few seconds on 10,000 training digits: about 90%
/// accurate, and very sensitive to where the digit sits, which makes it a strict judge of preprocessing.
/// Trained once per test process.
enum SmallModel {
    nonisolated(unsafe) private static var cached: Checkpoint?

    static func checkpoint() throws -> Checkpoint {
        if let c = cached { return c }
        let input = InputDescriptor()
        let train = try Dataset.load(directory: dataDirectory, split: .train, mean: input.mean, std: input.std, limit: 10_000)
        var generator = RandomGenerator(seed: 1)
        let network = Sequential(specs: [.flatten, .linear(inFeatures: 784, outFeatures: 10)], generator: &generator)
        let sgd = SGD(parameters: network.parameters, learningRate: 0.05, momentum: 0.9)
        let loss = SoftmaxCrossEntropy()
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        for _ in 0..<2 {
            let order = train.shuffledIndices(using: &generator)
            for start in stride(from: 0, to: order.count, by: 100) {
                train.batch(order[start..<min(order.count, start + 100)], into: &x, labels: &y)
                let r = loss(logits: network.forward(x, mode: .training), labels: y)
                network.backward(r.dLogits)
                sgd.step()
            }
        }
        let c = Checkpoint(network: network, input: input)
        cached = c
        return c
    }

    /// The predicted class of each 28×28 intensity image (values 0…1).
    static func classify(_ images: [[Double]], with c: Checkpoint) -> [Int] {
        let flat = images.flatMap { $0.map { Float(($0 - c.input.mean) / c.input.std) } }
        return Inference.probabilities(network: c.network, images: flat, count: images.count, input: c.input)
            .map { Inference.top($0, 1)[0].label }
    }
}

/// Pearson correlation of two equally long vectors.
func correlation(_ a: [Double], _ b: [Double]) -> Double {
    let n = Double(a.count)
    let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for i in a.indices {
        sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb)
    }
    return sab / (saa * sbb).squareRoot()
}

/// Encodes `canvas` as PNG, decodes it again, and checks the size; returns the decoded bitmap.
func roundTrip(_ canvas: Canvas, file: StaticString = #filePath, line: UInt = #line) throws -> Bitmap {
    let bytes = try PNG.encode(canvas.bitmap)
    let back = try PNG.decode(bytes, file: "picture.png")
    XCTAssertEqual(back.width, canvas.width, file: file, line: line)
    XCTAssertEqual(back.height, canvas.height, file: file, line: line)
    XCTAssertEqual(back.pixels, canvas.pixels, file: file, line: line)
    return back
}

/// How many pixels of `canvas` are exactly `color`.
func count(_ color: RGB, in canvas: Canvas) -> Int {
    canvas.pixels.withUnsafeBufferPointer { p in
        var n = 0
        for i in stride(from: 0, to: p.count, by: 3) where p[i] == color.r && p[i + 1] == color.g && p[i + 2] == color.b { n += 1 }
        return n
    }
}

/// Writes the first `count` MNIST test digits as a test split (t10k-*) in `directory`, for commands that
/// evaluate a checkpoint without going through all 10,000.
func writeSmallTestSet(to directory: String, count: Int) throws {
    let digits = try Digits.load(.test, count: count)
    try IDXArray(dimensions: [count, 28, 28], bytes: digits.pixels.flatMap { $0 }).write(to: directory + "/t10k-images-idx3-ubyte")
    try IDXArray(dimensions: [count], bytes: digits.labels.map { UInt8($0) }).write(to: directory + "/t10k-labels-idx1-ubyte")
}

/// Writes `bytes` to `path` without the fsync of an atomic write (test files only).
func writeQuickly(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
