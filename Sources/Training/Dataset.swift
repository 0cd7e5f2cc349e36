//  Dataset.swift
//
//  Labelled images in memory as bytes, and normalised batches cut from them.

import CNN
import Dispatch
import Foundation
import IDX

/// A split of an IDX dataset, kept as the file's bytes and normalised as batches are copied out:
/// x = pixel · (1/(255·std)) − mean/std (one product and one sum in Float, the same bits wherever it is
/// computed), shaped (count, 1, H, W).
public struct Dataset: Sendable {
    /// Channels, height and width come from the file; mean and std from the caller.
    public let input: InputDescriptor
    public let count: Int
    /// count · H · W pixels, 0...255, image after image, as in the file (augmentation warps these).
    public let pixels: [UInt8]
    /// count labels in 0..<classes.
    public let labels: [Int]
    /// x = p · scale + shift.
    let scale: Float, shift: Float

    /// Loads `split` from the standard file names in `directory` (see `IDX.Split`), keeping the first `limit`.
    ///
    /// Throws `IDXError` naming the file for a missing, corrupt or inconsistent file.
    public static func load(directory: String, split: Split, mean: Double = 0.1307, std: Double = 0.3081,
                            limit: Int? = nil, classes: Int = 10) throws -> Dataset {
        let raw = try LabeledImages.load(directory: directory, split: split, classCount: classes)
        return Dataset(raw, mean: mean, std: std, limit: limit)
    }

    /// The training split (first `limit` images) and the test split, read and inflated at the same time on
    /// two threads. When both fail, the training split's error is the one thrown, as loading them one after
    /// the other would.
    public static func loadSplits(directory: String, mean: Double = 0.1307, std: Double = 0.3081,
                                  limit: Int? = nil, classes: Int = 10) throws -> (train: Dataset, test: Dataset) {
        let results = SplitResults()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let split: Split = i == 0 ? .train : .test
            let result = Result { try load(directory: directory, split: split, mean: mean, std: std,
                                           limit: i == 0 ? limit : nil, classes: classes) }
            results.set(i, result)
        }
        return (try results.get(0), try results.get(1))
    }

    /// Keeps the images already in memory (the first `limit`).
    public init(_ raw: LabeledImages, mean: Double, std: Double, limit: Int? = nil) {
        let n = min(raw.count, limit ?? raw.count)
        self.input = InputDescriptor(channels: 1, height: raw.rows, width: raw.columns, mean: mean, std: std)
        self.count = n
        self.pixels = n == raw.count ? raw.pixels : Array(raw.pixels.prefix(n * raw.rows * raw.columns))
        self.labels = raw.labels.prefix(n).map(Int.init)
        self.scale = Float(1 / (255 * std))
        self.shift = Float(-mean / std)
    }

    private init(input: InputDescriptor, pixels: [UInt8], labels: [Int], scale: Float, shift: Float) {
        self.input = input
        self.count = labels.count
        self.pixels = pixels
        self.labels = labels
        self.scale = scale
        self.shift = shift
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        let size = input.channels * input.height * input.width
        var pixels = [UInt8]()
        pixels.reserveCapacity(indices.count * size)
        for i in indices {
            pixels.append(contentsOf: self.pixels[(i * size)..<((i + 1) * size)])
        }
        return Dataset(input: input, pixels: pixels, labels: indices.map { labels[$0] }, scale: scale, shift: shift)
    }

    /// Every image normalised, count · H · W values (for pictures and checks; training copies batches).
    public var images: [Float] {
        var out = [Float](repeating: 0, count: pixels.count)
        out.withUnsafeMutableBufferPointer { o in
            pixels.withUnsafeBufferPointer { p in normalise(p.baseAddress!, into: o.baseAddress!, count: p.count) }
        }
        return out
    }

    /// Copies the images and labels at `indices` into `x` (B, 1, H, W), normalised, and `y`, reusing their storage.
    public func batch<C: Collection>(_ indices: C, into x: inout Tensor<Float>, labels y: inout [Int]) where C.Element == Int {
        let size = input.channels * input.height * input.width
        x.resize(to: [indices.count, input.channels, input.height, input.width])
        y.removeAll(keepingCapacity: true)
        x.scalars.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { src in
                for (b, i) in indices.enumerated() {
                    normalise(src.baseAddress! + i * size, into: out.baseAddress! + b * size, count: size)
                    y.append(labels[i])
                }
            }
        }
    }

    /// out[k] = Float(p[k]) · scale + shift for k < count, sixteen at a time.
    @inline(__always)
    private func normalise(_ p: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>, count: Int) {
        let vScale = SIMD16<Float>(repeating: scale), vShift = SIMD16<Float>(repeating: shift)
        var k = 0
        while k + 16 <= count {
            let bytes = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD16<UInt8>.self)
            let v = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes)) * vScale + vShift
            UnsafeMutableRawPointer(out + k).storeBytes(of: v, as: SIMD16<Float>.self)
            k += 16
        }
        while k < count {
            out[k] = Float(p[k]) * scale + shift
            k += 1
        }
    }

    /// A permutation of 0..<count drawn from `generator` (Fisher–Yates).
    public func shuffledIndices(using generator: inout RandomGenerator) -> [Int] {
        var order = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                let j = Int(generator.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return order
    }
}

/// The two loads of `Dataset.loadSplits`, each written by its own thread.
private final class SplitResults: @unchecked Sendable {
    private var results: [Result<Dataset, Error>?] = [nil, nil]
    private let lock = NSLock()

    func set(_ i: Int, _ r: Result<Dataset, Error>) { lock.lock(); results[i] = r; lock.unlock() }
    func get(_ i: Int) throws -> Dataset {
        lock.lock(); defer { lock.unlock() }
        return try results[i]!.get()
    }
}
