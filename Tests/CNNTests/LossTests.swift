//  LossTests.swift
//
//  The fused SoftmaxCrossEntropy (the trainer's loss) against Reference.softmaxCrossEntropy: mean loss and dLogits,
//  for ordinary, large (±1000) and equal logits; and its `correct` count, whose ties go to the first largest logit.
//  Tolerance: the loss within 1e-5 relative (+1e-6 absolute), dLogits within BackendTolerance.
//
//  Dimension legend: N batch, K classes; logits (N, K), labels N values in 0..<K.

import CNN
import RealModule
import TestSupport
import XCTest

final class LossTests: XCTestCase {
    private func assertMatchesReference(
        _ loss: SoftmaxCrossEntropy, logits: Tensor<Float>, labels: [Int], _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let fast = loss(logits: logits, labels: labels)
        let reference = Reference.softmaxCrossEntropy(logits: logits, labels: labels)
        XCTAssert(fast.loss.isFinite, "\(what): loss \(fast.loss)", file: file, line: line)
        XCTAssertEqual(fast.loss, reference.loss, accuracy: 1e-6 + 1e-5 * abs(reference.loss), "\(what): loss",
                       file: file, line: line)
        assertAgree(fast.dLogits, reference.dLogits, "\(what): dLogits", file: file, line: line)
    }

    private func randomLabels(_ n: Int, classes: Int, _ rng: inout RandomGenerator) -> [Int] {
        (0..<n).map { _ in Int(rng.next() % UInt64(classes)) }
    }

    /// (N, K) from 1×1 to the MNIST batch 64×10, reusing one loss object so its workspace resizes.
    func testFastMatchesReference() {
        var rng = RandomGenerator(seed: 701)
        let loss = SoftmaxCrossEntropy()
        for (n, k) in [(1, 1), (1, 10), (7, 10), (4, 3), (64, 10), (2, 2), (5, 100)] {
            let logits: Tensor<Float> = randomNormalTensor([n, k], scale: 3, using: &rng)
            assertMatchesReference(loss, logits: logits, labels: randomLabels(n, classes: k, &rng), "N\(n) K\(k)")
        }
    }

    /// Logits of ±1000 (exp would overflow without the max shift) and all-equal rows (loss log K).
    func testLargeAndEqualLogits() {
        var rng = RandomGenerator(seed: 702)
        let loss = SoftmaxCrossEntropy()
        let large: Tensor<Float> = randomUniformTensor([6, 10], low: -1000, high: 1000, using: &rng)
        assertMatchesReference(loss, logits: large, labels: randomLabels(6, classes: 10, &rng), "logits ±1000")

        let equal = Tensor<Float>(shape: [3, 10], repeating: 7)
        assertMatchesReference(loss, logits: equal, labels: [0, 4, 9], "equal logits")
        XCTAssertEqual(loss(logits: equal, labels: [0, 4, 9]).loss, Float.log(10), accuracy: 1e-6)
    }

    /// `correct` counts rows whose label is the first largest logit (torch.argmax's tie rule). Rows and labels:
    /// [1, 3, 2] (1) correct; [5, 5, 0] (0) correct, the tie goes to class 0; [0, 2, 2] (1) correct;
    /// [4, 4, 4] (2) wrong, the tie goes to class 0; [−1, −2, −0.5] (2) correct. So 4 of 5 (3 if ties went to the
    /// last largest). With the labels 1, 1, 2, 0, 2 the tie rows count only [4, 4, 4] (0): 3 of 5 (4 if ties went
    /// to the last largest).
    func testCorrectCountTiesGoToFirstLargest() {
        let logits = Tensor<Float>(shape: [5, 3], scalars: [1, 3, 2,
                                                            5, 5, 0,
                                                            0, 2, 2,
                                                            4, 4, 4,
                                                            -1, -2, -0.5])
        XCTAssertEqual(SoftmaxCrossEntropy()(logits: logits, labels: [1, 0, 1, 2, 2]).correct, 4)
        XCTAssertEqual(SoftmaxCrossEntropy()(logits: logits, labels: [1, 1, 2, 0, 2]).correct, 3)
    }

    /// The gradient returned by one call is a value: a later call (another batch size) does not change it.
    func testReturnedGradientIsNotOverwrittenByTheNextCall() {
        var rng = RandomGenerator(seed: 703)
        let loss = SoftmaxCrossEntropy()
        let first: Tensor<Float> = randomNormalTensor([4, 10], using: &rng)
        let a = loss(logits: first, labels: [1, 2, 3, 4]).dLogits
        let kept = a
        _ = loss(logits: randomNormalTensor([4, 10], using: &rng), labels: [0, 0, 0, 0])
        _ = loss(logits: randomNormalTensor([9, 10], using: &rng), labels: Array(repeating: 5, count: 9))
        XCTAssertEqual(a, kept)
        // Each row of dLogits sums to 0: Σ_k (p_k − onehot_k)/N = (1 − 1)/N.
        for n in 0..<4 {
            XCTAssertEqual((0..<10).reduce(Float(0)) { $0 + a[n, $1] }, 0, accuracy: 1e-6)
        }
    }
}
