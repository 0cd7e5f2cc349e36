//  TrainingTestSupport.swift
//
//  Shared helpers of the Training tests: temporary directories, small IDX datasets written to disk
//  (subsets of the real MNIST, or synthetic images), a CRC-32 written independently of zlib, and
//  error assertions that check the message names the file or token.

import CNN
import Foundation
import IDX
import SafeTensors
import Training
import XCTest

// MARK: - Temporary directories

/// A fresh directory under the system temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init(_ prefix: String = "TrainingTests") throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    /// Creates `path/name` (and parents) and returns it.
    func subdirectory(_ name: String) throws -> String {
        let dir = file(name)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

// MARK: - Image sets

/// Grey-scale images with labels, to be written as an IDX dataset.
struct ImageSet {
    var rows: Int
    var columns: Int
    /// count · rows · columns pixels, image after image.
    var pixels: [UInt8]
    var labels: [UInt8]

    var count: Int { labels.count }

    init(rows: Int, columns: Int, pixels: [UInt8], labels: [UInt8]) {
        precondition(pixels.count == labels.count * rows * columns)
        self.rows = rows; self.columns = columns; self.pixels = pixels; self.labels = labels
    }

    init(_ images: LabeledImages) {
        self.init(rows: images.rows, columns: images.columns, pixels: images.pixels, labels: images.labels)
    }

    /// The first `n` examples.
    func prefix(_ n: Int) -> ImageSet {
        let n = min(n, count)
        return ImageSet(rows: rows, columns: columns, pixels: Array(pixels[0..<(n * rows * columns)]),
                        labels: Array(labels[0..<n]))
    }

    /// `count` synthetic images that are easy to tell apart: class k is a bright horizontal bar at a
    /// row that depends on k, a bright vertical bar at a column that depends on k, plus noise.
    static func synthetic(count: Int, rows: Int = 12, columns: Int = 12, seed: UInt64 = 7) -> ImageSet {
        var generator = RandomGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: count * rows * columns)
        var labels = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            let k = Int(generator.next() % 10)
            labels[i] = UInt8(k)
            let row = k * (rows - 1) / 9, column = (9 - k) * (columns - 1) / 9
            for r in 0..<rows {
                for c in 0..<columns {
                    var v = Int(generator.next() % 60)
                    if r == row || c == column { v += 180 }
                    pixels[(i * rows + r) * columns + c] = UInt8(min(255, v))
                }
            }
        }
        return ImageSet(rows: rows, columns: columns, pixels: pixels, labels: labels)
    }
}

/// Writes `train` and `test` into `directory` under the four MNIST file names, gzipped.
func writeDataset(train: ImageSet, test: ImageSet, to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (set, prefix) in [(train, "train"), (test, "t10k")] {
        try IDXArray(dimensions: [set.count, set.rows, set.columns], bytes: set.pixels)
            .write(to: directory + "/\(prefix)-images-idx3-ubyte.gz")
        try IDXArray(dimensions: [set.count], bytes: set.labels)
            .write(to: directory + "/\(prefix)-labels-idx1-ubyte.gz")
    }
}

// MARK: - The real MNIST

/// The real MNIST in `Data/` at the package root (three levels up from this file), loaded once.
enum RealMNIST {
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data").path

    static let train: Result<LabeledImages, Error> = Result { try LabeledImages.load(directory: directory, split: .train) }
    static let test: Result<LabeledImages, Error> = Result { try LabeledImages.load(directory: directory, split: .test) }

    /// Writes the first `trainCount` training and `testCount` test images into `directory`.
    static func writeSubset(trainCount: Int, testCount: Int, to directory: String) throws {
        try writeDataset(train: ImageSet(try train.get()).prefix(trainCount),
                         test: ImageSet(try test.get()).prefix(testCount), to: directory)
    }
}

// MARK: - CRC-32

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's crc32 computes it, written out here
/// independently so the tests check the checkpoint's "crc32" metadata against the definition.
func crc32IEEE(_ chunks: [[UInt8]]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for n in 0..<256 {
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[n] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for chunk in chunks {
        for byte in chunk { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
}

/// The "crc32" metadata value for `tensors`: the CRC-32 of their data in file order, 8 lower-case hex digits.
func checksumString(_ tensors: [TensorEntry]) -> String {
    String(format: "%08x", crc32IEEE(tensors.map(\.data)))
}

// MARK: - Error assertions

/// Asserts that `expression` throws an error of type `E`, that its message contains every string of
/// `mentions`, and hands it to `check`. Prints the message, so logs show what a user would see.
func assertThrows<T, E: Error>(
    _ expression: @autoclosure () throws -> T, as _: E.Type, mentions: [String] = [],
    file: StaticString = #filePath, line: UInt = #line, _ check: (E) -> Void = { _ in }
) {
    do {
        _ = try expression()
        XCTFail("expected a \(E.self), but nothing was thrown", file: file, line: line)
    } catch let error as E {
        let message = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        print("  \(E.self): \(message)")
        for m in mentions {
            XCTAssertTrue(message.contains(m), "message \"\(message)\" does not mention \"\(m)\"", file: file, line: line)
        }
        check(error)
    } catch {
        XCTFail("expected a \(E.self), got \(type(of: error)): \(error)", file: file, line: line)
    }
}

// MARK: - Configurations

/// A configuration for a small, quick run on the data in `data`, writing to `out`.
func smallConfiguration(data: String, out: String, arch: String = "conv4k3p1-relu-pool2-fc10",
                        epochs: Int = 2, batchSize: Int = 32, lr: Double = 0.05) -> TrainingConfiguration {
    var c = TrainingConfiguration()
    c.data = data
    c.out = out
    c.arch = arch
    c.epochs = epochs
    c.batchSize = batchSize
    c.lr = lr
    c.warmupSteps = 5
    c.threads = 2
    return c
}

/// The bytes of the file at `path` (empty if it cannot be read, which the comparison then reports).
func fileBytes(_ path: String) -> [UInt8] {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
}
