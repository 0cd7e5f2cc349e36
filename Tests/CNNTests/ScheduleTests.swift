//  ScheduleTests.swift
//
//  LearningRatePlan against the formulas documented in Sources/CNN/Optim/LearningRateSchedule.swift, for step t
//  (0-based), base rate η₀, T total steps, E steps per epoch and w warm-up steps:
//    constant:         η₀
//    step(k, γ):       η₀ · γ^⌊t / (k·E)⌋                 (t counts from the start of the run, warm-up included)
//    cosine(η_min):    η_min + ½(η₀ − η_min)(1 + cos(π · min(1, (t − w) / (T − w))))
//    warm-up:          η₀ · (t + 1) / w   for t < w
//  All in Double; tolerance 1e-12 relative.

import CNN
import RealModule
import XCTest

final class ScheduleTests: XCTestCase {
    private func assertRate(
        _ plan: LearningRatePlan, _ t: Int, _ expected: Double, _ what: String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(plan.rate(atStep: t), expected, accuracy: 1e-12 * max(1, abs(expected)),
                       "\(what) rate at step \(t)", file: file, line: line)
    }

    func testConstant() {
        let plan = LearningRatePlan(base: 0.05, schedule: .constant, stepsPerEpoch: 10, totalSteps: 100)
        for t in [0, 1, 9, 10, 50, 99, 100, 1000] { assertRate(plan, t, 0.05) }
    }

    /// γ = 0.1 every 2 epochs of 5 steps: steps 0–9 at η₀, 10–19 at η₀/10, 20–29 at η₀/100, …
    func testStep() {
        let plan = LearningRatePlan(base: 0.1, schedule: .step(epochs: 2, gamma: 0.1), stepsPerEpoch: 5, totalSteps: 100)
        for t in 0..<10 { assertRate(plan, t, 0.1) }
        for t in 10..<20 { assertRate(plan, t, 0.01) }
        assertRate(plan, 20, 0.001)
        assertRate(plan, 29, 0.001)
        assertRate(plan, 99, 0.1 * Double.pow(0.1, 9))
        // γ = 0.5 every epoch.
        let halving = LearningRatePlan(base: 1, schedule: .step(epochs: 1, gamma: 0.5), stepsPerEpoch: 3, totalSteps: 12)
        XCTAssertEqual((0..<12).map { halving.rate(atStep: $0) },
                       [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125])
    }

    /// η₀ = 0.1, η_min = 0.001, T = 100: starts at η₀, is the average at the midpoint, reaches η_min at t = T (and
    /// stays there), decreases monotonically, and is symmetric about the midpoint: η(t) + η(T − t) = η₀ + η_min.
    func testCosine() {
        let (base, minimum, T) = (0.1, 0.001, 100)
        let plan = LearningRatePlan(base: base, schedule: .cosine(minimum: minimum), stepsPerEpoch: 10, totalSteps: T)
        assertRate(plan, 0, base, "start")
        assertRate(plan, T / 2, (base + minimum) / 2, "midpoint")
        assertRate(plan, T, minimum, "end")
        assertRate(plan, T + 50, minimum, "past the end")
        // The last step of the run, T − 1, is one step short of the minimum: ½(η₀ − η_min)(1 − cos(π/T)) above it.
        assertRate(plan, T - 1, minimum + 0.5 * (base - minimum) * (1 - Double.cos(Double.pi / Double(T))), "last step")
        assertRate(plan, 25, minimum + 0.5 * (base - minimum) * (1 + 0.5.squareRoot()), "quarter (cos π/4 = √½)")
        assertRate(plan, 1, minimum + 0.5 * (base - minimum) * (1 + Double.cos(Double.pi / 100)))
        for t in 1...T {
            XCTAssertLessThanOrEqual(plan.rate(atStep: t), plan.rate(atStep: t - 1), "monotone at \(t)")
            assertRate(plan, t, base + minimum - plan.rate(atStep: T - t), "symmetry")
        }
    }

    /// w = 5 with a constant rate: η₀/5, 2η₀/5, …, η₀ at t = w − 1, then η₀.
    func testLinearWarmupThenConstant() {
        let plan = LearningRatePlan(base: 0.1, schedule: .constant, warmupSteps: 5, stepsPerEpoch: 10, totalSteps: 100)
        assertRate(plan, 0, 0.1 / 5, "t = 0 gives η₀/w")
        for t in 0..<5 { assertRate(plan, t, 0.1 * Double(t + 1) / 5) }
        assertRate(plan, 4, 0.1, "t = w − 1 gives η₀")
        for t in [5, 6, 50, 99] { assertRate(plan, t, 0.1) }
    }

    /// w = 10 then cosine over the remaining T − w = 100 steps: η₀ at t = w, the average at t = w + 50, η_min at T.
    func testLinearWarmupThenCosine() {
        let (base, minimum) = (0.2, 0.0)
        let plan = LearningRatePlan(base: base, schedule: .cosine(minimum: minimum), warmupSteps: 10,
                                    stepsPerEpoch: 10, totalSteps: 110)
        assertRate(plan, 0, base / 10)
        assertRate(plan, 9, base)
        assertRate(plan, 10, base, "cosine starts at η₀ after warm-up")
        assertRate(plan, 60, base / 2, "midpoint of the cosine part")
        assertRate(plan, 110, minimum)
    }

    /// w = 3 then γ = 0.5 every epoch of 4 steps; the step count includes the warm-up steps.
    func testLinearWarmupThenStep() {
        let plan = LearningRatePlan(base: 0.3, schedule: .step(epochs: 1, gamma: 0.5), warmupSteps: 3,
                                    stepsPerEpoch: 4, totalSteps: 16)
        assertRate(plan, 0, 0.1)
        assertRate(plan, 1, 0.2)
        assertRate(plan, 2, 0.3)
        assertRate(plan, 3, 0.3)      // ⌊3/4⌋ = 0
        assertRate(plan, 4, 0.15)     // ⌊4/4⌋ = 1
        assertRate(plan, 8, 0.075)
    }

    /// Out-of-range settings are clamped: negative warm-up → 0, steps per epoch and total steps ≥ 1.
    func testClamping() {
        let plan = LearningRatePlan(base: 1, schedule: .constant, warmupSteps: -3, stepsPerEpoch: 0, totalSteps: 0)
        XCTAssertEqual(plan.warmupSteps, 0)
        XCTAssertEqual(plan.stepsPerEpoch, 1)
        XCTAssertEqual(plan.totalSteps, 1)
        assertRate(plan, 0, 1)
    }
}
