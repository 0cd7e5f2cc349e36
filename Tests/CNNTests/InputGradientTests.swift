//  InputGradientTests.swift
//
//  Training skips the first convolution's input gradient (nobody needs dLoss/dImage). Skipping it must
//  change nothing else, and must not write anywhere.

import CNN
import TestSupport
import XCTest

final class InputGradientTests: XCTestCase {
    /// Two identical networks, one with needsInputGradient = false, take the same SGD steps: their
    /// parameters stay bitwise equal, and the skipping one returns an empty input gradient.
    func testSkippingTheFirstInputGradientChangesNothingElse() {
        let specs: [LayerSpec] = [
            .conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, stride: 1, padding: 1), .relu,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten, .linear(inFeatures: 4 * 4 * 4, outFeatures: 10),
        ]
        var g1 = RandomGenerator(seed: 3), g2 = RandomGenerator(seed: 3)
        let full = Sequential(specs: specs, generator: &g1), skipping = Sequential(specs: specs, generator: &g2)
        skipping.needsInputGradient = false
        let sgd1 = SGD(parameters: full.parameters, learningRate: 0.1, momentum: 0.9)
        let sgd2 = SGD(parameters: skipping.parameters, learningRate: 0.1, momentum: 0.9)
        var data = RandomGenerator(seed: 4)
        let loss = SoftmaxCrossEntropy()
        for _ in 0..<3 {
            let x = Tensor<Float>(shape: [5, 1, 8, 8], scalars: (0..<320).map { _ in data.nextNormal() })
            let labels = (0..<5).map { $0 % 10 }
            let d1 = full.backward(loss(logits: full.forward(x, mode: .training), labels: labels).dLogits)
            let d2 = skipping.backward(loss(logits: skipping.forward(x, mode: .training), labels: labels).dLogits)
            XCTAssertEqual(d1.shape, [5, 1, 8, 8])
            XCTAssertEqual(d2.count, 0)
            sgd1.step(); sgd2.step()
        }
        for (p, q) in zip(full.parameters, skipping.parameters) { XCTAssertEqual(p.value, q.value) }
    }
}
