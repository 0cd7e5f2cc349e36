//  Axis.swift
//
//  "Nice" tick values (1, 2, 2.5 or 5 times a power of ten) and the mapping from data to pixels.

import Foundation

/// A linear axis: a data interval, mapped onto a pixel interval, with its ticks.
public struct Axis: Sendable {
    public var lower: Double
    public var upper: Double
    /// Tick values, ascending, all within [lower, upper].
    public var ticks: [Double]
    /// Decimals to print tick labels with.
    public var decimals: Int

    /// An axis that covers [low, high] with about `count` ticks, widened to tick values at both ends
    /// unless `tight`. An empty or degenerate interval is widened around its value.
    public init(covering low: Double, _ high: Double, count: Int = 5, tight: Bool = false, integers: Bool = false) {
        var lo = low.isFinite ? low : 0, hi = high.isFinite ? high : 1
        if hi < lo { swap(&lo, &hi) }
        if hi - lo < 1e-12 {
            let pad = integers ? 1 : max(abs(lo) * 0.1, 1e-3)
            lo -= pad; hi += pad
        }
        var step = Axis.niceStep((hi - lo) / Double(max(1, count)))
        if integers { step = max(1, step.rounded()) }
        if !tight {
            lo = (lo / step).rounded(.down) * step
            hi = (hi / step).rounded(.up) * step
        }
        lower = lo
        upper = hi
        var t: [Double] = []
        var v = (lo / step).rounded(.up) * step
        while v <= hi + step * 1e-9 {
            t.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        ticks = t
        // The fewest decimals that print the step exactly (0.25 → 2, 2.5 → 1, 20 → 0).
        decimals = (0...6).first { d in
            let scaled = step * pow(10, Double(d))
            return abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled)
        } ?? 6
    }

    /// The smallest of 1, 2, 2.5, 5, 10 × 10^k at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        for m in [1, 2, 2.5, 5, 10] where m * magnitude >= rough * (1 - 1e-9) { return m * magnitude }
        return 10 * magnitude
    }

    /// The label of tick value `v`.
    public func label(_ v: Double) -> String { String(format: "%.\(decimals)f", v) }

    /// Where `v` falls between pixel `from` (at `lower`) and pixel `to` (at `upper`).
    public func position(_ v: Double, from: Double, to: Double) -> Double {
        from + (v - lower) / (upper - lower) * (to - from)
    }
}
