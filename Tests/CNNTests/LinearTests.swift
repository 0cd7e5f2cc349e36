//  LinearTests.swift
//
//  The fast fully connected layer (sgemm) against the reference loops, forward and backward, plus a hand-computed
//  example. Tolerance: BackendTolerance (see BackendComparison.swift).
//
//  Dimension legend: N batch, D input features, M output features; x (N, D), W (M, D), b (M), y (N, M).

import CNN
import RealModule
import TestSupport
import XCTest

final class LinearTests: XCTestCase {
    /// (N, D, M): 1×1×1, batch 1, M = 1, D = 1, odd sizes and the MNIST head (N 8, D 784 → 10).
    private let cases: [(n: Int, d: Int, m: Int)] = [
        (1, 1, 1), (1, 5, 3), (3, 7, 10), (5, 1, 4), (2, 13, 1), (8, 64, 10), (8, 784, 10), (7, 33, 17),
    ]

    func testFastMatchesReference() {
        var rng = RandomGenerator(seed: 401)
        for (n, d, m) in cases {
            let layers = BackendPair({ Linear(inFeatures: d, outFeatures: m, backend: $0) }, generator: &rng)
            assertBackendsAgree("Linear D\(d) M\(m)", pair: layers, inputShapes: [[n, d], [n == 1 ? 4 : 1, d]],
                                generator: &rng)
        }
    }

    /// Two threads: the forward split by input features (D ≥ `Linear.splitInputFeatures`, odd D included), by
    /// output features (M > N) or by batch rows, the backward by input features, including splits of odd
    /// sizes and of fewer features than threads.
    func testFastMatchesReferenceWithTwoThreads() {
        var rng = RandomGenerator(seed: 402)
        let wide = Linear.splitInputFeatures
        withThreads(2) {
            for (n, d, m) in [(4, 301, 128), (64, 96, 10), (3, 1, 5), (2, 13, 1), (9, 40, 9), (5, wide + 3, 7), (3, wide, 12)] {
                let layers = BackendPair({ Linear(inFeatures: d, outFeatures: m, backend: $0) }, generator: &rng)
                assertBackendsAgree("Linear N\(n) D\(d) M\(m), 2 threads", pair: layers,
                                    inputShapes: [[n, d], [n + 5, d]], generator: &rng)
            }
        }
    }

    /// x = [[1, 2], [3, 4]], W = [[1, 0], [−1, 2], [0.5, 0.5]], b = [0, 1, −1]:
    ///   y = x·Wᵀ + b = [[1, 4, 0.5], [3, 6, 2.5]]
    /// With dy = ones(2, 3): dx = dy·W = [[0.5, 2.5], [0.5, 2.5]], dW = dyᵀ·x = [[4, 6]] in every row, db = [2, 2, 2].
    func testFastHandComputed() {
        let linear = Linear(inFeatures: 2, outFeatures: 3)
        linear.weight.value = Tensor(shape: [3, 2], scalars: [1, 0, -1, 2, 0.5, 0.5])
        linear.bias.value = Tensor(shape: [3], scalars: [0, 1, -1])
        let x = Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])
        XCTAssertEqual(linear.forward(x, mode: .training).scalars, [1, 4, 0.5, 3, 6, 2.5])
        let dx = linear.backward(Tensor(shape: [2, 3], repeating: 1))
        XCTAssertEqual(dx.scalars, [0.5, 2.5, 0.5, 2.5])
        XCTAssertEqual(linear.weight.gradient.scalars, [4, 6, 4, 6, 4, 6])
        XCTAssertEqual(linear.bias.gradient.scalars, [2, 2, 2])
    }
}
