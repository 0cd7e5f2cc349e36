//  Mistakes.swift
//
//  The images of a dataset a network gets wrong, most confident first, with their pixels recovered from the
//  normalised inputs: pixel/255 = x · std + mean (what `cnn-plot mistakes` draws).

import CNN
import Foundation

/// One misclassified image.
public struct Mistake: Sendable, Equatable {
    /// Its index in the dataset.
    public var index: Int
    public var truth: Int
    public var predicted: Int
    /// The probability the network gave `predicted`.
    public var probability: Double
    /// height · width intensities in [0, 1] (0 background, 1 ink), row-major.
    public var intensities: [Double]
    public var height: Int
    public var width: Int

    public init(index: Int, truth: Int, predicted: Int, probability: Double, intensities: [Double], height: Int, width: Int) {
        self.index = index; self.truth = truth; self.predicted = predicted; self.probability = probability
        self.intensities = intensities; self.height = height; self.width = width
    }
}

/// Finding the misclassified images of a dataset.
public enum Mistakes {
    /// Every misclassified image of `dataset`, most confident first (ties: lower index first), at most
    /// `count` of them, and how many there are in all.
    public static func find(network: Sequential, dataset: Dataset, count: Int, batchSize: Int = 500) -> (mistakes: [Mistake], wrong: Int) {
        let input = dataset.input
        let images = dataset.images  // normalised once (Dataset keeps bytes)
        let probabilities = Inference.probabilities(network: network, images: images, count: dataset.count,
                                                    input: input, batchSize: batchSize)
        var wrong: [(index: Int, predicted: Int, p: Double)] = []
        for (i, p) in probabilities.enumerated() {
            let best = Inference.top(p, 1)[0]
            if best.label != dataset.labels[i] { wrong.append((i, best.label, best.probability)) }
        }
        wrong.sort { $0.p != $1.p ? $0.p > $1.p : $0.index < $1.index }
        let size = input.height * input.width
        let mistakes = wrong.prefix(max(0, count)).map { w -> Mistake in
            // Undo the normalisation: pixel/255 = x · std + mean.
            let values = images[(w.index * size * input.channels)..<(w.index * size * input.channels + size)]
                .map { max(0, min(1, Double($0) * input.std + input.mean)) }
            return Mistake(index: w.index, truth: dataset.labels[w.index], predicted: w.predicted, probability: w.p,
                           intensities: values, height: input.height, width: input.width)
        }
        return (mistakes, wrong.count)
    }
}
