//  TrainingConfiguration.swift
//
//  Everything that defines a training run. Written to config.json; a resumed run reads it back.

import CNN
import Foundation

/// The learning-rate schedule names accepted by `--schedule`.
public enum ScheduleName: String, CaseIterable, Codable, Sendable {
    case constant, step, cosine
}

/// A training run's settings, as given on the command line.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    public var data = "Data"
    public var arch = "default"
    public var epochs = 3
    public var batchSize = 64
    public var lr = 0.05
    public var momentum = 0.9
    public var nesterov = false
    public var weightDecay = 5e-4
    public var schedule = ScheduleName.cosine
    /// For `step`: multiply the rate by `stepGamma` every `stepEpochs` epochs.
    public var stepEpochs = 1
    public var stepGamma = 0.5
    /// Linear warm-up length in optimizer steps.
    public var warmupSteps = 100
    public var initialization = "pytorch"
    public var seed: UInt64 = 1
    public var threads = 2
    public var limit: Int? = nil
    public var mean = 0.1307
    public var std = 0.3081
    public var out = ""
    public var checkpointEvery: Int? = nil

    public init() {}

    /// The problems with these settings, one line each; empty when they are usable.
    public func problems() -> [String] {
        var p: [String] = []
        if !(lr.isFinite && lr > 0) { p.append("--lr must be a finite number > 0 (got \(lr))") }
        if batchSize < 1 { p.append("--batch-size must be at least 1 (got \(batchSize))") }
        if epochs < 1 { p.append("--epochs must be at least 1 (got \(epochs))") }
        if !(momentum.isFinite && momentum >= 0 && momentum < 1) { p.append("--momentum must be in [0, 1) (got \(momentum))") }
        if nesterov && momentum == 0 { p.append("--nesterov needs --momentum > 0") }
        if !(weightDecay.isFinite && weightDecay >= 0) { p.append("--weight-decay must be ≥ 0 (got \(weightDecay))") }
        if threads < 1 || threads > 256 { p.append("--threads must be between 1 and 256 (got \(threads))") }
        if let l = limit, l < 1 { p.append("--limit must be at least 1 (got \(l))") }
        if stepEpochs < 1 { p.append("--step-epochs must be at least 1 (got \(stepEpochs))") }
        if !(stepGamma.isFinite && stepGamma > 0) { p.append("--step-gamma must be > 0 (got \(stepGamma))") }
        if warmupSteps < 0 { p.append("--warmup-steps must be ≥ 0 (got \(warmupSteps))") }
        if !(std.isFinite && std > 0) || !mean.isFinite { p.append("--mean must be finite and --std > 0") }
        if Initialization(rawValue: initialization) == nil {
            p.append("--init must be one of \(Initialization.allCases.map(\.rawValue).joined(separator: ", ")) (got \(initialization))")
        }
        if let c = checkpointEvery, c < 1 { p.append("--checkpoint-every must be at least 1 (got \(c))") }
        return p
    }

    /// The learning-rate schedule these settings describe.
    public var learningRateSchedule: LearningRateSchedule {
        switch schedule {
        case .constant: return .constant
        case .step: return .step(epochs: stepEpochs, gamma: stepGamma)
        case .cosine: return .cosine(minimum: 0)
        }
    }
}
