//  ActivationTests.swift
//
//  The fast ReLU against the reference, forward and backward, including inputs exactly 0 (gradient 0, as PyTorch).
//  Elementwise, so agreement is exact; BackendTolerance is used anyway for uniform reporting.

import CNN
import RealModule
import TestSupport
import XCTest

final class ActivationTests: XCTestCase {
    func testReLUFastMatchesReference() {
        var rng = RandomGenerator(seed: 501)
        for shape: [Int] in [[1, 1, 1, 1], [2, 3, 5, 7], [1, 2, 1, 9], [4, 10], [3, 8, 28, 28]] {
            let layers = BackendPair({ ReLU(backend: $0) }, generator: &rng)
            var other = shape
            other[0] = shape[0] == 1 ? 2 : 1
            assertBackendsAgree("ReLU", pair: layers, inputShapes: [shape, other], generator: &rng)
        }
    }

    /// A third of the inputs exactly 0, the rest ±1: forward 0 there, and no gradient through them.
    func testReLUAtZero() {
        var rng = RandomGenerator(seed: 502)
        let withZeros = { (shape: [Int], rng: inout RandomGenerator) -> Tensor<Float> in
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float(Int(rng.next() % 3) - 1) })
        }
        let layers = BackendPair({ ReLU(backend: $0) }, generator: &rng)
        assertBackendsAgree("ReLU with zeros", pair: layers, inputShapes: [[2, 3, 4, 5]], generator: &rng,
                            makeInput: withZeros)

        let relu = ReLU()
        let x = Tensor<Float>(shape: [1, 5], scalars: [-2, -0.0, 0, 0.5, 3])
        XCTAssertEqual(relu.forward(x, mode: .training).scalars, [0, 0, 0, 0.5, 3])
        XCTAssertEqual(relu.backward(Tensor(shape: [1, 5], scalars: [1, 2, 3, 4, 5])).scalars, [0, 0, 0, 4, 5])
    }
}
