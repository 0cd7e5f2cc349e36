//  InitializationTests.swift
//
//  Seeded initialisation: the same seed builds the same network, another seed another; PyTorch's default draws
//  weight and bias from U(−1/√fan_in, 1/√fan_in); He-normal draws the weight from N(0, 2/fan_in) and zeroes the bias.
//  Statistical bounds are ≥ 5 standard errors wide, and the draws are seeded, so the tests are deterministic.

import CNN
import RealModule
import TestSupport
import XCTest

final class InitializationTests: XCTestCase {
    private let specs: [LayerSpec] = [
        .conv2d(inChannels: 1, outChannels: 8, kernelSize: 5, stride: 1, padding: 2),
        .batchNorm2d(numFeatures: 8, eps: 1e-5, momentum: 0.1),
        .relu,
        .maxPool2d(kernelSize: 2, stride: 2),
        .dropout(p: 0.25),
        .flatten,
        .linear(inFeatures: 8 * 14 * 14, outFeatures: 10),
    ]

    private func build(seed: UInt64, _ initialization: Initialization = .pytorchDefault) -> Sequential {
        var rng = RandomGenerator(seed: seed)
        return Sequential(specs: specs, initialization: initialization, generator: &rng)
    }

    func testSameSeedGivesIdenticalNetworks() {
        for initialization in Initialization.allCases {
            let a = build(seed: 7, initialization), b = build(seed: 7, initialization)
            XCTAssertEqual(a.parameters.count, 6)
            for (p, q) in zip(a.parameters, b.parameters) {
                XCTAssertEqual(p.value, q.value, "\(initialization): \(p.name)")
            }
            // Dropout's generator is derived from the same seed.
            let da = a.layers.compactMap { $0 as? Dropout }.first!, db = b.layers.compactMap { $0 as? Dropout }.first!
            XCTAssertEqual(da.generator, db.generator)
        }
    }

    func testDifferentSeedsGiveDifferentNetworks() {
        for initialization in Initialization.allCases {
            let a = build(seed: 7, initialization), b = build(seed: 8, initialization)
            for (p, q) in zip(a.parameters, b.parameters) where p.name == "weight" && p.value.count > 8 {
                XCTAssertNotEqual(p.value, q.value, "\(initialization): \(p.name) \(p.value.shape)")
            }
        }
    }

    /// Conv2D(16 → 32, 5×5): fan_in = 400, bound b = 1/20 = 0.05, 12 800 weights. Every |w| ≤ b; the extremes reach
    /// past 0.99·b (for uniform samples P(all |w| < 0.99·b) = 0.99¹²⁸⁰⁰ ≈ 0); the mean is ≈ 0 and the variance
    /// ≈ b²/3 (standard errors ≈ 2.6e-4 and 6.6e-6); each tenth of [−b, b] holds ≈ 1280 ± 34 samples. The bias
    /// uses the same bound.
    func testPyTorchDefaultBounds() {
        var rng = RandomGenerator(seed: 11)
        let conv = Conv2D(inChannels: 16, outChannels: 32, kernelSize: 5)
        Initialization.pytorchDefault.initialize(weight: conv.weight, bias: conv.bias, fanIn: 16 * 25, generator: &rng)
        let bound: Float = 0.05
        let w = conv.weight.value.scalars
        XCTAssert(w.allSatisfy { abs($0) <= bound }, "a weight beyond 1/√fan_in")
        XCTAssertGreaterThan(w.max()!, 0.99 * bound)
        XCTAssertLessThan(w.min()!, -0.99 * bound)
        let mean = w.reduce(0.0) { $0 + Double($1) } / Double(w.count)
        let variance = w.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(w.count)
        XCTAssertEqual(mean, 0, accuracy: 0.0015)
        XCTAssertEqual(variance, Double(bound * bound) / 3, accuracy: 4e-5)
        var bins = [Int](repeating: 0, count: 10)
        for v in w { bins[min(9, Int((v + bound) / (2 * bound) * 10))] += 1 }
        for (i, count) in bins.enumerated() {
            XCTAssertEqual(Double(count), 1280, accuracy: 200, "bin \(i) of \(bins)")
        }
        XCTAssert(conv.bias.value.scalars.allSatisfy { abs($0) <= bound }, "a bias beyond 1/√fan_in")
        XCTAssertNotEqual(conv.bias.value, Tensor(shape: [32]), "the bias is drawn, not zero")

        // A linear layer: fan_in = D = 784, b = 1/28.
        let linear = Linear(inFeatures: 784, outFeatures: 10)
        Initialization.pytorchDefault.initialize(weight: linear.weight, bias: linear.bias, fanIn: 784, generator: &rng)
        let lb = 1 / Float(28)
        XCTAssert((linear.weight.value.scalars + linear.bias.value.scalars).allSatisfy { abs($0) <= lb })
        XCTAssertGreaterThan(linear.weight.value.scalars.map { abs($0) }.max()!, 0.99 * lb)
    }

    /// Linear(1024 → 256) with He-normal: 262 144 weights with std √(2/1024) = 0.0441942; the sample std is within
    /// 1% (its standard error is 0.14%), the mean within 0.001 (standard error 8.6e-5); the bias is zero.
    func testHeNormalStandardDeviation() {
        var rng = RandomGenerator(seed: 12)
        let linear = Linear(inFeatures: 1024, outFeatures: 256)
        linear.bias.value = Tensor(shape: [256], repeating: 3)   // must be overwritten with zeros
        Initialization.heNormal.initialize(weight: linear.weight, bias: linear.bias, fanIn: 1024, generator: &rng)
        let w = linear.weight.value.scalars
        let mean = w.reduce(0.0) { $0 + Double($1) } / Double(w.count)
        let std = (w.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(w.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.001)
        XCTAssertEqual(std, (2.0 / 1024).squareRoot(), accuracy: 0.01 * (2.0 / 1024).squareRoot())
        XCTAssertEqual(linear.bias.value, Tensor(shape: [256], repeating: 0))

        // Through Sequential(specs:), conv fan_in = C·K·K = 144: 18 432 weights, std standard error 0.5%.
        var seq = RandomGenerator(seed: 13)
        let net = Sequential(specs: [.conv2d(inChannels: 16, outChannels: 128, kernelSize: 3, stride: 1, padding: 1)],
                             initialization: .heNormal, generator: &seq)
        let cw = net.parameters[0].value.scalars
        let cstd = (cw.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(cw.count)).squareRoot()
        XCTAssertEqual(cstd, (2.0 / 144).squareRoot(), accuracy: 0.03 * (2.0 / 144).squareRoot())
        XCTAssertEqual(net.parameters[1].value, Tensor(shape: [128], repeating: 0))
    }
}
