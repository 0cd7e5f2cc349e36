//  Dataset.swift
//
//  Labelled images in memory, normalised, and batches cut from them.

import CNN
import IDX

/// A split of an IDX dataset, normalised: x = (pixel/255 − mean) / std, stored as (count, 1, H, W).
public struct Dataset: Sendable {
    /// Channels, height and width come from the file; mean and std from the caller.
    public let input: InputDescriptor
    public let count: Int
    /// count · H · W normalised pixels.
    public let images: [Float]
    /// The same pixels as stored in the file (0–255), which augmentation warps.
    public let pixels: [UInt8]
    /// count labels in 0..<classes.
    public let labels: [Int]

    /// Loads `split` from the standard file names in `directory` (see `IDX.Split`), keeping the first `limit`.
    ///
    /// Throws `IDXError` naming the file for a missing, corrupt or inconsistent file.
    public static func load(directory: String, split: Split, mean: Double = 0.1307, std: Double = 0.3081,
                            limit: Int? = nil, classes: Int = 10) throws -> Dataset {
        let raw = try LabeledImages.load(directory: directory, split: split, classCount: classes)
        return Dataset(raw, mean: mean, std: std, limit: limit)
    }

    /// Normalises images already in memory.
    public init(_ raw: LabeledImages, mean: Double, std: Double, limit: Int? = nil) {
        let n = min(raw.count, limit ?? raw.count)
        let size = raw.rows * raw.columns
        let scale = Float(1 / (255 * std)), shift = Float(-mean / std)
        var images = [Float](repeating: 0, count: n * size)
        images.withUnsafeMutableBufferPointer { out in
            raw.pixels.withUnsafeBufferPointer { px in
                for i in 0..<(n * size) { out[i] = Float(px[i]) * scale + shift }
            }
        }
        self.input = InputDescriptor(channels: 1, height: raw.rows, width: raw.columns, mean: mean, std: std)
        self.count = n
        self.images = images
        self.pixels = Array(raw.pixels.prefix(n * size))
        self.labels = raw.labels.prefix(n).map(Int.init)
    }

    private init(input: InputDescriptor, images: [Float], pixels: [UInt8], labels: [Int]) {
        self.input = input
        self.count = labels.count
        self.images = images
        self.pixels = pixels
        self.labels = labels
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        let size = input.channels * input.height * input.width
        var images = [Float](), pixels = [UInt8]()
        images.reserveCapacity(indices.count * size)
        pixels.reserveCapacity(indices.count * size)
        for i in indices {
            images.append(contentsOf: self.images[(i * size)..<((i + 1) * size)])
            pixels.append(contentsOf: self.pixels[(i * size)..<((i + 1) * size)])
        }
        return Dataset(input: input, images: images, pixels: pixels, labels: indices.map { labels[$0] })
    }

    /// Copies the images and labels at `indices` into `x` (B, 1, H, W) and `y`, reusing their storage.
    public func batch<C: Collection>(_ indices: C, into x: inout Tensor<Float>, labels y: inout [Int]) where C.Element == Int {
        let size = input.channels * input.height * input.width
        x.resize(to: [indices.count, input.channels, input.height, input.width])
        y.removeAll(keepingCapacity: true)
        x.scalars.withUnsafeMutableBufferPointer { out in
            images.withUnsafeBufferPointer { src in
                for (b, i) in indices.enumerated() {
                    (out.baseAddress! + b * size).update(from: src.baseAddress! + i * size, count: size)
                    y.append(labels[i])
                }
            }
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
