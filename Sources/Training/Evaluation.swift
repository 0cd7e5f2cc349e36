//  Evaluation.swift
//
//  Accuracy, loss and the confusion matrix of a network on a dataset, in evaluation mode.

import CNN

/// The result of running a network over a dataset.
public struct EvaluationResult: Equatable, Sendable {
    public let total: Int
    public let correct: Int
    /// Mean softmax cross-entropy.
    public let loss: Double
    /// confusion[true][predicted]: counts.
    public let confusion: [[Int]]

    /// correct / total, a fraction in [0, 1].
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    /// For each class, the fraction of its images classified correctly (recall); NaN-free (0 when absent).
    public var perClassAccuracy: [Double] {
        confusion.enumerated().map { i, row in
            let n = row.reduce(0, +)
            return n == 0 ? 0 : Double(row[i]) / Double(n)
        }
    }

    /// For each class, the fraction of its predictions that were right; 0 when never predicted.
    public var perClassPrecision: [Double] {
        (0..<confusion.count).map { j in
            let n = confusion.reduce(0) { $0 + $1[j] }
            return n == 0 ? 0 : Double(confusion[j][j]) / Double(n)
        }
    }

    /// Off-diagonal (true, predicted, count), most frequent first.
    public var mostConfused: [(truth: Int, predicted: Int, count: Int)] {
        var pairs: [(Int, Int, Int)] = []
        for (i, row) in confusion.enumerated() { for (j, n) in row.enumerated() where i != j && n > 0 { pairs.append((i, j, n)) } }
        return pairs.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : ($0.0, $0.1) < ($1.0, $1.1) }.map { ($0.0, $0.1, $0.2) }
    }
}

public enum Evaluator {
    /// Runs `network` over all of `dataset` in batches of `batchSize`, in evaluation mode.
    public static func evaluate(_ network: Sequential, on dataset: Dataset, classes: Int = 10,
                                batchSize: Int = 1000) -> EvaluationResult {
        var confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        var lossSum: Double = 0, correct = 0
        let loss = SoftmaxCrossEntropy()
        var start = 0
        while start < dataset.count {
            let end = min(dataset.count, start + batchSize)
            dataset.batch(start..<end, into: &x, labels: &y)
            let logits = network.forward(x, mode: .evaluation)
            let r = loss(logits: logits, labels: y)
            lossSum += Double(r.loss) * Double(end - start)
            correct += r.correct
            logits.scalars.withUnsafeBufferPointer { z in
                for b in 0..<(end - start) {
                    var best = 0
                    for k in 1..<classes where z[b * classes + k] > z[b * classes + best] { best = k }
                    confusion[y[b]][best] += 1
                }
            }
            start = end
        }
        return EvaluationResult(total: dataset.count, correct: correct,
                                loss: dataset.count == 0 ? 0 : lossSum / Double(dataset.count), confusion: confusion)
    }

    /// The logits of every image of `dataset`, in order: count · classes values, row-major (image, class).
    public static func logits(_ network: Sequential, on dataset: Dataset, batchSize: Int = 1000) -> [Float] {
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        var out: [Float] = []
        var start = 0
        while start < dataset.count {
            let end = min(dataset.count, start + batchSize)
            dataset.batch(start..<end, into: &x, labels: &y)
            out += network.forward(x, mode: .evaluation).scalars
            start = end
        }
        return out
    }
}
