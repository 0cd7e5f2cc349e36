//  LabelSmoothingAndEMATests.swift
//
//  Label smoothing against PyTorch 2.15: the losses and gradients below were printed by
//      z = torch.tensor([[2.0, -1.0, 0.5, 0.0], [0.1, 0.2, 0.3, -3.0], [5.0, 1.0, -2.0, 0.5]], requires_grad=True)
//      l = torch.nn.functional.cross_entropy(z, torch.tensor([0, 3, 1]), label_smoothing=eps); l.backward()
//  for eps = 0.1 and 0.25 (float32; tolerance 1e-6). And the moving average of the weights against its formula.

import CNN
import TestSupport
import XCTest

final class LabelSmoothingAndEMATests: XCTestCase {
    private let logits = Tensor<Float>(shape: [3, 4], scalars: [2, -1, 0.5, 0, 0.1, 0.2, 0.3, -3, 5, 1, -2, 0.5])
    private let labels = [0, 3, 1]

    func testLabelSmoothingMatchesPyTorch() {
        let cases: [(Float, Float, [Float])] = [
            (0.1, 2.8658766746520996, [-0.07163338363170624, 0.0034512626007199287, 0.044481560587882996, 0.023700522258877754,
                                       0.09053101390600204, 0.10092867165803909, 0.11241985857486725, -0.3038795590400696,
                                       0.3151855170726776, -0.3024078607559204, -0.008038322441279888, -0.004739363212138414]),
            (0.25, 2.8208765983581543, [-0.03413335606455803, -0.009048733860254288, 0.03198157250881195, 0.01120053045451641,
                                        0.078031025826931, 0.08842867612838745, 0.0999198704957962, -0.26637959480285645,
                                        0.30268561840057373, -0.2649078965187073, -0.020538322627544403, -0.017239362001419067]),
        ]
        for (eps, loss, gradient) in cases {
            let r = SoftmaxCrossEntropy(labelSmoothing: eps)(logits: logits, labels: labels)
            XCTAssertEqual(r.loss, loss, accuracy: 1e-6, "loss at ε = \(eps)")
            assertClose(r.dLogits, Tensor(shape: [3, 4], scalars: gradient), rtol: 1e-5, atol: 1e-6, "dz at ε = \(eps)")
            XCTAssertEqual(r.correct, 1, "accuracy does not depend on smoothing: only row 0 has its label as the largest logit")
        }
    }

    /// ε = 0 is plain cross-entropy, bit for bit.
    func testNoSmoothingIsPlainCrossEntropy() {
        let plain = SoftmaxCrossEntropy()(logits: logits, labels: labels)
        let zero = SoftmaxCrossEntropy(labelSmoothing: 0)(logits: logits, labels: labels)
        XCTAssertEqual(plain.loss, zero.loss)
        XCTAssertEqual(plain.dLogits, zero.dLogits)
    }

    /// s ← d·s + (1 − d)·p over parameters and batch-norm buffers, from the initial values; the state restores it.
    func testMovingAverageFollowsItsFormulaOverParametersAndBuffers() throws {
        var generator = RandomGenerator(seed: 3)
        let specs: [LayerSpec] = [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 1, padding: 1),
                                  .batchNorm2d(numFeatures: 2, eps: 1e-5, momentum: 0.1), .relu, .flatten,
                                  .linear(inFeatures: 2 * 4 * 4, outFeatures: 10)]
        let net = Sequential(specs: specs, generator: &generator)
        let ema = ExponentialMovingAverage(of: net, shadow: Sequential(specs: specs, generator: &generator), decay: 0.75)
        let start = net.parameters.map(\.value)
        XCTAssertEqual(ema.network.parameters.map(\.value), start, "starts at the network's values")
        // Two "steps": move every parameter and the running mean, then update.
        let bn = net.layers[1] as! BatchNorm2D
        var expected = start, expectedMean = bn.runningMean
        for step in 1...2 {
            for p in net.parameters { p.value = Tensor(shape: p.value.shape, scalars: p.value.scalars.map { $0 + Float(step) }) }
            bn.runningMean = Tensor(shape: [2], scalars: [Float(step), -Float(step)])
            bn.numBatchesTracked = Int64(step * 10)
            ema.update()
            expected = zip(expected, net.parameters).map { s, p in
                Tensor(shape: s.shape, scalars: zip(s.scalars, p.value.scalars).map { 0.75 * $0 + 0.25 * $1 })
            }
            expectedMean = Tensor(shape: [2], scalars: zip(expectedMean.scalars, bn.runningMean.scalars).map { 0.75 * $0 + 0.25 * $1 })
        }
        for (a, b) in zip(ema.network.parameters.map(\.value), expected) { assertClose(a, b, rtol: 1e-6, atol: 1e-6, "parameter") }
        let shadowBN = ema.network.layers[1] as! BatchNorm2D
        assertClose(shadowBN.runningMean, expectedMean, rtol: 1e-6, atol: 1e-6, "running mean")
        XCTAssertEqual(shadowBN.numBatchesTracked, 20, "num_batches_tracked is copied")

        var other = RandomGenerator(seed: 9)
        let copy = ExponentialMovingAverage(of: net, shadow: Sequential(specs: specs, generator: &other), decay: 0.75)
        try copy.restore(ema.state)
        XCTAssertEqual(copy.network.parameters.map(\.value), ema.network.parameters.map(\.value))
        XCTAssertEqual((copy.network.layers[1] as! BatchNorm2D).runningVariance, shadowBN.runningVariance)
        XCTAssertEqual(ema.state.map(\.name), ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                               "4.weight", "4.bias"])
        XCTAssertThrowsError(try copy.restore(Array(ema.state.dropLast()))) { XCTAssertEqual($0 as? OptimizerStateError, .missing("4.bias")) }
    }
}
