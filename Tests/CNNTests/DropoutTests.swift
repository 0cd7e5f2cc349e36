//  DropoutTests.swift
//
//  Inverted dropout: mask = [u ≥ p] / (1 − p) with u ~ U[0, 1) from the layer's own generator; y = x·mask,
//  dx = dy·mask in training, y = x in evaluation. The fast and reference backends draw the same mask from the
//  same seed, so they agree exactly.

import CNN
import RealModule
import TestSupport
import XCTest

final class DropoutTests: XCTestCase {
    /// Same seed → same masks, pass after pass, in both backends; forward and backward through the harness.
    func testFastMatchesReferenceWithTheSameSeed() {
        var rng = RandomGenerator(seed: 601)
        for p in [0.0, 0.25, 0.5, 0.9] {
            let layers = BackendPair({ Dropout(p: p, generator: RandomGenerator(seed: 42), backend: $0) },
                                     generator: &rng)
            assertBackendsAgree("Dropout p \(p)", pair: layers, inputShapes: [[3, 4, 5, 5], [1, 4, 5, 5], [6, 10]],
                                generator: &rng)
        }
    }

    /// y = x·mask with every mask entry 0 or 1/(1 − p); backward multiplies by the same mask; another seed gives
    /// another mask; the same seed gives the same one.
    func testOutputIsInputTimesMask() {
        var rng = RandomGenerator(seed: 602)
        let p = 0.3, keep = Float(1 / (1 - p))
        let x: Tensor<Float> = randomAwayFromZeroTensor([4, 3, 6, 6], using: &rng)
        let dy: Tensor<Float> = randomNormalTensor(x.shape, using: &rng)
        for backend in [Backend.fast, .reference] {
            let dropout = Dropout(p: p, generator: RandomGenerator(seed: 7), backend: backend)
            let y = dropout.forward(x, mode: .training)
            let dx = dropout.backward(dy)
            var wrongMask: [Int] = [], wrongGradient: [Int] = []
            for i in 0..<x.count {
                let mask = y.scalars[i] / x.scalars[i]
                if !(mask == 0 || abs(mask - keep) <= 1e-6 * keep) { wrongMask.append(i) }
                let expected = mask == 0 ? 0 : dy.scalars[i] * keep
                if !(abs(dx.scalars[i] - expected) <= 1e-6 * max(1, abs(expected))) { wrongGradient.append(i) }
            }
            XCTAssert(wrongMask.isEmpty, "\(backend): y/x is neither 0 nor \(keep) at \(wrongMask.count) indices, "
                      + "first \(wrongMask.first.map { "\($0): \(y.scalars[$0] / x.scalars[$0])" } ?? "")")
            XCTAssert(wrongGradient.isEmpty, "\(backend): dx ≠ dy·mask at \(wrongGradient.count) indices")
            let same = Dropout(p: p, generator: RandomGenerator(seed: 7), backend: backend).forward(x, mode: .training)
            XCTAssertEqual(same, y, "\(backend): same seed, same mask")
            let other = Dropout(p: p, generator: RandomGenerator(seed: 8), backend: backend).forward(x, mode: .training)
            XCTAssertNotEqual(other, y, "\(backend): another seed, another mask")
        }
    }

    /// Over 200 000 draws with p = 0.5 (masks 0 or 2, variance 1) the mean mask is 1 ± 0.0022 (one standard error)
    /// and the dropped fraction 0.5 ± 0.0011; the bounds are ≈ 5 standard errors. Also for p = 0.2.
    func testMaskHasMeanOne() {
        for p in [0.5, 0.2] {
            let dropout = Dropout(p: p, generator: RandomGenerator(seed: 603))
            let ones = Tensor<Float>(shape: [200_000], repeating: 1)
            let mask = dropout.forward(ones.reshaped([2000, 100]), mode: .training)
            let mean = mask.scalars.reduce(0.0) { $0 + Double($1) } / Double(mask.count)
            let dropped = Double(mask.scalars.filter { $0 == 0 }.count) / Double(mask.count)
            XCTAssertEqual(mean, 1, accuracy: 0.012, "p \(p): E[mask]")
            XCTAssertEqual(dropped, p, accuracy: 0.006, "p \(p): dropped fraction")
        }
    }

    /// p = 0 is the identity in training; any p is the identity in evaluation (no rescaling: inverted dropout).
    func testIdentityCases() {
        var rng = RandomGenerator(seed: 604)
        let x: Tensor<Float> = randomNormalTensor([3, 2, 4, 4], using: &rng)
        for backend in [Backend.fast, .reference] {
            let none = Dropout(p: 0, generator: RandomGenerator(seed: 1), backend: backend)
            XCTAssertEqual(none.forward(x, mode: .training), x, "\(backend): p = 0")
            XCTAssertEqual(none.backward(x), x, "\(backend): p = 0 backward")
            let half = Dropout(p: 0.5, generator: RandomGenerator(seed: 1), backend: backend)
            XCTAssertEqual(half.forward(x, mode: .evaluation), x, "\(backend): evaluation")
        }
    }
}
