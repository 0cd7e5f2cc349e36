//  NetworkTests.swift
//
//  Whole networks, fast against reference: `Sequential(specs:)` built twice from the same seed, one switched to
//  the reference kernels with `setBackend(.reference)`. Same logits, loss, dInput and parameter gradients, and the
//  same parameters and running statistics after a few SGD steps. Tolerance: BackendTolerance for every compared
//  tensor (see BackendComparison.swift); the differences stay at Float rounding level through the whole chain.

import CNN
import RealModule
import TestSupport
import XCTest

final class NetworkTests: XCTestCase {
    /// conv(1→4, k3, p1) – bn – relu – maxpool(2) – conv(4→6, k3) – relu – avgpool(2) – flatten – fc(24→10)
    /// on 1×12×12 images: 12×12 → 12×12 → 6×6 → 4×4 → 2×2, 6·2·2 = 24 features.
    private let specs: [LayerSpec] = [
        .conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, stride: 1, padding: 1),
        .batchNorm2d(numFeatures: 4, eps: 1e-5, momentum: 0.1),
        .relu,
        .maxPool2d(kernelSize: 2, stride: 2),
        .conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, stride: 1, padding: 0),
        .relu,
        .avgPool2d(kernelSize: 2, stride: 2),
        .flatten,
        .linear(inFeatures: 24, outFeatures: 10),
    ]

    /// Strided convolutions, overlapping max pooling and dropout (whose masks come from the shared seed):
    /// 1×13×11 → conv k5 s2 p2 → 7×6 → bn → relu → maxpool k3 s1 → 5×4 → dropout → flatten 8·5·4 → fc(160→10).
    private let otherSpecs: [LayerSpec] = [
        .conv2d(inChannels: 1, outChannels: 8, kernelSize: 5, stride: 2, padding: 2),
        .batchNorm2d(numFeatures: 8, eps: 1e-5, momentum: 0.1),
        .relu,
        .maxPool2d(kernelSize: 3, stride: 1),
        .dropout(p: 0.3),
        .flatten,
        .linear(inFeatures: 160, outFeatures: 10),
    ]

    private func assertNetworksAgree(
        specs: [LayerSpec], imageShape: [Int], batchSizes: [Int], seed: UInt64,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var seedA = RandomGenerator(seed: seed), seedB = RandomGenerator(seed: seed)
        let fast = Sequential(specs: specs, generator: &seedA)
        let reference = Sequential(specs: specs, generator: &seedB)
        reference.setBackend(.reference)
        XCTAssertEqual(fast.outputShape(for: [1] + imageShape), [1, 10], file: file, line: line)
        let fastSGD = SGD(parameters: fast.parameters, learningRate: 0.05, momentum: 0.9)
        let referenceSGD = SGD(parameters: reference.parameters, learningRate: 0.05, momentum: 0.9)
        let loss = SoftmaxCrossEntropy()
        var rng = RandomGenerator(seed: seed + 1)

        for (step, n) in batchSizes.enumerated() {
            let what = "step \(step), batch \(n)"
            let x: Tensor<Float> = randomNormalTensor([n] + imageShape, using: &rng)
            let labels = (0..<n).map { _ in Int(rng.next() % 10) }

            let logitsFast = fast.forward(x, mode: .training)
            let logitsReference = reference.forward(x, mode: .training)
            assertAgree(logitsFast, logitsReference, "\(what): logits", file: file, line: line)
            let lossFast = loss(logits: logitsFast, labels: labels)
            let lossReference = Reference.softmaxCrossEntropy(logits: logitsReference, labels: labels)
            XCTAssertEqual(lossFast.loss, lossReference.loss, accuracy: 1e-5 * max(1, lossReference.loss),
                           "\(what): loss", file: file, line: line)
            let dxFast = fast.backward(lossFast.dLogits)
            let dxReference = reference.backward(lossReference.dLogits)
            assertAgree(dxFast, dxReference, "\(what): dInput", file: file, line: line)
            for (index, (f, r)) in zip(fast.parameters, reference.parameters).enumerated() {
                assertAgree(f.gradient, r.gradient, "\(what): gradient of parameter \(index) (\(f.name) \(f.value.shape))",
                            file: file, line: line)
            }

            fastSGD.step()
            referenceSGD.step()
            for (index, (f, r)) in zip(fast.parameters, reference.parameters).enumerated() {
                assertAgree(f.value, r.value, "\(what): parameter \(index) after the update", file: file, line: line)
            }
            for (lf, lr) in zip(fast.layers, reference.layers) {
                for (bf, br) in zip(lf.buffers, lr.buffers) {
                    assertAgree(bf.get(), br.get(), "\(what): \(bf.name)", file: file, line: line)
                }
            }
            let evalFast = fast.forward(x, mode: .evaluation)
            let evalReference = reference.forward(x, mode: .evaluation)
            assertAgree(evalFast, evalReference, "\(what): evaluation logits", file: file, line: line)
        }
    }

    func testConvBatchNormPoolNetworkFastMatchesReference() {
        assertNetworksAgree(specs: specs, imageShape: [1, 12, 12], batchSizes: [4, 4, 1, 7], seed: 901)
    }

    func testStridedDropoutNetworkFastMatchesReference() {
        assertNetworksAgree(specs: otherSpecs, imageShape: [1, 13, 11], batchSizes: [3, 1, 5], seed: 902)
    }

    func testTwoThreadsFastMatchesReference() {
        withThreads(2) {
            assertNetworksAgree(specs: specs, imageShape: [1, 12, 12], batchSizes: [6, 3], seed: 903)
        }
    }

    /// setBackend reaches every layer type that has one.
    func testSetBackendSwitchesEveryLayer() {
        var rng = RandomGenerator(seed: 904)
        let net = Sequential(specs: specs + [.dropout(p: 0.5)], generator: &rng)
        net.setBackend(.reference)
        for layer in net.layers {
            switch layer {
            case let l as Conv2D: XCTAssertEqual(l.backend, .reference)
            case let l as ReLU: XCTAssertEqual(l.backend, .reference)
            case let l as MaxPool2D: XCTAssertEqual(l.backend, .reference)
            case let l as AvgPool2D: XCTAssertEqual(l.backend, .reference)
            case let l as BatchNorm2D: XCTAssertEqual(l.backend, .reference)
            case let l as Linear: XCTAssertEqual(l.backend, .reference)
            case let l as Dropout: XCTAssertEqual(l.backend, .reference)
            case is Flatten: break
            default: XCTFail("unexpected layer \(layer.spec)")
            }
        }
    }

    /// conv8k3-relu-pool2-conv16k3-relu-pool2-conv32k3-relu-pool2-fc10 on 28×28: the last fused pooling leaves
    /// a 1×1 output, smaller than the pooling window. A spec the parser accepts must train: one step, fused
    /// against the same layers one by one.
    func testFusedPoolingToOneByOneTrains() {
        let specs: [LayerSpec] = [
            .conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, stride: 1, padding: 0), .relu, .maxPool2d(kernelSize: 2, stride: 2),
            .conv2d(inChannels: 8, outChannels: 16, kernelSize: 3, stride: 1, padding: 0), .relu, .maxPool2d(kernelSize: 2, stride: 2),
            .conv2d(inChannels: 16, outChannels: 32, kernelSize: 3, stride: 1, padding: 0), .relu, .maxPool2d(kernelSize: 2, stride: 2),
            .flatten, .linear(inFeatures: 32, outFeatures: 10)]
        XCTAssertTrue(Sequential.validate(specs, input: [1, 1, 28, 28]))
        var g1 = RandomGenerator(seed: 3), g2 = RandomGenerator(seed: 3), data = RandomGenerator(seed: 4)
        let fused = Sequential(specs: specs, generator: &g1)
        let separate = Sequential(Sequential(specs: specs, generator: &g2).layers, fusing: false)
        let x: Tensor<Float> = randomNormalTensor([3, 1, 28, 28], scale: 1, using: &data)
        let loss = SoftmaxCrossEntropy()
        let y1 = fused.forward(x, mode: .training), y2 = separate.forward(x, mode: .training)
        XCTAssertEqual(y1.shape, [3, 10])
        assertAgree(y1, y2, "logits")
        fused.backward(loss(logits: y1, labels: [1, 2, 3]).dLogits)
        separate.backward(loss(logits: y2, labels: [1, 2, 3]).dLogits)
        for (p, q) in zip(fused.parameters, separate.parameters) { assertAgree(p.gradient, q.gradient, "gradient") }
    }
}
