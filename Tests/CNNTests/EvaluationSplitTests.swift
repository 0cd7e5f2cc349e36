//  EvaluationSplitTests.swift
//
//  Evaluation runs the network's convolutional part in chunks of images across threads, each worker on its
//  own copy of the network, and its Linear tail on the whole batch (Sequential+Evaluation.swift). Its
//  invariant: the output is bitwise that of the evaluation steps run one by one on the whole batch, on the
//  same thread count; and without Linear layers, each image's output is the same as the image evaluated
//  alone. Checked for every layer type and convolution path evaluation takes, for odd batches and batches
//  smaller than the threads; and against the reference backend within the fast path's tolerance (rtol
//  1e-4, atol 1e-5 of the largest output, as BackendComparison). Evaluating must not change what training
//  computes.

@testable import CNN
import TestSupport
import XCTest

final class EvaluationSplitTests: XCTestCase {
    /// (name, specs, one image's shape, the plans evaluation must take, in layer order).
    private static let nets: [(String, [LayerSpec], [Int], [Conv2D.Algorithm])] = [
        ("default", [.conv2d(inChannels: 1, outChannels: 10, kernelSize: 5, stride: 1, padding: 0),
                     .batchNorm2d(numFeatures: 10, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
                     .conv2d(inChannels: 10, outChannels: 8, kernelSize: 5, stride: 1, padding: 0),
                     .batchNorm2d(numFeatures: 8, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
                     .flatten, .linear(inFeatures: 8 * 4 * 4, outFeatures: 10)],
         [1, 28, 28], [.direct, .paddedIm2col]),
        // More input features than Linear.splitInputFeatures, so that the one-batch forward on two threads
        // would split the product by input features.
        ("cs231n", [.conv2d(inChannels: 1, outChannels: 16, kernelSize: 7, stride: 1, padding: 3), .relu,
                    .maxPool2d(kernelSize: 2, stride: 2), .flatten,
                    .linear(inFeatures: 16 * 14 * 14, outFeatures: 20), .relu, .linear(inFeatures: 20, outFeatures: 10)],
         [1, 28, 28], [.direct]),
        ("pytorch-example", [.conv2d(inChannels: 1, outChannels: 16, kernelSize: 3, stride: 1, padding: 0), .relu,
                             .conv2d(inChannels: 16, outChannels: 16, kernelSize: 3, stride: 1, padding: 0), .relu,
                             .maxPool2d(kernelSize: 2, stride: 2), .flatten, .dropout(p: 0.25),
                             .linear(inFeatures: 16 * 4 * 4, outFeatures: 10)],
         [1, 12, 12], [.im2col, .winograd4x4]),
        // Winograd F(2×2), a batch norm alone (after a fused step), average pooling, a ReLU and a max pooling
        // each alone, and a strided convolution.
        ("mixed", [.conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, stride: 1, padding: 1), .relu,
                   .conv2d(inChannels: 8, outChannels: 8, kernelSize: 3, stride: 1, padding: 1), .relu,
                   .maxPool2d(kernelSize: 2, stride: 2), .batchNorm2d(numFeatures: 8, eps: 1e-5, momentum: 0.1),
                   .avgPool2d(kernelSize: 2, stride: 2), .relu, .maxPool2d(kernelSize: 3, stride: 1),
                   .conv2d(inChannels: 8, outChannels: 4, kernelSize: 3, stride: 2, padding: 1),
                   .flatten, .linear(inFeatures: 4, outFeatures: 10)],
         [1, 16, 16], [.im2col, .winograd2x2, .im2col]),
    ]

    /// `trainedNetwork` with this suite's seed.
    private func trained(_ specs: [LayerSpec], image: [Int], n: Int) -> (Sequential, Tensor<Float>) {
        trainedNetwork(specs, image: image, n: n, seed: 31)
    }

    /// Images `range` of x.
    private func images(_ x: Tensor<Float>, _ range: Range<Int>) -> Tensor<Float> {
        let size = x.count / x.shape[0]
        return Tensor(shape: [range.count] + x.shape.dropFirst(), scalars: Array(x.scalars[(range.lowerBound * size)..<(range.upperBound * size)]))
    }

    /// x's images evaluated alone in consecutive groups of `group`, on one thread, outputs back to back.
    private func inGroups(_ net: Sequential, _ x: Tensor<Float>, of group: Int) -> Tensor<Float> {
        var scalars: [Float] = [], shape: [Int] = []
        withThreads(1) {
            for lo in stride(from: 0, to: x.shape[0], by: group) {
                let y = net.forward(images(x, lo..<min(x.shape[0], lo + group)), mode: .evaluation)
                scalars += y.scalars
                shape = Array(y.shape.dropFirst())
            }
        }
        return Tensor(shape: [x.shape[0]] + shape, scalars: scalars)
    }

    /// `net`'s evaluation of x, for every chunk size and thread count, against `expected(threads)`.
    private func check(_ name: String, _ net: Sequential, _ x: Tensor<Float>, _ expected: (Int) -> Tensor<Float>) {
        for threads in [1, 2, 3] {
            let want = expected(threads)
            for chunk in [nil, 1, 7] {
                net.evaluationChunk = chunk
                withThreads(threads) {
                    let y = net.forward(x, mode: .evaluation)
                    XCTAssertEqual(y.shape, want.shape, "\(name): n \(x.shape[0])")
                    if y != want {
                        let worst = zip(y.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
                        XCTFail("\(name): n \(x.shape[0]), \(threads) threads, chunk \(chunk.map(String.init) ?? "default"): differs by up to \(worst)")
                    }
                }
            }
        }
    }

    func testOutputsAreTheLayerByLayerOnes() {
        for (name, specs, image, plans) in Self.nets {
            for n in [1, 2, 13, 140] {
                let (net, x) = trained(specs, image: image, n: n)
                check(name, net, x) { threads in
                    var y = Tensor<Float>(shape: [0])
                    withThreads(threads) { y = net.evaluateLayerByLayer(x) }
                    return y
                }
                let taken = net.evaluationSteps.compactMap { (($0.head as? FoldedConvolution)?.plan ?? ($0.head as? Conv2D)?.plan)?.algorithm }
                XCTAssertEqual(taken, plans, "\(name): plans")
            }
        }
    }

    /// Which step writes each chunk's output straight into the batch's output (`evaluationWriter`): the head's
    /// last convolution when only Flatten and Dropout follow it (default, cs231n, pytorch-example, the strided
    /// convolution of "mixed"); none when the head ends on a batch norm alone. The outputs are checked against
    /// the layer-by-layer ones in `testOutputsAreTheLayerByLayerOnes`.
    func testLastConvolutionWritesIntoTheBatchOutput() {
        let bnLast: [LayerSpec] = [.conv2d(inChannels: 1, outChannels: 4, kernelSize: 5, stride: 1, padding: 0), .relu,
                                   .maxPool2d(kernelSize: 2, stride: 2), .batchNorm2d(numFeatures: 4, eps: 1e-5, momentum: 0.1),
                                   .flatten, .linear(inFeatures: 4 * 12 * 12, outFeatures: 10)]
        let writers: [String: String?] = [
            "default": "conv2d(10→8, k5, s1, p0) + batchnorm2d(8), folded + relu + maxpool2d(k2, s2)",
            "cs231n": "conv2d(1→16, k7, s1, p3) + relu + maxpool2d(k2, s2)",
            "pytorch-example": "conv2d(16→16, k3, s1, p0) + relu + maxpool2d(k2, s2)",
            "mixed": "conv2d(8→4, k3, s2, p1)",
            "batch norm last": nil,
        ]
        for (name, specs, image, _) in Self.nets + [("batch norm last", bnLast, [1, 28, 28], [])] {
            let (net, x) = trained(specs, image: image, n: 13)
            let writer = net.evaluationWriter(0..<net.evaluationTail, layouts: net.evaluationLayouts(forInput: x.shape))
            XCTAssertEqual(writer.map { net.evaluationSteps[$0].description }, writers[name] ?? "?", name)
            check(name, net, x) { threads in
                var y = Tensor<Float>(shape: [0])
                withThreads(threads) { y = net.evaluateLayerByLayer(x) }
                return y
            }
        }
    }

    /// Without Linear layers, every image's output is its own whatever its chunk and batch.
    func testWithoutLinearEachImageIsAlone() {
        for (name, specs, image, _) in Self.nets {
            let convolutional = Array(specs.prefix { if case .linear = $0 { return false } else { return true } })
            for n in [1, 2, 13, 140] {
                let (net, x) = trained(convolutional, image: image, n: n)
                let alone = inGroups(net, x, of: 1)
                check(name + " without Linear", net, x) { _ in alone }
            }
        }
    }

    /// The evaluation of a large batch on two threads (automatic chunks) against the same network on the
    /// reference backend.
    func testAgreesWithReference() {
        for (name, specs, image, _) in Self.nets {
            let (net, x) = trained(specs, image: image, n: 130)
            var g = RandomGenerator(seed: 0)
            let reference = Sequential(specs: specs, generator: &g, backend: .reference)
            for (a, b) in zip(net.layers, reference.layers) {
                for (p, q) in zip(a.parameters, b.parameters) { q.value = p.value }
                for (p, q) in zip(a.buffers, b.buffers) { q.set(p.get()) }
            }
            withThreads(2) {
                let expected = reference.forward(x, mode: .evaluation)
                let scale = max(1, expected.scalars.lazy.map { abs($0) }.max() ?? 0)
                assertClose(net.forward(x, mode: .evaluation), expected, rtol: 1e-4, atol: 1e-5 * scale, "\(name) against the reference")
            }
        }
    }

    /// Training with an evaluation on two threads after every step gives the same parameters, bit for bit, as
    /// training without evaluating.
    func testEvaluatingLeavesTrainingUnchanged() {
        for (name, specs, image, _) in Self.nets {
            var parameters: [[Tensor<Float>]] = []
            for evaluates in [false, true] {
                withThreads(2) {
                    var g = RandomGenerator(seed: 41)
                    let net = Sequential(specs: specs, generator: &g)
                    let sgd = SGD(parameters: net.parameters, learningRate: 0.05, momentum: 0.9)
                    let loss = SoftmaxCrossEntropy()
                    var data = RandomGenerator(seed: 42), evaluationData = RandomGenerator(seed: 43)
                    for step in 0..<3 {
                        let x: Tensor<Float> = randomNormalTensor([16] + image, using: &data)
                        net.backward(loss(logits: net.forward(x, mode: .training), labels: (0..<16).map { ($0 + step) % 10 }).dLogits)
                        sgd.step()
                        if evaluates { _ = net.forward(randomNormalTensor([200] + image, using: &evaluationData), mode: .evaluation) }
                    }
                    parameters.append(net.parameters.map(\.value) + net.layers.flatMap { $0.buffers.map { $0.get() } })
                }
            }
            XCTAssertEqual(parameters[0], parameters[1], "\(name): training after evaluations")
        }
    }
}
