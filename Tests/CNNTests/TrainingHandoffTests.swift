//  TrainingHandoffTests.swift
//
//  In training, activations flow channels last from an F(4×4) convolution step through the batch norm step
//  after it (with its epilogue) into the next F(4×4) convolution step, and the backward runs on the same
//  layouts (`Sequential.trainingLayouts`). The handoff only moves data: every training step's output, dInput,
//  parameter gradients and batch norm running statistics must be bit for bit the same with it switched off
//  (`channelsLastHandoff`), for nets with and without the pooling epilogue, padding 0 and 1, Ho and Wo not
//  multiples of 4, 16 and 32 channels, on 1 and 2 threads; and where a plan at run time is not F(4×4) (a
//  NaN in the batch, or a forced algorithm), which transposes around itself.

@testable import CNN
import TestSupport
import XCTest

final class TrainingHandoffTests: XCTestCase {
    private static func conv(_ c: Int, _ f: Int, padding: Int) -> LayerSpec {
        .conv2d(inChannels: c, outChannels: f, kernelSize: 3, stride: 1, padding: padding)
    }
    private static func bn(_ c: Int) -> LayerSpec { .batchNorm2d(numFeatures: c, eps: 1e-5, momentum: 0.1) }

    /// (name, specs, one image's shape, each training step's layouts as "in→out" with F and L).
    private static let nets: [(String, [LayerSpec], [Int], [String])] = [
        // Pooled batch norms (14×14 → 7×7: Ho, Wo not multiples of 4), padding 1 then 0, 16 and 32 channels;
        // the last batch norm, before Flatten, gives channels first.
        ("pooled",
         [conv(1, 16, padding: 1), .relu,
          conv(16, 16, padding: 1), bn(16), .relu, .maxPool2d(kernelSize: 2, stride: 2),
          conv(16, 32, padding: 1), bn(32), .relu,
          conv(32, 32, padding: 0), bn(32),
          .flatten, .linear(inFeatures: 32 * 5 * 5, outFeatures: 10)],
         [1, 14, 14], ["F→F", "F→L", "L→L", "L→L", "L→L", "L→L", "L→F", "F→F", "F→F"]),
        // Unpooled batch norms, padding 0 on a 10×10 network input (which the first convolution takes channels
        // first), a tile-pooled batch norm (8×8), and a last convolution with a ReLU epilogue that takes
        // channels last and gives channels first.
        ("unpooled",
         [conv(16, 16, padding: 0), bn(16), .relu,
          conv(16, 32, padding: 1), bn(32), .relu, .maxPool2d(kernelSize: 2, stride: 2),
          conv(32, 16, padding: 1), .relu,
          .flatten, .linear(inFeatures: 16 * 4 * 4, outFeatures: 10)],
         [16, 10, 10], ["F→L", "L→L", "L→L", "L→L", "L→F", "F→F", "F→F"]),
    ]

    private func short(_ layouts: [StepLayout]) -> [String] {
        layouts.map { ($0.input == .channelsLast ? "L" : "F") + "→" + ($0.output == .channelsLast ? "L" : "F") }
    }

    /// Everything a training step leaves, as bit patterns: per step the output and dInput, then after the
    /// steps every parameter (and its last gradient) and every buffer.
    private func train(_ specs: [LayerSpec], image: [Int], handoff: Bool, threads: Int,
                       poison: Bool = false) -> [String: [UInt32]] {
        var g = RandomGenerator(seed: 61)
        let net = Sequential(specs: specs, generator: &g)
        net.channelsLastHandoff = handoff
        let sgd = SGD(parameters: net.parameters, learningRate: 0.05, momentum: 0.9)
        let loss = SoftmaxCrossEntropy()
        var data = RandomGenerator(seed: 62)
        var record: [String: [UInt32]] = [:]
        withThreads(threads) {
            for step in 0..<3 {
                var x: Tensor<Float> = randomNormalTensor([6] + image, using: &data)
                if poison && step == 1 { x.scalars[7] = .nan }
                net.zeroGradients()
                let y = net.forward(x, mode: .training)
                let dx = net.backward(loss(logits: y, labels: (0..<6).map { ($0 + step) % 10 }).dLogits)
                record["output \(step)"] = y.scalars.map(\.bitPattern)
                record["dInput \(step)"] = dx.scalars.map(\.bitPattern)
                for (i, layer) in net.layers.enumerated() {
                    for p in layer.parameters { record["\(i).\(p.name).grad \(step)"] = p.gradient.scalars.map(\.bitPattern) }
                }
                sgd.step()
            }
        }
        for (i, layer) in net.layers.enumerated() {
            for p in layer.parameters { record["\(i).\(p.name)"] = p.value.scalars.map(\.bitPattern) }
            for b in layer.buffers { record["\(i).\(b.name)"] = b.get().scalars.map(\.bitPattern) }
        }
        return record
    }

    private func assertSameBits(_ a: [String: [UInt32]], _ b: [String: [UInt32]], _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(a.keys), Set(b.keys), what, file: file, line: line)
        for key in a.keys.sorted() {
            guard let x = a[key], let y = b[key] else { continue }
            XCTAssertEqual(x.count, y.count, "\(what): \(key)", file: file, line: line)
            let differing = zip(x, y).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(what): \(key): \(differing) of \(x.count) values differ", file: file, line: line)
        }
    }

    func testHandoffKeepsTheBitsOfChannelsFirstTraining() {
        for (name, specs, image, layouts) in Self.nets {
            var g = RandomGenerator(seed: 1)
            let net = Sequential(specs: specs, generator: &g)
            XCTAssertEqual(short(net.trainingLayouts(forInput: [6] + image)), layouts, "\(name): layouts")
            for threads in [1, 2] {
                assertSameBits(train(specs, image: image, handoff: true, threads: threads),
                               train(specs, image: image, handoff: false, threads: threads), "\(name), \(threads) threads")
            }
        }
    }

    /// The decisions: all channels first without the handoff, on the reference backend, where a convolution
    /// is forced off F(4×4) (its neighbours then stay channels first on its side), and where the shapes stop
    /// fitting.
    func testLayoutsFollowThePlans() throws {
        let (name, specs, image, layouts) = Self.nets[0]
        var g = RandomGenerator(seed: 1)
        let net = Sequential(specs: specs, generator: &g)
        XCTAssertEqual(short(net.trainingLayouts(forInput: [1] + image)), layouts, name)
        net.channelsLastHandoff = false
        XCTAssertEqual(Set(net.trainingLayouts(forInput: [4] + image)), [.channelsFirst], "switched off")
        net.channelsLastHandoff = true
        // The third convolution (16 → 32) forced to im2col: it neither takes nor gives channels last, so the
        // batch norm before it gives channels first (its input still comes channels last).
        let forced = try XCTUnwrap(net.layers[6] as? Conv2D)
        forced.algorithm = .im2col
        XCTAssertEqual(short(net.trainingLayouts(forInput: [4] + image)), ["F→F", "F→L", "L→F", "F→F", "F→F", "F→L", "L→F", "F→F", "F→F"])
        forced.algorithm = nil
        XCTAssertEqual(Set(net.trainingLayouts(forInput: [4, 3, 14, 14])), [.channelsFirst], "an input that does not fit")
        net.setBackend(.reference)
        XCTAssertEqual(Set(net.trainingLayouts(forInput: [4] + image)), [.channelsFirst], "reference backend")
    }

    /// A NaN in a batch takes every convolution after the first batch norm off F(4×4) at run time (the
    /// batch's statistics are NaN): the steps that were to take or give channels last transpose around their
    /// other plans, and the training keeps the bits of the channels-first one, NaNs included.
    func testNonFiniteBatchFallsBackWithTheSameBits() throws {
        for (name, specs, image, _) in Self.nets {
            for threads in [1, 2] {
                assertSameBits(train(specs, image: image, handoff: true, threads: threads, poison: true),
                               train(specs, image: image, handoff: false, threads: threads, poison: true),
                               "\(name) with a NaN, \(threads) threads")
            }
        }
        // and the run did leave F(4×4): one forward on a poisoned batch
        let (_, specs, image, _) = Self.nets[0]
        var g = RandomGenerator(seed: 1)
        let net = Sequential(specs: specs, generator: &g)
        var x: Tensor<Float> = randomNormalTensor([2] + image, using: &g)
        x.scalars[3] = .nan
        _ = net.forward(x, mode: .training)
        let conv = try XCTUnwrap(net.layers[6] as? Conv2D)
        XCTAssertNotEqual(conv.plan?.algorithm, .winograd4x4)
    }

    /// One convolution trained on channels-last x, y and dy, on each algorithm (F(4×4) computes on them, the
    /// others transpose around themselves), against the channels-first forward and backward: the same output,
    /// dx, dW and db bits.
    func testConvolutionTrainsOnChannelsLastOnEveryPlan() {
        var g = RandomGenerator(seed: 7)
        let conv = Conv2D(inChannels: 16, outChannels: 32, kernelSize: 3, stride: 1, padding: 1)
        Initialization.pytorchDefault.initialize(weight: conv.weight, bias: conv.bias, fanIn: 16 * 9, generator: &g)
        let x: Tensor<Float> = randomNormalTensor([3, 16, 10, 18], using: &g)
        let dy: Tensor<Float> = randomNormalTensor([3, 32, 10, 18], using: &g)
        var buffers = (Tensor<Float>(shape: [0]), Tensor<Float>(shape: [0]), Tensor<Float>(shape: [0]), Tensor<Float>(shape: [0]))
        let xLast = ActivationLayout.transpose(x, from: .channelsFirst, to: .channelsLast, into: &buffers.0)
        let dyLast = ActivationLayout.transpose(dy, from: .channelsFirst, to: .channelsLast, into: &buffers.1)
        for algorithm in [Conv2D.Algorithm.im2col, .paddedIm2col, .winograd2x2, .winograd4x4] {
            for threads in [1, 2] {
                withThreads(threads) {
                    conv.algorithm = algorithm
                    conv.weight.gradient.zero(); conv.bias.gradient.zero()
                    let y = conv.forward(x, mode: .training, epilogue: .none).scalars
                    let dx = conv.backward(dy).scalars
                    let (dw, db) = (conv.weight.gradient.scalars, conv.bias.gradient.scalars)
                    conv.weight.gradient.zero(); conv.bias.gradient.zero()
                    let what = "\(algorithm), \(threads) threads"
                    let yLast = conv.forward(xLast, mode: .training, epilogue: .none,
                                             layout: StepLayout(input: .channelsLast, output: .channelsLast))
                    XCTAssertEqual(conv.plan?.algorithm, algorithm, what)
                    XCTAssertEqual(yLast.shape, [3, 10, 18, 32], what)
                    let yFirst = ActivationLayout.transpose(yLast, from: .channelsLast, to: .channelsFirst, into: &buffers.2)
                    XCTAssertEqual(yFirst.scalars.map(\.bitPattern), y.map(\.bitPattern), "\(what): y")
                    let dxLast = conv.backward(dyLast)
                    XCTAssertEqual(dxLast.shape, [3, 10, 18, 16], what)
                    let dxFirst = ActivationLayout.transpose(dxLast, from: .channelsLast, to: .channelsFirst, into: &buffers.3)
                    XCTAssertEqual(dxFirst.scalars.map(\.bitPattern), dx.map(\.bitPattern), "\(what): dx")
                    XCTAssertEqual(conv.weight.gradient.scalars.map(\.bitPattern), dw.map(\.bitPattern), "\(what): dW")
                    XCTAssertEqual(conv.bias.gradient.scalars.map(\.bitPattern), db.map(\.bitPattern), "\(what): db")
                }
            }
        }
    }
}
