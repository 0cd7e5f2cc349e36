//  ScheduleTests.swift
//
//  LearningRatePlan against the formulas documented in Sources/CNN/Optim/LearningRateSchedule.swift, for step t
//  (0-based), base rate η₀, T total steps, E steps per epoch and w warm-up steps:
//    constant:         η₀
//    step(k, γ):       η₀ · γ^⌊t / (k·E)⌋                 (t counts from the start of the run, warm-up included)
//    cosine(η_min):    η_min + ½(η₀ − η_min)(1 + cos(π · min(1, (t − w) / (T − w))))
//    exponential(γ):   η₀ · γ^⌊t / E⌋
//    warm-up:          η₀ · (t + 1) / w   for t < w, with w cut to ⌊T / 10⌋
//    one-cycle:        PyTorch's OneCycleLR, against the per-step rates and β₁ it produced (below)
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
                                    stepsPerEpoch: 4, totalSteps: 40)
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

    /// γ = 0.95 every epoch of 4 steps, after a warm-up of 2: ExponentialLR(gamma=0.95) stepped once per epoch.
    func testExponential() {
        let plan = LearningRatePlan(base: 1e-3, schedule: .exponential(gamma: 0.95), warmupSteps: 2, stepsPerEpoch: 4,
                                    totalSteps: 40)
        assertRate(plan, 0, 0.5e-3)
        assertRate(plan, 1, 1e-3)
        for t in 2..<4 { assertRate(plan, t, 1e-3) }
        for t in 4..<8 { assertRate(plan, t, 0.95e-3) }
        assertRate(plan, 39, 1e-3 * Double.pow(0.95, 9))
    }

    /// A warm-up is never longer than a tenth of the run: 100 asked for in a 32-step run gives 3 (which reach η₀),
    /// and the plan says what was asked for, so the trainer can say it was cut. One-cycle has its own warm-up.
    func testWarmupIsCutToATenthOfTheRun() {
        let plan = LearningRatePlan(base: 0.05, schedule: .cosine(minimum: 0), warmupSteps: 100, stepsPerEpoch: 32, totalSteps: 32)
        XCTAssertEqual(plan.warmupSteps, 3)
        XCTAssertEqual(plan.requestedWarmupSteps, 100)
        assertRate(plan, 2, 0.05, "the rate is reached at the end of the cut warm-up")
        let long = LearningRatePlan(base: 0.05, schedule: .cosine(minimum: 0), warmupSteps: 100, stepsPerEpoch: 938, totalSteps: 2814)
        XCTAssertEqual(long.warmupSteps, 100, "the no-flag run's 100 steps are under a tenth of 2814")
        let cycle = LearningRatePlan(base: 0.1, schedule: .oneCycle(OneCycle()), warmupSteps: 100, stepsPerEpoch: 10, totalSteps: 1000)
        XCTAssertEqual(cycle.warmupSteps, 0)
    }

    /// OneCycleLR against PyTorch 2.15: the rates and β₁ below were printed by
    ///     opt = torch.optim.Adam([p], lr=0.1)
    ///     s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=T, pct_start=P)
    ///     for t in range(T): record opt.param_groups[0]["lr"], ["betas"][0]; opt.step(); s.step()
    /// for (T, P) = (20, 0.3) and (10, 0.25), with the defaults div_factor 25, final_div_factor 1e4, cosine
    /// annealing, cycle_momentum on (base 0.85, max 0.95).
    func testOneCycleMatchesPyTorch() {
        let rates20 = [0.0040000000000000036, 0.013167184270002533, 0.037167184270002526, 0.06683281572999747,
                       0.09083281572999748, 0.1, 0.09874640062350874, 0.09504846320134738, 0.089091617757105,
                       0.0811745653949763, 0.07169430017913009, 0.06112620219362893, 0.0500002, 0.03887419780637107,
                       0.028306099820869922, 0.0188258346050237, 0.010908782242895003, 0.004951936798652629,
                       0.0012539993764912555, 4e-07]
        let beta20 = [0.95, 0.9404508497187474, 0.9154508497187474, 0.8845491502812526, 0.8595491502812526, 0.85,
                      0.8512536043909088, 0.854951556604879, 0.8609084258765984, 0.8688255099070633, 0.878305813044122,
                      0.8888739533021842, 0.8999999999999999, 0.9111260466978157, 0.9216941869558779, 0.9311744900929366,
                      0.9390915741234015, 0.945048443395121, 0.9487463956090911, 0.95]
        let rates10 = [0.0040000000000000036, 0.076, 0.09890738440717015, 0.0904508879153485, 0.0750001,
                       0.05522660225769002, 0.03454941208465151, 0.01654380350817838, 0.0043231098269614805, 4e-07]
        let beta10 = [0.95, 0.875, 0.8510926199633096, 0.8595491502812526, 0.875, 0.8947735768366173, 0.9154508497187474,
                      0.9334565303179428, 0.94567727288213, 0.95]
        for (T, pct, rates, betas) in [(20, 0.3, rates20, beta20), (10, 0.25, rates10, beta10)] {
            let plan = LearningRatePlan(base: 0.1, schedule: .oneCycle(OneCycle(pctStart: pct)), stepsPerEpoch: 5, totalSteps: T)
            for t in 0..<T {
                assertRate(plan, t, rates[t], "T \(T)")
                XCTAssertEqual(plan.momentum(atStep: t) ?? .nan, betas[t], accuracy: 1e-12, "β₁ at step \(t) of \(T)")
            }
        }
        let still = LearningRatePlan(base: 0.1, schedule: .oneCycle(OneCycle(cycleMomentum: false)), stepsPerEpoch: 5, totalSteps: 20)
        XCTAssertNil(still.momentum(atStep: 3), "cycle_momentum=False leaves the momentum alone")
        XCTAssertNil(LearningRatePlan(base: 0.1, schedule: .cosine(minimum: 0), stepsPerEpoch: 5, totalSteps: 20).momentum(atStep: 3))
    }
}
