//  FoldingTests.swift
//
//  In evaluation, Sequential runs a fast Conv2D followed by a fast BatchNorm2D as one FoldedConvolution
//  (w' = w·s, b' = b·s + t, s and t batch norm's evaluation scale and shift). Folding changes rounding only:
//  the folded network's evaluation output must agree with the same layers run one by one to rtol 1e-5 and
//  atol 1e-5 of the largest output magnitude, on every convolution path the folded layer can take, after
//  training steps have moved γ, β and the running statistics. Training is not folded (FusionTests).

import CNN
import TestSupport
import XCTest

final class FoldingTests: XCTestCase {
    /// Three training steps, then evaluation of the folded network against the layers one by one.
    private func compare(_ specs: [LayerSpec], input: [Int], threads: Int, folds: Int,
                         file: StaticString = #filePath, line: UInt = #line) {
        withThreads(threads) {
            var g = RandomGenerator(seed: 21)
            let net = Sequential(specs: specs, generator: &g)
            let separate = Sequential(net.layers, fusing: false)
            XCTAssertEqual(net.evaluationSteps.filter { $0.description.contains("folded") }.count, folds,
                           "folded steps: \(net.evaluationSteps.map(\.description))", file: file, line: line)
            let sgd = SGD(parameters: net.parameters, learningRate: 0.05, momentum: 0.9)
            let loss = SoftmaxCrossEntropy()
            var data = RandomGenerator(seed: 22)
            for step in 0..<3 {
                let x: Tensor<Float> = randomNormalTensor(input, using: &data)
                let y = net.forward(x, mode: .training)
                net.backward(loss(logits: y, labels: (0..<input[0]).map { ($0 + step) % 10 }).dLogits)
                sgd.step()
            }
            let x: Tensor<Float> = randomNormalTensor(input, using: &data)
            let expected = separate.forward(x, mode: .evaluation)
            let scale = max(1, expected.scalars.lazy.map { abs($0) }.max() ?? 0)
            assertClose(net.forward(x, mode: .evaluation), expected, rtol: 1e-5, atol: 1e-5 * scale,
                        "folded evaluation", file: file, line: line)
            // Evaluating twice gives the same bits, and evaluation leaves training as it was.
            XCTAssertEqual(net.forward(x, mode: .evaluation), net.forward(x, mode: .evaluation), file: file, line: line)
        }
    }

    /// The default net's shape: 5×5 convolutions, batch norm, ReLU and 2×2 pooling; the first layer (one
    /// channel, pooled) takes the direct path once folded, the second padded im2col.
    func testDefaultShapeFolds() {
        for threads in [1, 2] {
            compare([.conv2d(inChannels: 1, outChannels: 6, kernelSize: 5, stride: 1, padding: 0),
                     .batchNorm2d(numFeatures: 6, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
                     .conv2d(inChannels: 6, outChannels: 8, kernelSize: 5, stride: 1, padding: 0),
                     .batchNorm2d(numFeatures: 8, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
                     .flatten, .linear(inFeatures: 8 * 4 * 4, outFeatures: 10)],
                    input: [7, 1, 28, 28], threads: threads, folds: 2)
        }
    }

    /// The record net's motifs: 3×3 convolutions of 16 channels (Winograd F(4×4)) with batch norm and ReLU
    /// and no pooling, a 5×5 stride-2 padded one (strided im2col), dropout, and a batch norm without ReLU.
    func testRecordShapeFolds() {
        for threads in [1, 2] {
            compare([.conv2d(inChannels: 1, outChannels: 16, kernelSize: 3, stride: 1, padding: 0),
                     .batchNorm2d(numFeatures: 16, eps: 1e-5, momentum: 0.1), .relu,
                     .conv2d(inChannels: 16, outChannels: 16, kernelSize: 3, stride: 1, padding: 0),
                     .batchNorm2d(numFeatures: 16, eps: 1e-5, momentum: 0.1), .relu,
                     .conv2d(inChannels: 16, outChannels: 8, kernelSize: 5, stride: 2, padding: 2),
                     .batchNorm2d(numFeatures: 8, eps: 1e-5, momentum: 0.1), .relu, .dropout(p: 0.4),
                     .conv2d(inChannels: 8, outChannels: 4, kernelSize: 3, stride: 1, padding: 1),
                     .batchNorm2d(numFeatures: 4, eps: 1e-5, momentum: 0.1),
                     .flatten, .linear(inFeatures: 4 * 6 * 6, outFeatures: 10)],
                    input: [5, 1, 16, 16], threads: threads, folds: 4)
        }
    }

    /// What does not fold: a batch norm after a ReLU, or after a pooling; a convolution on the reference
    /// backend; and a network built without fusing.
    func testOnlyConvolutionThenBatchNormFolds() {
        compare([.conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, stride: 1, padding: 1), .relu,
                 .batchNorm2d(numFeatures: 4, eps: 1e-5, momentum: 0.1),
                 .maxPool2d(kernelSize: 2, stride: 2), .batchNorm2d(numFeatures: 4, eps: 1e-5, momentum: 0.1),
                 .flatten, .linear(inFeatures: 4 * 4 * 4, outFeatures: 10)],
                input: [3, 1, 8, 8], threads: 1, folds: 0)
        var g = RandomGenerator(seed: 5)
        let net = Sequential(specs: [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 1, padding: 0),
                                     .batchNorm2d(numFeatures: 2, eps: 1e-5, momentum: 0.1), .relu,
                                     .flatten, .linear(inFeatures: 2 * 2 * 2, outFeatures: 3)], generator: &g)
        XCTAssertEqual(net.evaluationSteps.map(\.description),
                       ["conv2d(1→2, k3, s1, p0) + batchnorm2d(2), folded + relu", "flatten", "linear(8→3)"])
        XCTAssertEqual(net.evaluationSteps.map(\.layers), [0..<3, 3..<4, 4..<5])
        XCTAssertEqual(Sequential(net.layers, fusing: false).evaluationSteps.count, 5)
        net.setBackend(.reference)
        XCTAssertEqual(net.evaluationSteps.count, 5)
        net.setBackend(.fast)
        XCTAssertEqual(net.evaluationSteps.count, 3)
    }
}
