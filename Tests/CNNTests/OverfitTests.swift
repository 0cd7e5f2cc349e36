//  OverfitTests.swift
//
//  The pieces fit together: a small network trained with SGD and momentum on one fixed batch must memorise it.
//  conv(1→8, k3, p1) – relu – maxpool(2) – flatten – fc(128→10) on 8 random 1×8×8 images labelled 0 … 7,
//  fast backend, full batch every step. Expected: loss < 0.01 and all 8 correct within 300 steps (it gets there
//  in well under that; the step count is printed).

import CNN
import RealModule
import TestSupport
import XCTest

final class OverfitTests: XCTestCase {
    private let specs: [LayerSpec] = [
        .conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, stride: 1, padding: 1),
        .relu,
        .maxPool2d(kernelSize: 2, stride: 2),
        .flatten,
        .linear(inFeatures: 8 * 4 * 4, outFeatures: 10),
    ]

    func testSmallNetworkMemorisesOneBatch() {
        var rng = RandomGenerator(seed: 1001)
        let net = Sequential(specs: specs, generator: &rng)
        let x: Tensor<Float> = randomNormalTensor([8, 1, 8, 8], using: &rng)
        let labels = Array(0..<8)
        let sgd = SGD(parameters: net.parameters, learningRate: 0.05, momentum: 0.9)
        let criterion = SoftmaxCrossEntropy()

        let initial = criterion(logits: net.forward(x, mode: .evaluation), labels: labels)
        XCTAssertEqual(initial.loss, Float.log(10), accuracy: 1.0, "an untrained network should be near chance")

        var last = initial
        var steps = 0
        while steps < 300 {
            let result = criterion(logits: net.forward(x, mode: .training), labels: labels)
            net.backward(result.dLogits)
            sgd.step()
            steps += 1
            last = result
            if result.loss < 0.01 && result.correct == labels.count { break }
        }
        print("OverfitTests: loss \(initial.loss) → \(last.loss) in \(steps) steps, \(last.correct)/8 correct")
        XCTAssertLessThan(last.loss, 0.01, "after \(steps) steps")
        XCTAssertEqual(last.correct, labels.count)

        // The trained network also classifies the batch in evaluation mode.
        let final = criterion(logits: net.forward(x, mode: .evaluation), labels: labels)
        XCTAssertEqual(final.correct, labels.count)
        XCTAssertLessThan(final.loss, 0.01)
    }
}
