//  GradientCheckTests.swift
//
//  Every backward pass of the reference kernels checked against central differences, in Double, plus a few
//  exact values (hand-computed forward results, tie-breaking, numerical stability, output-size formulas).
//
//  Criterion: relativeError(analytic, numerical) < 1e-6, where relativeError is the max-norm relative error
//  of TestSupport (max |a − b| over max(|a|, |b|)). With h = 1e-5 a correct gradient lands near 1e-10; any
//  indexing mistake lands near 1e-2 or above. Loss for a layer: Σ forward(x) · dy for a fixed random dy, so
//  the analytic gradient is backward(dy). Tensors are small so the whole file runs in about a second in debug.
//
//  Dimension legend: N batch, C channels, H, W input size, F filters, HH, WW kernel size, S stride,
//  P padding, K pooling window, D/M linear in/out features.

import CNN
import RealModule
import TestSupport
import XCTest

final class GradientCheckTests: XCTestCase {
    /// The largest acceptable relative error between an analytic and a numerical gradient.
    static let tolerance = 1e-6

    /// The worst relative error seen by any check in this class, printed once at the end.
    nonisolated(unsafe) private static var worst = (error: 0.0, check: "none")

    override class func tearDown() {
        print("GradientCheckTests: worst relative error \(worst.error) (\(worst.check)), tolerance \(tolerance)")
        super.tearDown()
    }

    /// Asserts that `analytic` matches `numerical` within `tolerance` in relative error, and records the error.
    private func check(
        _ name: String, analytic: Tensor<Double>, numerical: Tensor<Double>,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        guard analytic.shape == numerical.shape else {
            XCTFail("\(name): analytic shape \(analytic.shape) vs numerical \(numerical.shape)", file: file, line: line)
            return
        }
        let error = relativeError(analytic, numerical)
        if !(error <= Self.worst.error) { Self.worst = (error, name) }
        XCTAssertLessThan(error, Self.tolerance, "\(name): relative error \(error)", file: file, line: line)
    }

    // MARK: - Conv2D

    private struct ConvCase: CustomStringConvertible {
        var n, c, h, w, f, hh, ww, stride, padding: Int
        var description: String {
            "conv N\(n) C\(c) H\(h) W\(w) F\(f) kernel \(hh)×\(ww) S\(stride) P\(padding)"
        }
    }

    /// Kernel sizes 1, 2×3, 3, 5; strides 1 and 2; paddings 0, 1, 2; square and non-square inputs;
    /// C = 1 and C > 1; N = 1 and N > 1; output sizes that round down.
    private let convCases: [ConvCase] = [
        ConvCase(n: 1, c: 1, h: 5, w: 5, f: 1, hh: 1, ww: 1, stride: 1, padding: 0),
        ConvCase(n: 2, c: 3, h: 4, w: 6, f: 2, hh: 1, ww: 1, stride: 2, padding: 1),
        ConvCase(n: 2, c: 3, h: 5, w: 5, f: 2, hh: 3, ww: 3, stride: 1, padding: 1),
        ConvCase(n: 1, c: 2, h: 7, w: 5, f: 3, hh: 3, ww: 3, stride: 2, padding: 1),
        ConvCase(n: 2, c: 2, h: 6, w: 7, f: 2, hh: 3, ww: 3, stride: 2, padding: 0),
        ConvCase(n: 1, c: 1, h: 4, w: 4, f: 2, hh: 3, ww: 3, stride: 1, padding: 2),
        ConvCase(n: 2, c: 1, h: 6, w: 6, f: 2, hh: 5, ww: 5, stride: 1, padding: 2),
        ConvCase(n: 1, c: 2, h: 7, w: 6, f: 2, hh: 5, ww: 5, stride: 2, padding: 2),
        ConvCase(n: 1, c: 2, h: 7, w: 5, f: 2, hh: 2, ww: 3, stride: 1, padding: 0),
        ConvCase(n: 2, c: 2, h: 7, w: 5, f: 3, hh: 2, ww: 3, stride: 2, padding: 1),
    ]

    func testConv2DGradients() {
        var rng = RandomGenerator(seed: 1)
        for cc in convCases {
            let x: Tensor<Double> = randomNormalTensor([cc.n, cc.c, cc.h, cc.w], using: &rng)
            let w: Tensor<Double> = randomNormalTensor([cc.f, cc.c, cc.hh, cc.ww], scale: 0.5, using: &rng)
            let b: Tensor<Double> = randomNormalTensor([cc.f], using: &rng)
            let forward = { (x: Tensor<Double>, w: Tensor<Double>, b: Tensor<Double>) in
                Reference.conv2DForward(input: x, weight: w, bias: b, stride: cc.stride, padding: cc.padding)
            }
            let y = forward(x, w, b)
            let ho = Reference.conv2DOutputSize(input: cc.h, kernel: cc.hh, stride: cc.stride, padding: cc.padding)
            let wo = Reference.conv2DOutputSize(input: cc.w, kernel: cc.ww, stride: cc.stride, padding: cc.padding)
            XCTAssertEqual(y.shape, [cc.n, cc.f, ho, wo], "\(cc)")
            let dy: Tensor<Double> = randomNormalTensor(y.shape, using: &rng)

            let analytic = Reference.conv2DBackward(dOutput: dy, input: x, weight: w,
                                                    stride: cc.stride, padding: cc.padding)
            check("\(cc) dInput", analytic: analytic.dInput,
                  numerical: numericalGradient(of: { forward($0, w, b) }, at: x, upstream: dy))
            check("\(cc) dWeight", analytic: analytic.dWeight,
                  numerical: numericalGradient(of: { forward(x, $0, b) }, at: w, upstream: dy))
            check("\(cc) dBias", analytic: analytic.dBias,
                  numerical: numericalGradient(of: { forward(x, w, $0) }, at: b, upstream: dy))
        }
    }

    // MARK: - Pooling

    private struct PoolCase: CustomStringConvertible {
        var n, c, h, w, kernel, stride: Int
        var description: String { "pool N\(n) C\(c) H\(h) W\(w) K\(kernel) S\(stride)" }
    }

    /// Non-overlapping (K2 S2, K3 S3) and overlapping (K3 S2, K3 S1) windows, with sizes that divide evenly
    /// and sizes that leave rows or columns no window reaches.
    private let poolCases: [PoolCase] = [
        PoolCase(n: 2, c: 2, h: 6, w: 6, kernel: 2, stride: 2),
        PoolCase(n: 1, c: 2, h: 7, w: 5, kernel: 2, stride: 2),
        PoolCase(n: 2, c: 1, h: 5, w: 7, kernel: 3, stride: 3),
        PoolCase(n: 2, c: 1, h: 7, w: 7, kernel: 3, stride: 2),
        PoolCase(n: 1, c: 2, h: 8, w: 6, kernel: 3, stride: 2),
        PoolCase(n: 1, c: 2, h: 6, w: 5, kernel: 3, stride: 1),
    ]

    func testMaxPool2DGradients() {
        var rng = RandomGenerator(seed: 2)
        for pc in poolCases {
            // Distinct values 0.01 apart: no ties, and a step of 1e-5 never changes a window's maximum.
            let x: Tensor<Double> = randomDistinctTensor([pc.n, pc.c, pc.h, pc.w], spacing: 0.01, using: &rng)
            let forward = { (x: Tensor<Double>) in
                Reference.maxPool2DForward(input: x, kernel: pc.kernel, stride: pc.stride)
            }
            let dy: Tensor<Double> = randomNormalTensor(forward(x).shape, using: &rng)
            let analytic = Reference.maxPool2DBackward(dOutput: dy, input: x, kernel: pc.kernel, stride: pc.stride)
            check("max \(pc) dInput", analytic: analytic,
                  numerical: numericalGradient(of: forward, at: x, upstream: dy))
        }
    }

    func testAvgPool2DGradients() {
        var rng = RandomGenerator(seed: 3)
        for pc in poolCases {
            let x: Tensor<Double> = randomNormalTensor([pc.n, pc.c, pc.h, pc.w], using: &rng)
            let forward = { (x: Tensor<Double>) in
                Reference.avgPool2DForward(input: x, kernel: pc.kernel, stride: pc.stride)
            }
            let dy: Tensor<Double> = randomNormalTensor(forward(x).shape, using: &rng)
            let analytic = Reference.avgPool2DBackward(dOutput: dy, inputShape: x.shape,
                                                       kernel: pc.kernel, stride: pc.stride)
            check("avg \(pc) dInput", analytic: analytic,
                  numerical: numericalGradient(of: forward, at: x, upstream: dy))
        }
    }

    // MARK: - Batch norm

    func testBatchNorm2DGradients() {
        var rng = RandomGenerator(seed: 4)
        let eps = 1e-5
        for shape in [[2, 3, 3, 4], [1, 2, 2, 3], [4, 1, 1, 1]] {
            let c = shape[1]
            // An offset and a scale per tensor, so the normalisation has something to remove.
            var x: Tensor<Double> = randomNormalTensor(shape, scale: 2, using: &rng)
            x.scalars = x.scalars.map { $0 + 0.7 }
            let gamma: Tensor<Double> = randomUniformTensor([c], low: 0.5, high: 1.5, using: &rng)
            let beta: Tensor<Double> = randomNormalTensor([c], using: &rng)
            let forward = { (x: Tensor<Double>, gamma: Tensor<Double>, beta: Tensor<Double>) in
                Reference.batchNorm2DForwardTraining(input: x, gamma: gamma, beta: beta, eps: eps).output
            }
            let dy: Tensor<Double> = randomNormalTensor(shape, using: &rng)
            let analytic = Reference.batchNorm2DBackward(dOutput: dy, input: x, gamma: gamma, eps: eps)
            check("batchNorm \(shape) dInput", analytic: analytic.dInput,
                  numerical: numericalGradient(of: { forward($0, gamma, beta) }, at: x, upstream: dy))
            check("batchNorm \(shape) dGamma", analytic: analytic.dGamma,
                  numerical: numericalGradient(of: { forward(x, $0, beta) }, at: gamma, upstream: dy))
            check("batchNorm \(shape) dBeta", analytic: analytic.dBeta,
                  numerical: numericalGradient(of: { forward(x, gamma, $0) }, at: beta, upstream: dy))
        }
    }

    /// The training forward pass normalises each channel to mean β and standard deviation ≈ γ, and the
    /// statistics it returns are the batch mean and biased variance.
    func testBatchNorm2DForwardStatistics() {
        // x[n, c, h, w]: channel 0 holds 1, 2, 3, 4; channel 1 holds 10, 10, 10, 14 (N = 2, H = 1, W = 2).
        let x = Tensor<Double>(shape: [2, 2, 1, 2], scalars: [1, 2, 10, 10, 3, 4, 10, 14])
        let result = Reference.batchNorm2DForwardTraining(
            input: x, gamma: Tensor(shape: [2], scalars: [1, 1]), beta: Tensor(shape: [2], scalars: [0, 0]), eps: 0)
        // Channel 0: mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
        // Channel 1: mean 11, biased variance (1 + 1 + 1 + 9) / 4 = 3.
        assertClose(result.mean, Tensor(shape: [2], scalars: [2.5, 11]), rtol: 1e-12, atol: 0)
        assertClose(result.variance, Tensor(shape: [2], scalars: [1.25, 3]), rtol: 1e-12, atol: 0)
        let evaluation = Reference.batchNorm2DForwardEvaluation(
            input: x, gamma: Tensor(shape: [2], scalars: [1, 1]), beta: Tensor(shape: [2], scalars: [0, 0]),
            runningMean: result.mean, runningVariance: result.variance, eps: 0)
        assertClose(evaluation, result.output, rtol: 1e-12, atol: 1e-12, "evaluation with the batch statistics")
    }

    // MARK: - Linear

    func testLinearGradients() {
        var rng = RandomGenerator(seed: 5)
        for (n, d, m) in [(3, 4, 5), (1, 6, 2)] {
            let x: Tensor<Double> = randomNormalTensor([n, d], using: &rng)
            let w: Tensor<Double> = randomNormalTensor([m, d], using: &rng)
            let b: Tensor<Double> = randomNormalTensor([m], using: &rng)
            let forward = { (x: Tensor<Double>, w: Tensor<Double>, b: Tensor<Double>) in
                Reference.linearForward(input: x, weight: w, bias: b)
            }
            let dy: Tensor<Double> = randomNormalTensor([n, m], using: &rng)
            let analytic = Reference.linearBackward(dOutput: dy, input: x, weight: w)
            let name = "linear N\(n) D\(d) M\(m)"
            check("\(name) dInput", analytic: analytic.dInput,
                  numerical: numericalGradient(of: { forward($0, w, b) }, at: x, upstream: dy))
            check("\(name) dWeight", analytic: analytic.dWeight,
                  numerical: numericalGradient(of: { forward(x, $0, b) }, at: w, upstream: dy))
            check("\(name) dBias", analytic: analytic.dBias,
                  numerical: numericalGradient(of: { forward(x, w, $0) }, at: b, upstream: dy))
        }
    }

    // MARK: - Activations

    func testReLUGradient() {
        var rng = RandomGenerator(seed: 6)
        // At least 0.1 from the kink at 0, so x ± h never crosses it.
        let x: Tensor<Double> = randomAwayFromZeroTensor([2, 3, 4, 4], margin: 0.1, using: &rng)
        let dy: Tensor<Double> = randomNormalTensor(x.shape, using: &rng)
        let analytic = Reference.reluBackward(dOutput: dy, input: x)
        check("relu dInput", analytic: analytic,
              numerical: numericalGradient(of: { Reference.reluForward(input: $0) }, at: x, upstream: dy))
    }

    func testReLUGradientIsZeroAtZero() {
        let x = Tensor<Double>(shape: [1, 3], scalars: [-1, 0, 2])
        let dx = Reference.reluBackward(dOutput: Tensor(shape: [1, 3], scalars: [5, 5, 5]), input: x)
        XCTAssertEqual(dx.scalars, [0, 0, 5])
    }

    func testDropoutGradient() {
        var rng = RandomGenerator(seed: 7)
        let p = 0.3
        let x: Tensor<Double> = randomNormalTensor([2, 3, 4, 4], using: &rng)
        var mask = Tensor<Double>(shape: x.shape)
        for t in 0..<mask.count {
            mask.scalars[t] = Double(rng.nextUniform()) < p ? 0 : 1 / (1 - p)
        }
        let dy: Tensor<Double> = randomNormalTensor(x.shape, using: &rng)
        let analytic = Reference.dropoutBackward(dOutput: dy, mask: mask)
        check("dropout dInput", analytic: analytic,
              numerical: numericalGradient(of: { Reference.dropoutForward(input: $0, mask: mask) }, at: x, upstream: dy))
    }

    // MARK: - Softmax cross-entropy

    func testSoftmaxCrossEntropyGradient() {
        var rng = RandomGenerator(seed: 8)
        let logits: Tensor<Double> = randomNormalTensor([4, 5], scale: 2, using: &rng)
        let labels = [0, 3, 4, 3]
        let analytic = Reference.softmaxCrossEntropy(logits: logits, labels: labels).dLogits
        let numerical = numericalGradient(
            of: { Reference.softmaxCrossEntropy(logits: $0, labels: labels).loss }, at: logits)
        check("softmaxCrossEntropy dLogits", analytic: analytic, numerical: numerical)
    }

    func testSoftmaxCrossEntropyIsStableForLargeLogits() {
        // Row 0 puts the label's logit 2000 above the other: loss exp(−2000) ≈ 0, softmax (1, 0).
        // Row 1 puts it 2000 below: loss 2000, softmax (0, 1). Mean loss 1000.
        let values: [Double] = [1000, -1000, -1000, 1000]
        let labels = [0, 0]
        let expectedGradient = Tensor<Double>(shape: [2, 2], scalars: [0, 0, -0.5, 0.5])   // (softmax − onehot) / 2

        let double = Reference.softmaxCrossEntropy(logits: Tensor(shape: [2, 2], scalars: values), labels: labels)
        XCTAssertTrue(double.loss.isFinite)
        XCTAssertEqual(double.loss, 1000, accuracy: 1e-9)
        assertClose(double.dLogits, expectedGradient, rtol: 0, atol: 1e-12)

        // In Float exp(1000) would overflow to infinity without the max subtraction.
        let float = Reference.softmaxCrossEntropy(
            logits: Tensor<Float>(shape: [2, 2], scalars: values.map { Float($0) }), labels: labels)
        XCTAssertTrue(float.loss.isFinite)
        XCTAssertEqual(float.loss, 1000, accuracy: 1e-3)
        assertClose(float.dLogits, expectedGradient.converted(to: Float.self), rtol: 0, atol: 1e-6)
    }

    func testSoftmaxCrossEntropyUniformLogits() {
        // Equal logits: softmax is 1/K everywhere, so the loss is log K.
        let result = Reference.softmaxCrossEntropy(logits: Tensor<Double>(shape: [3, 10], repeating: 0.25),
                                                   labels: [1, 5, 9])
        XCTAssertEqual(result.loss, Double.log(10), accuracy: 1e-12)
    }

    // MARK: - Exact values

    func testConv2DForwardHandComputed() {
        // x is one 3×3 plane holding 1…9 row by row; w is one 2×2 kernel [[1, 2], [3, 4]]; b = 0.5; S 1, P 0.
        // Worked by hand, y[i, j] = 1·x[i, j] + 2·x[i, j+1] + 3·x[i+1, j] + 4·x[i+1, j+1] + 0.5:
        //   y[0, 0] = 1 + 4 + 12 + 20 + 0.5 = 37.5      y[0, 1] = 2 + 6 + 15 + 24 + 0.5 = 47.5
        //   y[1, 0] = 4 + 10 + 21 + 32 + 0.5 = 67.5     y[1, 1] = 5 + 12 + 24 + 36 + 0.5 = 77.5
        let x = Tensor<Double>(shape: [1, 1, 3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let w = Tensor<Double>(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        let b = Tensor<Double>(shape: [1], scalars: [0.5])
        let y = Reference.conv2DForward(input: x, weight: w, bias: b, stride: 1, padding: 0)
        assertClose(y, Tensor(shape: [1, 1, 2, 2], scalars: [37.5, 47.5, 67.5, 77.5]), rtol: 0, atol: 1e-12)
    }

    func testConv2DForwardPaddedStridedHandComputed() {
        // The same 3×3 plane 1…9, a 3×3 kernel of ones, zero bias, S 2, P 1: Ho = Wo = 1 + (3 + 2 − 3)/2 = 2.
        // Each window is centred on a corner of x and sums the 2×2 block of x it overlaps (the rest is padding):
        //   y[0, 0] = 1 + 2 + 4 + 5 = 12     y[0, 1] = 2 + 3 + 5 + 6 = 16
        //   y[1, 0] = 4 + 5 + 7 + 8 = 24     y[1, 1] = 5 + 6 + 8 + 9 = 28
        // A second filter of twos with bias −1 gives 2·y − 1, and a second input channel of zeros adds nothing.
        var x = Tensor<Double>(shape: [1, 2, 3, 3])
        for t in 0..<9 { x.scalars[t] = Double(t + 1) }
        var w = Tensor<Double>(shape: [2, 2, 3, 3])
        for k in 0..<3 { for l in 0..<3 { w[0, 0, k, l] = 1; w[1, 0, k, l] = 2; w[0, 1, k, l] = 7; w[1, 1, k, l] = 7 } }
        let b = Tensor<Double>(shape: [2], scalars: [0, -1])
        let y = Reference.conv2DForward(input: x, weight: w, bias: b, stride: 2, padding: 1)
        assertClose(y, Tensor(shape: [1, 2, 2, 2], scalars: [12, 16, 24, 28, 23, 31, 47, 55]), rtol: 0, atol: 1e-12)
    }

    func testMaxPoolGradientGoesToFirstMaximumOnTie() {
        // Window 0 (columns 0–1) is all 1s: its gradient goes to (0, 0), the first in row-major order.
        // Window 1 (columns 2–3) holds [[0, 5], [5, 0]]: the tie at (0, 3) and (1, 2) goes to (0, 3).
        let x = Tensor<Double>(shape: [1, 1, 2, 4], scalars: [1, 1, 0, 5,
                                                             1, 1, 5, 0])
        let dy = Tensor<Double>(shape: [1, 1, 1, 2], scalars: [3, 7])
        XCTAssertEqual(Reference.maxPool2DForward(input: x, kernel: 2, stride: 2).scalars, [1, 5])
        let dx = Reference.maxPool2DBackward(dOutput: dy, input: x, kernel: 2, stride: 2)
        XCTAssertEqual(dx.scalars, [3, 0, 0, 7,
                                    0, 0, 0, 0])
    }

    func testMaxPoolGradientAccumulatesOverOverlappingWindows() {
        // K 2, S 1 over a 2×3 plane gives two windows (columns 0–1 and 1–2) that share the middle column,
        // where the maximum 9 sits: both windows pick it, so it receives the sum of their gradients.
        let x = Tensor<Double>(shape: [1, 1, 2, 3], scalars: [0, 9, 1,
                                                             2, 3, 4])
        let dy = Tensor<Double>(shape: [1, 1, 1, 2], scalars: [3, 7])
        let dx = Reference.maxPool2DBackward(dOutput: dy, input: x, kernel: 2, stride: 1)
        XCTAssertEqual(dx.scalars, [0, 10, 0,
                                    0, 0, 0])
    }

    func testOutputSizeFormulas() {
        // Conv: 1 + ⌊(input + 2P − kernel) / S⌋.
        XCTAssertEqual(Reference.conv2DOutputSize(input: 28, kernel: 5, stride: 1, padding: 0), 24)
        XCTAssertEqual(Reference.conv2DOutputSize(input: 28, kernel: 3, stride: 1, padding: 1), 28)
        XCTAssertEqual(Reference.conv2DOutputSize(input: 28, kernel: 1, stride: 1, padding: 0), 28)
        XCTAssertEqual(Reference.conv2DOutputSize(input: 7, kernel: 3, stride: 2, padding: 1), 4)    // 1 + 6/2
        XCTAssertEqual(Reference.conv2DOutputSize(input: 6, kernel: 3, stride: 2, padding: 1), 3)    // 1 + ⌊5/2⌋
        XCTAssertEqual(Reference.conv2DOutputSize(input: 6, kernel: 3, stride: 2, padding: 0), 2)    // 1 + ⌊3/2⌋
        XCTAssertEqual(Reference.conv2DOutputSize(input: 4, kernel: 3, stride: 1, padding: 2), 6)
        XCTAssertEqual(Reference.conv2DOutputSize(input: 3, kernel: 3, stride: 5, padding: 0), 1)
        // Does not fit: ≤ 0.
        XCTAssertLessThanOrEqual(Reference.conv2DOutputSize(input: 2, kernel: 5, stride: 1, padding: 0), 0)
        XCTAssertLessThanOrEqual(Reference.conv2DOutputSize(input: 2, kernel: 5, stride: 2, padding: 0), 0)
        XCTAssertLessThanOrEqual(Reference.conv2DOutputSize(input: 2, kernel: 4, stride: 3, padding: 0), 0)
        // Pool: 1 + ⌊(input − kernel) / S⌋.
        XCTAssertEqual(Reference.pool2DOutputSize(input: 28, kernel: 2, stride: 2), 14)
        XCTAssertEqual(Reference.pool2DOutputSize(input: 7, kernel: 2, stride: 2), 3)                // 1 + ⌊5/2⌋
        XCTAssertEqual(Reference.pool2DOutputSize(input: 7, kernel: 3, stride: 2), 3)
        XCTAssertEqual(Reference.pool2DOutputSize(input: 8, kernel: 3, stride: 2), 3)                // 1 + ⌊5/2⌋
        XCTAssertEqual(Reference.pool2DOutputSize(input: 6, kernel: 3, stride: 1), 4)
        XCTAssertEqual(Reference.pool2DOutputSize(input: 5, kernel: 3, stride: 3), 1)
        XCTAssertLessThanOrEqual(Reference.pool2DOutputSize(input: 2, kernel: 3, stride: 2), 0)
    }
}
