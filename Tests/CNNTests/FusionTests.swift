//  FusionTests.swift
//
//  Sequential lets a fast Conv2D absorb a following ReLU, or ReLU and MaxPool2D. On the im2col and Winograd
//  paths the fused network must give bitwise the same outputs, input gradients, parameter gradients and
//  updates as the same layers run one by one. The direct path, which only exists fused, must agree to
//  rounding.

import CNN
import TestSupport
import XCTest

final class FusionTests: XCTestCase {
    /// Three SGD steps of the fused and the separate network, compared bit for bit, or with `assertAgree`'s
    /// tolerance when `exact` is false. `algorithm` is given to every convolution of both.
    private func compare(_ specs: [LayerSpec], input: [Int], threads: Int, algorithm: Conv2D.Algorithm? = .im2col,
                         exact: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
        func same(_ a: Tensor<Float>, _ b: Tensor<Float>, _ what: String) {
            if exact { XCTAssertEqual(a, b, what, file: file, line: line) } else { assertAgree(a, b, what, file: file, line: line) }
        }
        withThreads(threads) {
            var g1 = RandomGenerator(seed: 11), g2 = RandomGenerator(seed: 11)
            let fused = Sequential(specs: specs, generator: &g1)
            let separate = Sequential(Sequential(specs: specs, generator: &g2).layers, fusing: false)
            for case let conv as Conv2D in fused.layers + separate.layers { conv.algorithm = algorithm }
            let sgd1 = SGD(parameters: fused.parameters, learningRate: 0.05, momentum: 0.9)
            let sgd2 = SGD(parameters: separate.parameters, learningRate: 0.05, momentum: 0.9)
            let loss = SoftmaxCrossEntropy()
            var data = RandomGenerator(seed: 12)
            for step in 0..<3 {
                let x = Tensor<Float>(shape: input, scalars: (0..<input.reduce(1, *)).map { _ in data.nextNormal() })
                let labels = (0..<input[0]).map { ($0 + step) % 10 }
                let y1 = fused.forward(x, mode: .training), y2 = separate.forward(x, mode: .training)
                same(y1, y2, "logits, step \(step)")
                let d1 = fused.backward(loss(logits: y1, labels: labels).dLogits)
                let d2 = separate.backward(loss(logits: y2, labels: labels).dLogits)
                same(d1, d2, "input gradient, step \(step)")
                for (p, q) in zip(fused.parameters, separate.parameters) {
                    same(p.gradient, q.gradient, "gradient, step \(step)")
                }
                sgd1.step(); sgd2.step()
                // Evaluation also folds a convolution followed by batch norm, which changes rounding (FoldingTests).
                let e1 = fused.forward(x, mode: .evaluation), e2 = separate.forward(x, mode: .evaluation)
                if fused.evaluationSteps.count < fused.steps.count { assertAgree(e1, e2, "evaluation, step \(step)", file: file, line: line) } else { same(e1, e2, "evaluation, step \(step)") }
            }
        }
    }

    func testConvReLUMaxPoolFusesExactly() {
        compare([.conv2d(inChannels: 2, outChannels: 5, kernelSize: 3, stride: 1, padding: 1), .relu,
                 .maxPool2d(kernelSize: 2, stride: 2), .flatten, .linear(inFeatures: 5 * 4 * 4, outFeatures: 10)],
                input: [4, 2, 9, 8], threads: 1)
    }

    /// The same network where automatic choice takes the direct path (two channels, pooled; the separate
    /// layers take im2col): to rounding,
    /// on one thread and two, with a 3×3 stride-2 pooling where a position can win two windows.
    func testDirectPathFusesToRounding() {
        for threads in [1, 2] {
            compare([.conv2d(inChannels: 2, outChannels: 5, kernelSize: 3, stride: 1, padding: 1), .relu,
                     .maxPool2d(kernelSize: 2, stride: 2), .flatten, .linear(inFeatures: 5 * 4 * 4, outFeatures: 10)],
                    input: [4, 2, 9, 8], threads: threads, algorithm: nil, exact: false)
            compare([.conv2d(inChannels: 1, outChannels: 6, kernelSize: 5, stride: 1, padding: 2), .relu,
                     .maxPool2d(kernelSize: 3, stride: 2), .flatten, .linear(inFeatures: 6 * 6 * 7, outFeatures: 10)],
                    input: [5, 1, 14, 16], threads: threads, algorithm: nil, exact: false)
        }
    }

    /// pytorch-example's second layer (32 → 64 channels, 26×26), which automatic choice gives to Winograd
    /// F(4×4, 3×3): pooling each 4×4 output tile as it is formed is bit for bit the separate layers on the
    /// same path, on one thread and two.
    func testWinograd4x4TilePoolingFusesExactly() {
        for threads in [1, 2] {
            compare([.conv2d(inChannels: 32, outChannels: 64, kernelSize: 3, stride: 1, padding: 0), .relu,
                     .maxPool2d(kernelSize: 2, stride: 2), .flatten, .linear(inFeatures: 64 * 12 * 12, outFeatures: 10)],
                    input: [3, 32, 26, 26], threads: threads, algorithm: nil)
        }
    }

    func testOverlappingPoolAndStridedConvFuseExactlyOnTwoThreads() {
        compare([.conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, stride: 2, padding: 1), .relu,
                 .maxPool2d(kernelSize: 3, stride: 1),
                 .conv2d(inChannels: 4, outChannels: 6, kernelSize: 2, stride: 1, padding: 0), .relu,
                 .flatten, .linear(inFeatures: 6 * 2 * 3, outFeatures: 10)],
                input: [5, 1, 9, 11], threads: 2)
    }

    func testBatchNormReLUMaxPoolFusesExactly() {
        compare([.conv2d(inChannels: 1, outChannels: 3, kernelSize: 3, stride: 1, padding: 0),
                 .batchNorm2d(numFeatures: 3, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
                 .conv2d(inChannels: 3, outChannels: 4, kernelSize: 2, stride: 1, padding: 0),
                 .batchNorm2d(numFeatures: 4, eps: 1e-5, momentum: 0.1), .relu,
                 .flatten, .linear(inFeatures: 4 * 2 * 3, outFeatures: 10)],
                input: [6, 1, 8, 10], threads: 2)
    }

    /// A convolution whose batch im2col exceeds the cache limit recomputes it in backward; the results are
    /// the same bits as keeping it.
    func testRecomputedColumnsMatchKeptColumns() {
        let specs: [LayerSpec] = [.conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 1, padding: 1), .relu,
                                  .maxPool2d(kernelSize: 2, stride: 2), .flatten, .linear(inFeatures: 4 * 3 * 3, outFeatures: 10)]
        for threads in [1, 2] {
            withThreads(threads) {
                var g1 = RandomGenerator(seed: 5), g2 = RandomGenerator(seed: 5), data = RandomGenerator(seed: 6)
                let kept = Sequential(specs: specs, generator: &g1), recomputed = Sequential(specs: specs, generator: &g2)
                (recomputed.layers[0] as! Conv2D).columnsCacheLimit = 0
                let x = Tensor<Float>(shape: [3, 3, 7, 6], scalars: (0..<378).map { _ in data.nextNormal() })
                let loss = SoftmaxCrossEntropy()
                let d1 = kept.backward(loss(logits: kept.forward(x, mode: .training), labels: [1, 2, 3]).dLogits)
                let d2 = recomputed.backward(loss(logits: recomputed.forward(x, mode: .training), labels: [1, 2, 3]).dLogits)
                XCTAssertEqual(d1, d2)
                for (p, q) in zip(kept.parameters, recomputed.parameters) { XCTAssertEqual(p.gradient, q.gradient) }
            }
        }
    }

    /// The rewrite: conv → ReLU → pool and batch norm → ReLU become single steps, a ReLU after a linear layer
    /// stays on its own, layer indices are kept; on the reference backend every layer is a step, and switching
    /// back fuses again. No layer object records anything of it.
    func testStepsAreARewriteThatFollowsTheBackend() {
        var g = RandomGenerator(seed: 1)
        let net = Sequential(specs: [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 1, padding: 1), .relu,
                                     .maxPool2d(kernelSize: 2, stride: 2),
                                     .batchNorm2d(numFeatures: 2, eps: 1e-5, momentum: 0.1), .relu,
                                     .flatten, .linear(inFeatures: 2 * 2 * 2, outFeatures: 4), .relu,
                                     .linear(inFeatures: 4, outFeatures: 3)], generator: &g)
        let fused = ["conv2d(1→2, k3, s1, p1) + relu + maxpool2d(k2, s2)", "batchnorm2d(2) + relu", "flatten",
                     "linear(8→4)", "relu", "linear(4→3)"]
        XCTAssertEqual(net.steps.map(\.description), fused)
        XCTAssertEqual(net.steps.map(\.layers), [0..<3, 3..<5, 5..<6, 6..<7, 7..<8, 8..<9])
        net.setBackend(.reference)
        XCTAssertEqual(net.steps.map(\.layers), (0..<9).map { $0..<($0 + 1) })
        XCTAssertTrue(net.steps.allSatisfy { $0.epilogue == nil })
        net.setBackend(.fast)
        XCTAssertEqual(net.steps.map(\.description), fused)
        XCTAssertTrue(net.layers.allSatisfy { $0.backend == .fast })
        // The same layers, unfused: one step each, and the same shapes throughout.
        let separate = Sequential(net.layers, fusing: false)
        XCTAssertEqual(separate.steps.count, 9)
        let x = Tensor<Float>(shape: [2, 1, 4, 4], repeating: 0.5)
        XCTAssertEqual(net.forward(x, mode: .evaluation), separate.forward(x, mode: .evaluation))
    }
}
