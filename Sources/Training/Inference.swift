//  Inference.swift
//
//  Class probabilities from a network: p[k] = exp(z[k] − max z) / Σ_j exp(z[j] − max z) per image.

import CNN
import Foundation

/// Running a network in evaluation mode and turning its logits into probabilities.
public enum Inference {
    /// Softmax of one row of logits, in Double.
    public static func softmax<S: Sequence>(_ logits: S) -> [Double] where S.Element == Float {
        let z = logits.map(Double.init)
        guard let m = z.max() else { return [] }
        let e = z.map { exp($0 - m) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Probabilities (count rows of classes) for `count` images stored back to back in `images`
    /// (each channels · height · width normalised values), in batches of `batchSize`.
    public static func probabilities(network: Sequential, images: [Float], count: Int, input: InputDescriptor,
                                     batchSize: Int = 500) -> [[Double]] {
        let size = input.channels * input.height * input.width
        precondition(images.count == count * size, "Inference: \(images.count) values for \(count) images of \(size)")
        var out: [[Double]] = []
        out.reserveCapacity(count)
        var start = 0
        while start < count {
            let end = min(count, start + batchSize)
            let x = Tensor<Float>(shape: [end - start, input.channels, input.height, input.width],
                                  scalars: Array(images[(start * size)..<(end * size)]))
            let logits = network.forward(x, mode: .evaluation)
            let classes = logits.count / (end - start)
            for b in 0..<(end - start) { out.append(softmax(logits.scalars[(b * classes)..<((b + 1) * classes)])) }
            start = end
        }
        return out
    }

    /// The first `Conv2D` of `network`, if it has one (the layer whose filters `cnn-plot filters` draws).
    public static func firstConvolution(of network: Sequential) -> Conv2D? {
        network.layers.lazy.compactMap { $0 as? Conv2D }.first
    }

    /// The `k` most probable classes, most probable first (ties: the lower class first).
    public static func top(_ probabilities: [Double], _ k: Int) -> [(label: Int, probability: Double)] {
        probabilities.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(k).map { (label: $0.offset, probability: $0.element) }
    }
}
