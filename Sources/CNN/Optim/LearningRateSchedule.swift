//  LearningRateSchedule.swift
//
//  The learning rate η(t) at optimizer step t (0-based), for base rate η₀, T total steps and E steps per epoch.
//    constant:            η₀
//    step(k, γ):          η₀ · γ^⌊t / (k·E)⌋                       (×γ every k epochs)
//    cosine(η_min):       η_min + ½(η₀ − η_min)(1 + cos(π · (t − w) / (T − w)))   after warm-up
//    linear warm-up (w):  η₀ · (t + 1) / w  for t < w, then the schedule above

import RealModule

/// How the learning rate changes over a run.
public enum LearningRateSchedule: Equatable, Sendable {
    case constant
    /// Multiply by `gamma` every `epochs` epochs.
    case step(epochs: Int, gamma: Double)
    /// Cosine annealing from the base rate (at the end of warm-up) down to `minimum`, reached at t = `totalSteps`
    /// (PyTorch's CosineAnnealingLR with T_max = T − w); the last step of a run, T − 1, is just above it.
    case cosine(minimum: Double)
}

/// A schedule with its base rate, optional linear warm-up, and the run's length.
public struct LearningRatePlan: Equatable, Sendable {
    public let base: Double
    public let schedule: LearningRateSchedule
    public let warmupSteps: Int
    public let stepsPerEpoch: Int
    public let totalSteps: Int

    public init(base: Double, schedule: LearningRateSchedule, warmupSteps: Int = 0, stepsPerEpoch: Int, totalSteps: Int) {
        self.base = base
        self.schedule = schedule
        self.warmupSteps = max(0, warmupSteps)
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        self.totalSteps = max(1, totalSteps)
    }

    /// The learning rate for step `t` (0-based).
    public func rate(atStep t: Int) -> Double {
        if t < warmupSteps { return base * Double(t + 1) / Double(warmupSteps) }
        switch schedule {
        case .constant:
            return base
        case let .step(epochs, gamma):
            return base * Double.pow(gamma, Double(t / (max(1, epochs) * stepsPerEpoch)))
        case let .cosine(minimum):
            let span = max(1, totalSteps - warmupSteps)
            let progress = min(1, Double(t - warmupSteps) / Double(span))
            return minimum + 0.5 * (base - minimum) * (1 + Double.cos(.pi * progress))
        }
    }
}
