//  LearningRateSchedule.swift
//
//  The learning rate η(t) at optimizer step t (0-based), for base rate η₀, T total steps and E steps per epoch.
//    constant:            η₀
//    step(k, γ):          η₀ · γ^⌊t / (k·E)⌋                       (×γ every k epochs)
//    exponential(γ):      η₀ · γ^⌊t / E⌋                           (×γ every epoch: PyTorch's ExponentialLR stepped per epoch)
//    cosine(η_min):       η_min + ½(η₀ − η_min)(1 + cos(π · (t − w) / (T − w)))   after warm-up
//    linear warm-up (w):  η₀ · (t + 1) / w  for t < w, then the schedule above; w ≤ ⌊T / 10⌋ (longer is cut)
//
//  one-cycle (PyTorch's OneCycleLR, three_phase off, cosine annealing), with η₀ as max_lr, d = div_factor,
//  f = final_div_factor, p = pct_start; it brings its own warm-up, so w is not used:
//    η_init = η₀ / d,  η_final = η_init / f,  t₁ = p·T − 1 (the step where η peaks), t₂ = T − 1
//    cos_anneal(a, b, x) = b + ½(a − b)(1 + cos(π·x))
//    t ≤ t₁:  η = cos_anneal(η_init, η₀, t / t₁)          μ = cos_anneal(μ_max, μ_base, t / t₁)
//    t > t₁:  η = cos_anneal(η₀, η_final, (t − t₁) / (t₂ − t₁))   μ = cos_anneal(μ_base, μ_max, (t − t₁) / (t₂ − t₁))
//  μ is SGD's momentum or Adam's β₁, cycled only when `cycleMomentum` (PyTorch's default, μ_base 0.85, μ_max 0.95).

import RealModule

/// How the learning rate changes over a run.
public enum LearningRateSchedule: Equatable, Sendable {
    case constant
    /// Multiply by `gamma` every `epochs` epochs.
    case step(epochs: Int, gamma: Double)
    /// Multiply by `gamma` every epoch.
    case exponential(gamma: Double)
    /// Cosine annealing from the base rate (at the end of warm-up) down to `minimum`, reached at t = `totalSteps`
    /// (PyTorch's CosineAnnealingLR with T_max = T − w); the last step of a run, T − 1, is just above it.
    case cosine(minimum: Double)
    /// PyTorch's OneCycleLR with the base rate as `max_lr` (see the file comment).
    case oneCycle(OneCycle)
}

/// OneCycleLR's settings, with PyTorch's defaults.
public struct OneCycle: Equatable, Sendable {
    public var pctStart = 0.3
    public var divFactor = 25.0
    public var finalDivFactor = 1e4
    public var cycleMomentum = true
    public var baseMomentum = 0.85
    public var maxMomentum = 0.95

    public init(pctStart: Double = 0.3, divFactor: Double = 25, finalDivFactor: Double = 1e4, cycleMomentum: Bool = true,
                baseMomentum: Double = 0.85, maxMomentum: Double = 0.95) {
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
        self.cycleMomentum = cycleMomentum
        self.baseMomentum = baseMomentum
        self.maxMomentum = maxMomentum
    }
}

/// A schedule with its base rate, optional linear warm-up, and the run's length.
public struct LearningRatePlan: Equatable, Sendable {
    public let base: Double
    public let schedule: LearningRateSchedule
    /// The warm-up in use: the one asked for, cut to a tenth of the run (none for one-cycle).
    public let warmupSteps: Int
    /// The warm-up asked for; more than `warmupSteps` when it was cut.
    public let requestedWarmupSteps: Int
    public let stepsPerEpoch: Int
    public let totalSteps: Int

    public init(base: Double, schedule: LearningRateSchedule, warmupSteps: Int = 0, stepsPerEpoch: Int, totalSteps: Int) {
        self.base = base
        self.schedule = schedule
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        self.totalSteps = max(1, totalSteps)
        if case .oneCycle = schedule {
            requestedWarmupSteps = 0
            self.warmupSteps = 0
        } else {
            requestedWarmupSteps = max(0, warmupSteps)
            self.warmupSteps = min(requestedWarmupSteps, self.totalSteps / 10)
        }
    }

    /// The learning rate for step `t` (0-based).
    public func rate(atStep t: Int) -> Double {
        if t < warmupSteps { return base * Double(t + 1) / Double(warmupSteps) }
        switch schedule {
        case .constant:
            return base
        case let .step(epochs, gamma):
            return base * Double.pow(gamma, Double(t / (max(1, epochs) * stepsPerEpoch)))
        case let .exponential(gamma):
            return base * Double.pow(gamma, Double(t / stepsPerEpoch))
        case let .cosine(minimum):
            let span = max(1, totalSteps - warmupSteps)
            let progress = min(1, Double(t - warmupSteps) / Double(span))
            return minimum + 0.5 * (base - minimum) * (1 + Double.cos(.pi * progress))
        case let .oneCycle(c):
            let initial = base / c.divFactor, final = initial / c.finalDivFactor
            return oneCyclePhase(t, c) { rising, x in
                rising ? Self.cosAnneal(initial, base, x) : Self.cosAnneal(base, final, x)
            }
        }
    }

    /// The momentum (SGD's μ, Adam's β₁) for step `t`, or nil when the schedule leaves it alone.
    public func momentum(atStep t: Int) -> Double? {
        guard case let .oneCycle(c) = schedule, c.cycleMomentum else { return nil }
        return oneCyclePhase(t, c) { rising, x in
            rising ? Self.cosAnneal(c.maxMomentum, c.baseMomentum, x) : Self.cosAnneal(c.baseMomentum, c.maxMomentum, x)
        }
    }

    /// OneCycleLR's two phases: `value(true, x)` up to t₁ = p·T − 1, `value(false, x)` after, x the phase's fraction.
    private func oneCyclePhase(_ t: Int, _ c: OneCycle, _ value: (Bool, Double) -> Double) -> Double {
        let peak = c.pctStart * Double(totalSteps) - 1, end = Double(totalSteps - 1)
        let step = Double(min(t, totalSteps - 1))
        if step <= peak { return value(true, peak > 0 ? step / peak : 1) }
        return value(false, end > peak ? (step - peak) / (end - peak) : 1)
    }

    /// PyTorch's `_annealing_cos`: from `start` at x = 0 to `end` at x = 1.
    static func cosAnneal(_ start: Double, _ end: Double, _ x: Double) -> Double {
        end + (start - end) / 2 * (Double.cos(.pi * x) + 1)
    }
}
