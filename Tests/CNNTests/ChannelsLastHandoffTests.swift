//  ChannelsLastHandoffTests.swift
//
//  In evaluation, consecutive F(4×4) convolution steps pass their activations channels last
//  (ActivationLayout.swift), as the evaluation rewrite decides from the steps' plans for the input's shape
//  (`Sequential.evaluationLayouts`). The handoff only moves data: the network's evaluation output must be
//  bit for bit the same with it switched off (`channelsLastHandoff`), chunked across threads or step by step,
//  for nets with pooled (tile-pooled and across tiles) and unpooled producers, folded and plain
//  convolutions, padding 0, 1 and 2, Ho and Wo not multiples of 4, and 16, 32 and 48 channels; and where a
//  step's plan at run time is not F(4×4) (an input holding a NaN) or is forced to another algorithm. The
//  decisions themselves are asserted step by step, including non-F(4×4) steps between F(4×4) ones.

@testable import CNN
import TestSupport
import XCTest

final class ChannelsLastHandoffTests: XCTestCase {
    private static let bn16 = LayerSpec.batchNorm2d(numFeatures: 16, eps: 1e-5, momentum: 0.1)
    private static func conv(_ c: Int, _ f: Int, padding: Int, stride: Int = 1) -> LayerSpec {
        .conv2d(inChannels: c, outChannels: f, kernelSize: 3, stride: stride, padding: padding)
    }

    /// (name, specs, one image's shape, each evaluation step's layouts as "in→out" with F and L).
    private static let nets: [(String, [LayerSpec], [Int], [String])] = [
        // Unpooled producers (folded and plain), a pooling across tiles (Ho = 13), padding 0 and 1, a
        // padding-0 input of whole tiles (6×6, read in place) and an output of whole tiles (4×4).
        ("unpooled and across tiles",
         [conv(1, 16, padding: 1), .relu,
          conv(16, 32, padding: 1), .batchNorm2d(numFeatures: 32, eps: 1e-5, momentum: 0.1), .relu,
          conv(32, 48, padding: 0), .relu, .maxPool2d(kernelSize: 2, stride: 2),
          conv(48, 16, padding: 1), bn16, .relu,
          conv(16, 16, padding: 0),
          conv(16, 32, padding: 1), .relu,
          .flatten, .linear(inFeatures: 32 * 4 * 4, outFeatures: 10)],
         [1, 15, 15], ["F→F", "F→L", "L→L", "L→L", "L→L", "L→F", "F→F", "F→F"]),
        // Tile-pooled producers (plain and folded), padding 2, 48 channels.
        ("tile-pooled",
         [conv(1, 16, padding: 1), .relu,
          conv(16, 16, padding: 1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
          conv(16, 48, padding: 1), .batchNorm2d(numFeatures: 48, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
          conv(48, 32, padding: 2), .relu,
          conv(32, 16, padding: 0), bn16, .relu,
          .flatten, .linear(inFeatures: 16 * 4 * 4, outFeatures: 10)],
         [1, 16, 16], ["F→F", "F→L", "L→L", "L→L", "L→F", "F→F", "F→F"]),
        // Steps that are not F(4×4) between F(4×4) ones: a 3×3 pooling fused into an F(4×4) step (which gives
        // channels first), a batch norm alone, an average pooling, a strided convolution.
        ("interrupted",
         [conv(16, 16, padding: 1), .relu, .maxPool2d(kernelSize: 3, stride: 1),
          conv(16, 16, padding: 1), .relu, bn16,
          conv(16, 32, padding: 1), .relu, .avgPool2d(kernelSize: 2, stride: 2),
          conv(32, 16, padding: 1), .relu,
          conv(16, 16, padding: 1),
          conv(16, 16, padding: 1, stride: 2),
          conv(16, 16, padding: 1),
          .flatten, .linear(inFeatures: 16 * 3 * 3, outFeatures: 10)],
         [16, 12, 12], ["F→F", "F→F", "F→F", "F→F", "F→F", "F→L", "L→F", "F→F", "F→F", "F→F", "F→F"]),
    ]

    /// `trainedNetwork` with this suite's seed.
    private func trained(_ specs: [LayerSpec], image: [Int], n: Int) -> (Sequential, Tensor<Float>) {
        trainedNetwork(specs, image: image, n: n, seed: 51)
    }

    private func short(_ layouts: [StepLayout]) -> [String] {
        layouts.map { ($0.input == .channelsLast ? "L" : "F") + "→" + ($0.output == .channelsLast ? "L" : "F") }
    }

    /// The evaluation of x with and without the handoff, chunked on each thread count and step by step: the
    /// same shape and bits (NaNs included).
    private func assertHandoffKeepsBits(_ name: String, _ net: Sequential, _ x: Tensor<Float>,
                                        file: StaticString = #filePath, line: UInt = #line) {
        func evaluate(_ handoff: Bool, threads: Int, chunk: Int?, layerByLayer: Bool) -> Tensor<Float> {
            net.channelsLastHandoff = handoff
            net.evaluationChunk = chunk
            defer { net.channelsLastHandoff = true; net.evaluationChunk = nil }
            var y = Tensor<Float>(shape: [0])
            withThreads(threads) { y = layerByLayer ? net.evaluateLayerByLayer(x) : net.forward(x, mode: .evaluation) }
            return y
        }
        for threads in [1, 2] {
            for (chunk, layerByLayer) in [(nil, false), (3, false), (nil, true)] as [(Int?, Bool)] {
                let expected = evaluate(false, threads: threads, chunk: chunk, layerByLayer: layerByLayer)
                let y = evaluate(true, threads: threads, chunk: chunk, layerByLayer: layerByLayer)
                let what = "\(name): n \(x.shape[0]), \(threads) threads, " + (layerByLayer ? "step by step" : "chunk \(chunk.map(String.init) ?? "default")")
                XCTAssertEqual(y.shape, expected.shape, what, file: file, line: line)
                let differing = zip(y.scalars, expected.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(what): \(differing) of \(y.count) outputs differ", file: file, line: line)
            }
        }
    }

    func testHandoffKeepsTheBitsOfChannelsFirstEvaluation() {
        for (name, specs, image, layouts) in Self.nets {
            for n in [1, 6, 13] {
                let (net, x) = trained(specs, image: image, n: n)
                XCTAssertEqual(short(net.evaluationLayouts(forInput: x.shape)), layouts, "\(name): layouts")
                assertHandoffKeepsBits(name, net, x)
            }
        }
    }

    /// The decisions: channels last exactly between steps that both run F(4×4) on the shapes they see; all
    /// channels first without the handoff, on another input size that changes the plans, and where an
    /// algorithm is forced.
    func testLayoutsFollowThePlans() throws {
        let (name, specs, image, layouts) = Self.nets[0]
        var g = RandomGenerator(seed: 1)
        let net = Sequential(specs: specs, generator: &g)
        XCTAssertEqual(short(net.evaluationLayouts(forInput: [4] + image)), layouts, name)
        // Plans do not depend on the batch: any N gives the same layouts.
        XCTAssertEqual(short(net.evaluationLayouts(forInput: [1] + image)), layouts, name)
        net.channelsLastHandoff = false
        XCTAssertEqual(Set(net.evaluationLayouts(forInput: [4] + image)), [.channelsFirst], "switched off")
        net.channelsLastHandoff = true
        // Step 2's convolution (32 → 48) forced to im2col: it neither takes nor gives channels last.
        let forced = try XCTUnwrap(net.layers[5] as? Conv2D)
        forced.algorithm = .im2col
        XCTAssertEqual(short(net.evaluationLayouts(forInput: [4] + image)), ["F→F", "F→F", "F→F", "F→L", "L→L", "L→F", "F→F", "F→F"])
        // and the evaluation still has the bits of the channels-first one
        var data = RandomGenerator(seed: 3)
        assertHandoffKeepsBits("forced im2col", net, randomNormalTensor([5] + image, using: &data))
        forced.algorithm = nil
        // On a 4×4 input the fifth step (3×3, padding 0) gets a 1×1 image and has no output: the shapes stop
        // fitting and the steps from there on stay channels first; an input that does not fit at all, likewise.
        XCTAssertEqual(short(net.evaluationLayouts(forInput: [4, 1, 4, 4])), ["F→F", "F→L", "L→L", "L→F", "F→F", "F→F", "F→F", "F→F"])
        XCTAssertEqual(Set(net.evaluationLayouts(forInput: [4, 3, 15, 15])), [.channelsFirst])
    }

    /// An image holding a NaN or an infinity takes its chunk off the Winograd algorithms at run time: the
    /// steps that were to take or give channels last transpose around their other plans, and the outputs keep
    /// the bits of the channels-first evaluation, NaNs included.
    func testNonFiniteInputFallsBackWithTheSameBits() {
        for (name, specs, image, _) in Self.nets {
            var (net, x) = trained(specs, image: image, n: 7)
            func plans() -> [Conv2D.Algorithm] {
                net.evaluationSteps.compactMap { (($0.head as? FoldedConvolution)?.plan ?? ($0.head as? Conv2D)?.plan)?.algorithm }
            }
            assertHandoffKeepsBits(name, net, x)
            let finitePlans = plans()
            x.scalars[5] = .nan
            x.scalars[x.count - 3] = .infinity
            assertHandoffKeepsBits(name + " with a NaN", net, x)
            // (the last evaluation, step by step on the whole batch, left F(4×4) somewhere)
            XCTAssertLessThan(plans().filter { $0 == .winograd4x4 }.count, finitePlans.filter { $0 == .winograd4x4 }.count,
                              "\(name): \(plans()) against \(finitePlans)")
        }
    }

    /// A convolution given a channels-last input whose plan is not F(4×4), asked for a channels-last output:
    /// it transposes around the plan, and its values are those of the channels-first forward.
    func testConvolutionOffF4x4TransposesAround() {
        var g = RandomGenerator(seed: 7)
        let conv = Conv2D(inChannels: 16, outChannels: 32, kernelSize: 3, stride: 1, padding: 1)
        Initialization.pytorchDefault.initialize(weight: conv.weight, bias: conv.bias, fanIn: 16 * 9, generator: &g)
        let x: Tensor<Float> = randomNormalTensor([3, 16, 16, 18], using: &g)
        var buffer = Tensor<Float>(shape: [0]), back = Tensor<Float>(shape: [0])
        let xLast = ActivationLayout.transpose(x, from: .channelsFirst, to: .channelsLast, into: &buffer)
        XCTAssertEqual(xLast.shape, [3, 16, 18, 16])
        for algorithm in [Conv2D.Algorithm.im2col, .winograd2x2, .winograd4x4] {
            conv.algorithm = algorithm
            let expected = conv.forward(x, mode: .evaluation, epilogue: Epilogue(relu: true))
            let y = conv.forward(xLast, mode: .evaluation, epilogue: Epilogue(relu: true),
                                 layout: StepLayout(input: .channelsLast, output: .channelsLast))
            XCTAssertEqual(conv.plan?.algorithm, algorithm)
            XCTAssertEqual(y.shape, [3, 16, 18, 32], "\(algorithm)")
            let yFirst = ActivationLayout.transpose(y, from: .channelsLast, to: .channelsFirst, into: &back)
            XCTAssertEqual(yFirst.scalars.map(\.bitPattern), expected.scalars.map(\.bitPattern), "\(algorithm)")
        }
    }
}
