//  Pictures+Training.swift
//
//  What Training computes, turned into what Pictures draws (Pictures knows nothing of networks or runs).

import Pictures
import Training

extension CurveRun {
    /// A run's complete epochs, and its logged steps placed at step / steps per epoch, as the training-curves
    /// chart takes them.
    public init(_ run: RunHistory) {
        let perEpoch = Double(run.stepsPerEpoch ?? 1)
        self.init(name: run.name, rows: run.epochs.map {
            CurvePoint(epoch: Double($0.epoch), trainLoss: $0.trainLoss, trainAccuracy: $0.trainAccuracy,
                       testLoss: $0.testLoss, testAccuracy: $0.testAccuracy)
        }, steps: run.stepsPerEpoch == nil ? [] : run.steps.map {
            StepPoint(epoch: Double($0.step) / perEpoch, loss: $0.loss, accuracy: $0.accuracy)
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
