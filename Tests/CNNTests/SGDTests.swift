//  SGDTests.swift
//
//  SGD against hand-computed updates, three steps on a 2-element parameter, in PyTorch's formulation
//  (torch.optim.SGD, dampening 0):
//      d ← g + λ·p;   v ← μ·v + d (v₀ = 0);   d ← d + μ·v if Nesterov, else d ← v;   p ← p − η·d
//  Every case starts from p₀ = [1, 2] and sees the gradients g₁ = [1, −2], g₂ = [0.5, 0], g₃ = [−1, 1], with
//  η = 0.1 and, where used, μ = 0.9 and λ = 0.1. Values are exact decimals; Float keeps them to ~1e-7, so the
//  tolerance is 1e-6. (The arithmetic below was re-checked in Double with NumPy.)

import CNN
import RealModule
import TestSupport
import XCTest

final class SGDTests: XCTestCase {
    private let gradients: [[Float]] = [[1, -2], [0.5, 0], [-1, 1]]

    /// Runs three steps of `sgd` on a fresh parameter p₀ = [1, 2] and checks p (and v, when given) after each,
    /// and that every step leaves the gradient zeroed.
    private func assertSteps(
        learningRate: Float = 0.1, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0,
        parameters expected: [[Float]], velocities: [[Float]]? = nil, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let p = Parameter(name: "weight", value: Tensor(shape: [2], scalars: [1, 2]))
        let sgd = SGD(parameters: [p], learningRate: learningRate, momentum: momentum, nesterov: nesterov,
                      weightDecay: weightDecay)
        for step in 0..<3 {
            p.gradient = Tensor(shape: [2], scalars: gradients[step])
            sgd.step()
            assertClose(p.value, Tensor(shape: [2], scalars: expected[step]), rtol: 1e-6, atol: 1e-6,
                        "\(what): p after step \(step + 1)", file: file, line: line)
            if let velocities {
                assertClose(sgd.velocities[0], Tensor(shape: [2], scalars: velocities[step]), rtol: 1e-6, atol: 1e-6,
                            "\(what): v after step \(step + 1)", file: file, line: line)
            }
            XCTAssertEqual(p.gradient, Tensor(shape: [2], repeating: 0), "\(what): gradient zeroed after step \(step + 1)",
                           file: file, line: line)
        }
    }

    /// p ← p − η·g:
    ///   p₁ = [1, 2] − 0.1·[1, −2]        = [0.9, 2.2]
    ///   p₂ = [0.9, 2.2] − 0.1·[0.5, 0]   = [0.85, 2.2]
    ///   p₃ = [0.85, 2.2] − 0.1·[−1, 1]   = [0.95, 2.1]
    func testPlain() {
        assertSteps(parameters: [[0.9, 2.2], [0.85, 2.2], [0.95, 2.1]], "plain SGD")
    }

    /// d = g + 0.1·p, p ← p − 0.1·d:
    ///   d₁ = [1 + 0.1, −2 + 0.2]            = [1.1, −1.8]         p₁ = [0.89, 2.18]
    ///   d₂ = [0.5 + 0.089, 0 + 0.218]       = [0.589, 0.218]      p₂ = [0.8311, 2.1582]
    ///   d₃ = [−1 + 0.08311, 1 + 0.21582]    = [−0.91689, 1.21582] p₃ = [0.922789, 2.036618]
    func testWeightDecay() {
        assertSteps(weightDecay: 0.1, parameters: [[0.89, 2.18], [0.8311, 2.1582], [0.922789, 2.036618]],
                    "SGD with weight decay")
    }

    /// v ← 0.9·v + g, p ← p − 0.1·v:
    ///   v₁ = [1, −2]                                   p₁ = [1 − 0.1, 2 + 0.2]         = [0.9, 2.2]
    ///   v₂ = [0.9 + 0.5, −1.8 + 0]     = [1.4, −1.8]   p₂ = [0.9 − 0.14, 2.2 + 0.18]   = [0.76, 2.38]
    ///   v₃ = [1.26 − 1, −1.62 + 1]     = [0.26, −0.62] p₃ = [0.76 − 0.026, 2.38 + 0.062] = [0.734, 2.442]
    func testMomentum() {
        assertSteps(momentum: 0.9, parameters: [[0.9, 2.2], [0.76, 2.38], [0.734, 2.442]],
                    velocities: [[1, -2], [1.4, -1.8], [0.26, -0.62]], "momentum")
    }

    /// Same velocities as above; the step is d = g + 0.9·v:
    ///   d₁ = [1 + 0.9, −2 − 1.8]         = [1.9, −3.8]      p₁ = [1 − 0.19, 2 + 0.38]        = [0.81, 2.38]
    ///   d₂ = [0.5 + 1.26, 0 − 1.62]      = [1.76, −1.62]    p₂ = [0.81 − 0.176, 2.38 + 0.162] = [0.634, 2.542]
    ///   d₃ = [−1 + 0.234, 1 − 0.558]     = [−0.766, 0.442]  p₃ = [0.634 + 0.0766, 2.542 − 0.0442] = [0.7106, 2.4978]
    func testNesterov() {
        assertSteps(momentum: 0.9, nesterov: true, parameters: [[0.81, 2.38], [0.634, 2.542], [0.7106, 2.4978]],
                    velocities: [[1, -2], [1.4, -1.8], [0.26, -0.62]], "Nesterov")
    }

    /// d = g + 0.1·p, v ← 0.9·v + d, p ← p − 0.1·v:
    ///   d₁ = [1.1, −1.8]                v₁ = [1.1, −1.8]                               p₁ = [0.89, 2.18]
    ///   d₂ = [0.589, 0.218]             v₂ = [0.99 + 0.589, −1.62 + 0.218] = [1.579, −1.402]
    ///                                                                                  p₂ = [0.7321, 2.3202]
    ///   d₃ = [−1 + 0.07321, 1 + 0.23202] = [−0.92679, 1.23202]
    ///                                   v₃ = [1.4211 − 0.92679, −1.2618 + 1.23202] = [0.49431, −0.02978]
    ///                                                                                  p₃ = [0.682669, 2.323178]
    func testMomentumWithWeightDecay() {
        assertSteps(momentum: 0.9, weightDecay: 0.1,
                    parameters: [[0.89, 2.18], [0.7321, 2.3202], [0.682669, 2.323178]],
                    velocities: [[1.1, -1.8], [1.579, -1.402], [0.49431, -0.02978]], "momentum + weight decay")
    }

    /// d = g + 0.1·p, v ← 0.9·v + d, d ← d + 0.9·v, p ← p − 0.1·d:
    ///   d₁ = [1.1, −1.8],  v₁ = [1.1, −1.8],  d₁′ = [1.1 + 0.99, −1.8 − 1.62] = [2.09, −3.42]     p₁ = [0.791, 2.342]
    ///   d₂ = [0.5791, 0.2342],  v₂ = [1.5691, −1.3858],  d₂′ = [1.99129, −1.01302]             p₂ = [0.591871, 2.443302]
    ///   d₃ = [−0.9408129, 1.2443302],  v₃ = [0.4713771, −0.0028898],  d₃′ = [−0.5165735, 1.2417294]
    ///                                                                                     p₃ = [0.6435284, 2.3191291]
    func testNesterovWithWeightDecay() {
        assertSteps(momentum: 0.9, nesterov: true, weightDecay: 0.1,
                    parameters: [[0.791, 2.342], [0.591871, 2.443302], [0.6435284, 2.3191291]],
                    velocities: [[1.1, -1.8], [1.5691, -1.3858], [0.4713771, -0.0028898]], "Nesterov + weight decay")
    }

    /// Several parameters of different shapes are each updated from their own gradient and velocity; a changed
    /// learning rate (as a schedule sets it) applies from the next step.
    func testSeveralParametersAndLearningRateChange() {
        let a = Parameter(name: "weight", value: Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        let b = Parameter(name: "bias", value: Tensor(shape: [1], scalars: [5]))
        let sgd = SGD(parameters: [a, b], learningRate: 0.5, momentum: 0.5)
        a.gradient = Tensor(shape: [2, 2], scalars: [2, 2, 2, 2])
        b.gradient = Tensor(shape: [1], scalars: [-4])
        sgd.step()
        // v = g; p − 0.5·g
        XCTAssertEqual(a.value.scalars, [0, 1, 2, 3])
        XCTAssertEqual(b.value.scalars, [7])
        sgd.learningRate = 0.25
        a.gradient = Tensor(shape: [2, 2], scalars: [0, 0, 0, 0])
        b.gradient = Tensor(shape: [1], scalars: [0])
        sgd.step()
        // v = 0.5·v: a's v = 1, b's v = −2; p − 0.25·v
        XCTAssertEqual(a.value.scalars, [-0.25, 0.75, 1.75, 2.75])
        XCTAssertEqual(b.value.scalars, [7.5])
        XCTAssertEqual(sgd.velocities.map(\.shape), [[2, 2], [1]])
    }

    /// A parameter large enough to be updated on two threads (`SGD.parallelCount`), with Nesterov momentum
    /// and weight decay: the same bits as on one thread, and every element as the 2-element cases compute
    /// it (the middle element against the formula, the gradient zeroed everywhere).
    func testLargeParameterOnTwoThreadsMatchesOneThread() {
        let count = SGD.parallelCount + 37
        func run(threads: Int) -> (Tensor<Float>, Tensor<Float>, Tensor<Float>) {
            var result = (Tensor<Float>(shape: [0]), Tensor<Float>(shape: [0]), Tensor<Float>(shape: [0]))
            withThreads(threads) {
                let p = Parameter(name: "weight", value: Tensor(shape: [count], scalars: (0..<count).map { Float($0 % 13) - 6 }))
                let sgd = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1)
                for step in 0..<3 {
                    p.gradient = Tensor(shape: [count], scalars: (0..<count).map { Float(($0 + step) % 7) - 3 })
                    sgd.step()
                }
                result = (p.value, sgd.velocities[0], p.gradient)
            }
            return result
        }
        let (p1, v1, g1) = run(threads: 1), (p2, v2, g2) = run(threads: 2)
        XCTAssertEqual(p1.scalars.map(\.bitPattern), p2.scalars.map(\.bitPattern), "p")
        XCTAssertEqual(v1.scalars.map(\.bitPattern), v2.scalars.map(\.bitPattern), "v")
        XCTAssertEqual(g2, Tensor(shape: [count], repeating: 0), "gradient zeroed")
        XCTAssertEqual(g1, g2)
        // One element by the formula, in Float as the update computes it.
        let i = count / 2
        var (p, v): (Float, Float) = (Float(i % 13) - 6, 0)
        for step in 0..<3 {
            var d = Float((i + step) % 7) - 3 + 0.1 * p
            v = 0.9 * v + d
            d = d + 0.9 * v
            p -= 0.1 * d
        }
        XCTAssertEqual(p2.scalars[i], p, accuracy: 1e-5, "element \(i)")
    }
}
