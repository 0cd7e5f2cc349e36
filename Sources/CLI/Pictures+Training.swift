//  Pictures+Training.swift
//
//  What Training computes, turned into what Pictures draws (Pictures knows nothing of networks or runs).

import Pictures
import Training

extension CurveRun {
    /// A run's complete epochs as the training-curves chart takes them.
    public init(_ run: RunHistory) {
        self.init(name: run.name, rows: run.epochs.map {
            CurvePoint(epoch: Double($0.epoch), trainLoss: $0.trainLoss, trainAccuracy: $0.trainAccuracy,
                       testLoss: $0.testLoss, testAccuracy: $0.testAccuracy)
        })
    }
}

extension MistakeTile {
    /// A misclassified image as the mistakes grid shows it.
    public init(_ mistake: Mistake) {
        self.init(truth: mistake.truth, predicted: mistake.predicted, probability: mistake.probability,
                  intensities: mistake.intensities, height: mistake.height, width: mistake.width)
    }
}
