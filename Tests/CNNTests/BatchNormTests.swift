//  BatchNormTests.swift
//
//  Batch normalisation: the fast path against the reference in training and evaluation mode (running statistics
//  included); the running-statistics update against PyTorch's rule on hand-computed numbers; and evaluation mode
//  against training mode once the running statistics equal the batch's.
//
//  PyTorch's update, per channel c, from the m = N·H·W values of that channel:
//      running_mean ← (1 − momentum)·running_mean + momentum·μ
//      running_var  ← (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)     (unbiased variance)
//  Training normalises with the biased σ², so evaluation reproduces training only if the running variance is
//  scaled back by (m − 1)/m; the tests below do that explicitly.
//
//  Dimension legend: N batch, C channels, H×W spatial size.

import CNN
import RealModule
import TestSupport
import XCTest

final class BatchNormTests: XCTestCase {
    /// γ = 1 + N(0, 0.5²), β = N(0, 0.5²): a batch norm that is neither the identity nor degenerate.
    private static func initialize(_ p: Parameter, _ rng: inout RandomGenerator) {
        let noise: Tensor<Float> = randomNormalTensor(p.value.shape, scale: 0.5, using: &rng)
        p.value = Tensor(shape: noise.shape, scalars: noise.scalars.map { p.name == "weight" ? 1 + $0 : $0 })
    }

    private func pair(_ channels: Int, momentum: Float = 0.1, generator: inout RandomGenerator) -> BackendPair<BatchNorm2D> {
        BackendPair({ BatchNorm2D(numFeatures: channels, momentum: momentum, backend: $0) },
                    generator: &generator, initialize: Self.initialize)
    }

    // MARK: - Fast against reference

    /// Shapes (N, C, H, W): batch 1, odd sizes, 1×1 and 1×9 images, C = 1 and C > 1, and channels of two values
    /// (the fewest training takes; one is refused, see below). Training forward, backward, dγ, dβ, the running statistics and the
    /// evaluation forward must agree, also after a change of batch size.
    func testFastMatchesReference() {
        var rng = RandomGenerator(seed: 301)
        let shapes: [[Int]] = [[1, 1, 3, 3], [2, 3, 5, 7], [4, 2, 1, 1], [3, 5, 4, 4], [1, 2, 1, 9], [2, 3, 1, 1],
                               [8, 4, 14, 14]]
        for shape in shapes {
            let layers = pair(shape[1], generator: &rng)
            var other = shape
            other[0] = shape[0] == 1 ? 3 : shape[2] * shape[3] == 1 ? shape[0] + 1 : 1
            assertBackendsAgree("BatchNorm2D", pair: layers, inputShapes: [shape, other], generator: &rng)
            XCTAssertEqual(layers.fast.numBatchesTracked, layers.reference.numBatchesTracked)
        }
    }

    func testFastMatchesReferenceWithTwoThreads() {
        var rng = RandomGenerator(seed: 302)
        withThreads(2) {
            for shape: [Int] in [[2, 3, 5, 7], [3, 5, 4, 4], [5, 2, 1, 9]] {
                let layers = pair(shape[1], generator: &rng)
                assertBackendsAgree("BatchNorm2D, 2 threads", pair: layers, inputShapes: [shape], generator: &rng)
            }
        }
    }

    /// Inputs far from zero mean (offset 100, spread 0.1): a one-pass E[x²] − E[x]² variance would lose all its
    /// digits in Float (E[x²] ≈ 10⁴, whose Float spacing 1e-3 is a tenth of the variance 0.01). Here the two Float
    /// backends legitimately differ by up to ~3e-4: both hold x and μ in Float, whose spacing at 100 is
    /// 2⁻¹⁷ ≈ 7.6e-6, i.e. 7.6e-5 of the spread, and they sum in different orders. So instead of comparing them
    /// with each other, each is held to the reference run in Double, within 1e-3 in relative error (measured:
    /// ~4e-5 for y, ~1e-4 for dγ); a one-pass variance would be off by 100%.
    func testLargeMeanAgainstDoubleReference() {
        var rng = RandomGenerator(seed: 303)
        let (N, C, H, W) = (4, 3, 6, 6)
        let m = Double(N * H * W)
        let z: Tensor<Float> = randomNormalTensor([N, C, H, W], scale: 0.1, using: &rng)
        let x = Tensor(shape: z.shape, scalars: z.scalars.map { 100 + $0 })
        let dy: Tensor<Float> = randomNormalTensor(x.shape, using: &rng)
        let layers = pair(C, generator: &rng)
        let exact = Reference.batchNorm2DForwardTraining(input: x.converted(to: Double.self),
                                                         gamma: layers.fast.weight.value.converted(to: Double.self),
                                                         beta: layers.fast.bias.value.converted(to: Double.self), eps: 1e-5)
        let exactBackward = Reference.batchNorm2DBackward(dOutput: dy.converted(to: Double.self),
                                                          input: x.converted(to: Double.self),
                                                          gamma: layers.fast.weight.value.converted(to: Double.self), eps: 1e-5)
        let exactRunningVariance = Tensor(shape: [C], scalars: exact.variance.scalars.map { 0.9 + 0.1 * $0 * m / (m - 1) })
        for bn in [layers.fast, layers.reference] {
            let what = "\(bn.backend), mean 100"
            let y = bn.forward(x, mode: .training).converted(to: Double.self)
            let dx = bn.backward(dy).converted(to: Double.self)
            XCTAssertLessThan(relativeError(y, exact.output), 1e-3, "\(what): forward output")
            XCTAssertLessThan(relativeError(dx, exactBackward.dInput), 1e-3, "\(what): dInput")
            XCTAssertLessThan(relativeError(bn.weight.gradient.converted(to: Double.self), exactBackward.dGamma), 1e-3,
                              "\(what): dweight")
            XCTAssertLessThan(relativeError(bn.runningVariance.converted(to: Double.self), exactRunningVariance), 1e-3,
                              "\(what): running_var")
            print("BatchNormTests: \(what): relative error of y \(relativeError(y, exact.output)), "
                  + "dx \(relativeError(dx, exactBackward.dInput)), "
                  + "dγ \(relativeError(bn.weight.gradient.converted(to: Double.self), exactBackward.dGamma))")
        }
    }

    /// Variances near ε = 1e-5, where leaving ε out (or adding it twice) changes the output by tens of percent
    /// rather than the ~5e-6 it does at unit variance: training on inputs with spread 0.004 (σ² ≈ 1.6e-5), and
    /// evaluation with running variances of 1e-6 … 1e-4.
    func testSmallVarianceWhereEpsilonMatters() {
        var rng = RandomGenerator(seed: 306)
        let layers = pair(3, generator: &rng)
        assertBackendsAgree("BatchNorm2D, σ ≈ 0.004", pair: layers, inputShapes: [[4, 3, 5, 5]], generator: &rng,
                            makeInput: { shape, rng in randomNormalTensor(shape, scale: 0.004, using: &rng) })
        for bn in [layers.fast, layers.reference] {
            bn.runningMean = Tensor(shape: [3], scalars: [0.001, -0.002, 0])
            bn.runningVariance = Tensor(shape: [3], scalars: [1e-6, 1e-5, 1e-4])
        }
        let x: Tensor<Float> = randomNormalTensor([2, 3, 4, 4], scale: 0.004, using: &rng)
        let expected = Reference.batchNorm2DForwardEvaluation(input: x.converted(to: Double.self),
                                                              gamma: layers.fast.weight.value.converted(to: Double.self),
                                                              beta: layers.fast.bias.value.converted(to: Double.self),
                                                              runningMean: layers.fast.runningMean.converted(to: Double.self),
                                                              runningVariance: layers.fast.runningVariance.converted(to: Double.self),
                                                              eps: 1e-5)
        assertAgree(layers.fast.forward(x, mode: .evaluation), layers.reference.forward(x, mode: .evaluation),
                    "evaluation with small running variances")
        assertClose(layers.fast.forward(x, mode: .evaluation), expected.converted(to: Float.self), rtol: 1e-4, atol: 1e-5,
                    "evaluation with small running variances against Double")
    }

    // MARK: - Running statistics (PyTorch's rule, by hand)

    /// x of shape (2, 2, 1, 2): channel 0 holds 1, 2 (image 0) and 3, 6 (image 1); channel 1 holds 0, 0 and −2, 2.
    ///   channel 0: μ = 12/4 = 3, σ² = (4 + 1 + 0 + 9)/4 = 3.5, unbiased 14/3 ≈ 4.666667
    ///   channel 1: μ = 0,        σ² = (0 + 0 + 4 + 4)/4 = 2,   unbiased 8/3  ≈ 2.666667
    /// From running_mean = 0, running_var = 1 with momentum 0.1:
    ///   running_mean = 0.1·μ                = [0.3, 0]
    ///   running_var  = 0.9 + 0.1·unbiased   = [1.3666667, 1.1666667]
    /// A second batch x + 1 (means 4 and 1, same variances):
    ///   running_mean = 0.9·[0.3, 0] + 0.1·[4, 1]                    = [0.67, 0.1]
    ///   running_var  = 0.9·[1.3666667, 1.1666667] + 0.1·[14/3, 8/3] = [1.6966667, 1.3166667]
    /// With γ = [2, −1], β = [0.5, 1] and ε = 1e-5 the first training output is
    ///   channel 0: 2·(x − 3)/√3.50001 + 0.5 = [−1.638087, −0.569043, 0.5, 3.707130]   (x = 1, 2 | 3, 6)
    ///   channel 1: −(x − 0)/√2.00001 + 1    = [1, 1, 2.414210, −0.414210]            (x = 0, 0 | −2, 2)
    /// and the evaluation output after it, γ·(x − running_mean)/√(running_var + ε) + β, is
    ///   channel 0: [1.697554, 3.408346, 5.119137, 10.251512],   channel 1: [1, 1, 2.851632, −0.851632]
    /// (computed in Double with NumPy).
    func testRunningStatisticsFollowPyTorchHandComputed() {
        for backend in [Backend.fast, .reference] {
            let bn = BatchNorm2D(numFeatures: 2, backend: backend)
            bn.weight.value = Tensor(shape: [2], scalars: [2, -1])
            bn.bias.value = Tensor(shape: [2], scalars: [0.5, 1])
            let x = Tensor<Float>(shape: [2, 2, 1, 2], scalars: [1, 2, 0, 0,
                                                                 3, 6, -2, 2])
            let tag = "\(backend)"
            XCTAssertEqual(bn.numBatchesTracked, 0)

            let y = bn.forward(x, mode: .training)
            assertClose(y, Tensor(shape: [2, 2, 1, 2], scalars: [-1.638087, -0.569043, 1, 1,
                                                                 0.5, 3.707130, 2.414210, -0.414210]),
                        rtol: 1e-5, atol: 1e-5, "\(tag): training output")
            assertClose(bn.runningMean, Tensor(shape: [2], scalars: [0.3, 0]), rtol: 1e-6, atol: 1e-7, "\(tag): running_mean")
            assertClose(bn.runningVariance, Tensor(shape: [2], scalars: [1.3666667, 1.1666667]),
                        rtol: 1e-6, atol: 1e-7, "\(tag): running_var uses the unbiased variance")
            XCTAssertEqual(bn.numBatchesTracked, 1, tag)

            // Evaluation uses the running statistics and leaves them, and the counter, alone.
            let e = bn.forward(x, mode: .evaluation)
            assertClose(e, Tensor(shape: [2, 2, 1, 2], scalars: [1.697554, 3.408346, 1, 1,
                                                                 5.119137, 10.251512, 2.851632, -0.851632]),
                        rtol: 1e-5, atol: 1e-5, "\(tag): evaluation output")
            XCTAssertEqual(bn.numBatchesTracked, 1, "\(tag): evaluation does not count as a batch")
            assertClose(bn.runningMean, Tensor(shape: [2], scalars: [0.3, 0]), rtol: 1e-6, atol: 1e-7,
                        "\(tag): running_mean after evaluation")

            let x2 = Tensor(shape: x.shape, scalars: x.scalars.map { $0 + 1 })
            _ = bn.forward(x2, mode: .training)
            assertClose(bn.runningMean, Tensor(shape: [2], scalars: [0.67, 0.1]), rtol: 1e-6, atol: 1e-7,
                        "\(tag): running_mean after two batches")
            assertClose(bn.runningVariance, Tensor(shape: [2], scalars: [1.6966667, 1.3166667]), rtol: 1e-6, atol: 1e-7,
                        "\(tag): running_var after two batches")
            XCTAssertEqual(bn.numBatchesTracked, 2, tag)
        }
    }

    /// The buffers a checkpoint saves are the running statistics, under PyTorch's names.
    func testBuffersAreTheRunningStatistics() {
        let bn = BatchNorm2D(numFeatures: 3)
        XCTAssertEqual(bn.buffers.map(\.name), ["running_mean", "running_var"])
        bn.buffers[1].set(Tensor(shape: [3], scalars: [4, 5, 6]))
        XCTAssertEqual(bn.runningVariance.scalars, [4, 5, 6])
        XCTAssertEqual(bn.buffers[0].get(), Tensor(shape: [3], repeating: 0))
    }

    /// The fast evaluation forward is, bit for bit, y = x·a + b per value with a = γ/√(running_var + ε) and
    /// b = β − running_mean·a (one Float multiply, then one add), and with a fused ReLU relu(y): planes whose
    /// H·W is below, at, and off a multiple of sixteen, with ±0, ±∞ and NaN among the inputs.
    func testEvaluationIsBitwiseTheScalarFormula() {
        var rng = RandomGenerator(seed: 306)
        let shapes: [[Int]] = [[2, 3, 1, 1], [1, 2, 3, 5], [3, 2, 4, 4], [2, 3, 7, 7], [1, 2, 17, 3], [2, 2, 14, 14]]
        for shape in shapes {
            let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3])
            let bn = BatchNorm2D(numFeatures: C)
            Self.initialize(bn.weight, &rng)
            Self.initialize(bn.bias, &rng)
            let mean: Tensor<Float> = randomNormalTensor([C], scale: 1, using: &rng)
            let spread: Tensor<Float> = randomNormalTensor([C], scale: 1, using: &rng)
            bn.runningMean = mean
            bn.runningVariance = Tensor(shape: [C], scalars: spread.scalars.map { 0.1 + $0 * $0 })
            var x: Tensor<Float> = randomNormalTensor(shape, scale: 2, using: &rng)
            let specials: [Float] = [0, -0, .infinity, -.infinity, .nan]
            for (k, v) in specials.enumerated() where k * 3 < x.count { x.scalars[k * 3] = v }
            var expected = [Float](repeating: 0, count: x.count)
            for n in 0..<N {
                for c in 0..<C {
                    let a = bn.weight.value.scalars[c] / (bn.runningVariance.scalars[c] + bn.eps).squareRoot()
                    let b = bn.bias.value.scalars[c] - bn.runningMean.scalars[c] * a
                    for i in 0..<(H * W) {
                        let o = (n * C + c) * H * W + i
                        expected[o] = x.scalars[o] * a + b
                    }
                }
            }
            for relu in [false, true] {
                let y = bn.forward(x, mode: .evaluation, epilogue: Epilogue(relu: relu))
                XCTAssertEqual(y.shape, shape)
                let want = relu ? expected.map(ReLUPoolEpilogue.relu) : expected
                XCTAssertEqual(y.scalars.map(\.bitPattern), want.map(\.bitPattern), "\(shape), relu \(relu)")
            }
        }
    }

    // MARK: - Evaluation against training

    /// With momentum 1 one training forward sets running_mean = μ and running_var = σ²·m/(m − 1) exactly; scaling
    /// the variance back by (m − 1)/m, the evaluation output must equal the training output.
    func testEvaluationEqualsTrainingWithMomentumOne() {
        var rng = RandomGenerator(seed: 304)
        for backend in [Backend.fast, .reference] {
            let (N, C, H, W) = (3, 4, 5, 5)
            let m = Float(N * H * W)
            let bn = BatchNorm2D(numFeatures: C, momentum: 1, backend: backend)
            Self.initialize(bn.weight, &rng)
            Self.initialize(bn.bias, &rng)
            let x: Tensor<Float> = randomNormalTensor([N, C, H, W], scale: 2, using: &rng)
            let training = bn.forward(x, mode: .training)
            // The running statistics are the batch's (by hand, in Double).
            var mean = [Double](repeating: 0, count: C), variance = [Double](repeating: 0, count: C)
            for c in 0..<C {
                var values: [Double] = []
                for n in 0..<N { for h in 0..<H { for w in 0..<W { values.append(Double(x[n, c, h, w])) } } }
                mean[c] = values.reduce(0, +) / Double(values.count)
                variance[c] = values.map { ($0 - mean[c]) * ($0 - mean[c]) }.reduce(0, +) / Double(values.count - 1)
            }
            assertClose(bn.runningMean, Tensor(shape: [C], scalars: mean.map(Float.init)), rtol: 1e-5, atol: 1e-6,
                        "\(backend): running_mean = μ")
            assertClose(bn.runningVariance, Tensor(shape: [C], scalars: variance.map(Float.init)), rtol: 1e-5, atol: 1e-6,
                        "\(backend): running_var = unbiased σ²")
            bn.runningVariance = Tensor(shape: [C], scalars: bn.runningVariance.scalars.map { $0 * (m - 1) / m })
            assertClose(bn.forward(x, mode: .evaluation), training, rtol: 1e-4, atol: 1e-5,
                        "\(backend): evaluation with the batch's statistics = training")
        }
    }

    /// With PyTorch's default momentum 0.1, 300 training forwards on the same batch converge the running statistics
    /// to the batch's (the initial values decay as 0.9³⁰⁰ ≈ 2e-14); evaluation then matches training.
    func testRunningStatisticsConvergeAndEvaluationMatchesTraining() {
        var rng = RandomGenerator(seed: 305)
        for backend in [Backend.fast, .reference] {
            let (N, C, H, W) = (2, 3, 4, 4)
            let m = Float(N * H * W)
            let bn = BatchNorm2D(numFeatures: C, backend: backend)
            Self.initialize(bn.weight, &rng)
            Self.initialize(bn.bias, &rng)
            var x: Tensor<Float> = randomNormalTensor([N, C, H, W], scale: 3, using: &rng)
            x.scalars = x.scalars.map { $0 + 1.5 }
            var training = Tensor<Float>(shape: [0])
            for _ in 0..<300 { training = bn.forward(x, mode: .training) }
            XCTAssertEqual(bn.numBatchesTracked, 300, "\(backend)")

            let once = BatchNorm2D(numFeatures: C, momentum: 1, backend: backend)
            _ = once.forward(x, mode: .training)
            assertClose(bn.runningMean, once.runningMean, rtol: 1e-4, atol: 1e-5, "\(backend): converged running_mean")
            assertClose(bn.runningVariance, once.runningVariance, rtol: 1e-4, atol: 1e-5, "\(backend): converged running_var")

            bn.runningVariance = Tensor(shape: [C], scalars: bn.runningVariance.scalars.map { $0 * (m - 1) / m })
            assertClose(bn.forward(x, mode: .evaluation), training, rtol: 1e-4, atol: 1e-4,
                        "\(backend): evaluation after convergence = training")
        }
    }

    // MARK: - Accuracy and refusal

    /// Inputs with a large mean, 1000 + N(0, 1): the Float reference (the oracle) must be at least as accurate
    /// as the fast path against the same formulas in Double, and near PyTorch's 1e-5 relative error; summing
    /// thousands of values one by one in Float was off by 4e-4 in y and 1e-3 in dγ.
    func testReferenceIsTheMoreAccurateOnInputsWithALargeMean() {
        var rng = RandomGenerator(seed: 311)
        let shape = [16, 2, 14, 14]
        let noise: Tensor<Float> = randomNormalTensor(shape, scale: 1, using: &rng)
        let x = Tensor(shape: shape, scalars: noise.scalars.map { 1000 + $0 })
        let dy: Tensor<Float> = randomNormalTensor(shape, scale: 1, using: &rng)
        let gamma = Tensor<Float>(shape: [2], scalars: [1.5, 0.5]), beta = Tensor<Float>(shape: [2], scalars: [0.25, -1])
        func double(_ t: Tensor<Float>) -> Tensor<Double> { Tensor(shape: t.shape, scalars: t.scalars.map(Double.init)) }
        func float(_ t: Tensor<Double>) -> Tensor<Float> { Tensor(shape: t.shape, scalars: t.scalars.map(Float.init)) }
        let exactY = float(Reference.batchNorm2DForwardTraining(input: double(x), gamma: double(gamma), beta: double(beta), eps: 1e-5).output)
        let exactDGamma = float(Reference.batchNorm2DBackward(dOutput: double(dy), input: double(x), gamma: double(gamma), eps: 1e-5).dGamma)
        let referenceY = Reference.batchNorm2DForwardTraining(input: x, gamma: gamma, beta: beta, eps: 1e-5).output
        let referenceDGamma = Reference.batchNorm2DBackward(dOutput: dy, input: x, gamma: gamma, eps: 1e-5).dGamma
        let bn = BatchNorm2D(numFeatures: 2)
        bn.weight.value = gamma
        bn.bias.value = beta
        let fastY = bn.forward(x, mode: .training)
        _ = bn.backward(dy)
        let errors = (referenceY: relativeError(referenceY, exactY), fastY: relativeError(fastY, exactY),
                      referenceDGamma: relativeError(referenceDGamma, exactDGamma),
                      fastDGamma: relativeError(bn.weight.gradient, exactDGamma))
        print("  relative errors against Double: \(errors)")
        XCTAssertLessThanOrEqual(errors.referenceY, errors.fastY)
        XCTAssertLessThanOrEqual(errors.referenceDGamma, errors.fastDGamma)
        XCTAssertLessThan(errors.referenceY, 2e-5)
        XCTAssertLessThan(errors.referenceDGamma, 2e-5)
    }

    /// One value per channel in training (batch 1 of 1×1 maps) has no batch statistics; PyTorch refuses it, and
    /// so does the spec check, naming the layer, before anything runs.
    func testOneValuePerChannelInTrainingIsRefused() {
        let specs: [LayerSpec] = [.conv2d(inChannels: 1, outChannels: 3, kernelSize: 4, stride: 1, padding: 0),
                                  .batchNorm2d(numFeatures: 3, eps: 1e-5, momentum: 0.1), .relu, .flatten,
                                  .linear(inFeatures: 3, outFeatures: 10)]
        let problem = Sequential.trainingProblem(specs, input: [1, 1, 4, 4])
        XCTAssertEqual(problem?.layer, 1)
        XCTAssertTrue(problem?.message.contains("more than one value per channel") == true, "\(String(describing: problem))")
        XCTAssertNil(Sequential.trainingProblem(specs, input: [2, 1, 4, 4]), "two values per channel train")
        XCTAssertNil(Sequential.trainingProblem(specs, input: [1, 1, 5, 4]), "2×1 maps train")
        // Evaluation needs no batch statistics.
        var g = RandomGenerator(seed: 1)
        let network = Sequential(specs: specs, generator: &g)
        XCTAssertEqual(network.forward(Tensor(shape: [1, 1, 4, 4], repeating: 1), mode: .evaluation).shape, [1, 10])
    }
}
