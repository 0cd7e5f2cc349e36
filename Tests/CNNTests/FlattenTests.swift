//  FlattenTests.swift
//
//  Flatten has a single implementation: (N, C, H, W) → (N, C·H·W) in PyTorch's C, H, W order, and back.

import CNN
import RealModule
import TestSupport
import XCTest

final class FlattenTests: XCTestCase {
    func testForwardKeepsScalarOrderAndBackwardRestoresShape() {
        var rng = RandomGenerator(seed: 451)
        let flatten = Flatten()
        for shape: [Int] in [[1, 1, 1, 1], [2, 3, 5, 7], [1, 2, 1, 9], [4, 16, 2, 2]] {
            let x: Tensor<Float> = randomNormalTensor(shape, using: &rng)
            let y = flatten.forward(x, mode: .training)
            XCTAssertEqual(y.shape, [shape[0], shape[1] * shape[2] * shape[3]])
            XCTAssertEqual(y.scalars, x.scalars, "flatten must not reorder (C, H, W)")
            // Element (n, c, h, w) lands at column (c·H + h)·W + w of row n.
            let (n, c, h, w) = (shape[0] - 1, shape[1] - 1, shape[2] / 2, shape[3] - 1)
            XCTAssertEqual(y[n, (c * shape[2] + h) * shape[3] + w], x[n, c, h, w])
            let dy: Tensor<Float> = randomNormalTensor(y.shape, using: &rng)
            let dx = flatten.backward(dy)
            XCTAssertEqual(dx.shape, shape)
            XCTAssertEqual(dx.scalars, dy.scalars)
        }
    }

    func testOutputShape() {
        XCTAssertEqual(Flatten().outputShape(for: [8, 32, 7, 7]), [8, 1568])
        XCTAssertEqual(Flatten().outputShape(for: [3, 10]), [3, 10])
        XCTAssertNil(Flatten().outputShape(for: [5]))
    }
}
