//  Conv2DTests.swift
//
//  The fast convolution (im2col + sgemm + col2im) against the reference loops, forward and backward, over a
//  table of geometries. Tolerance: BackendTolerance (rtol 1e-4, atol 1e-5 of the largest value), see
//  BackendComparison.swift.
//
//  Dimension legend: N batch, C channels, H×W input, F filters, K kernel (K×K), S stride, P padding,
//  Ho = 1 + ⌊(H + 2P − K) / S⌋, Wo = 1 + ⌊(W + 2P − K) / S⌋.

import CNN
import RealModule
import TestSupport
import XCTest

final class Conv2DTests: XCTestCase {
    private struct Case: CustomStringConvertible {
        var n, c, h, w, f, k, s, p: Int
        var description: String { "Conv2D N\(n) C\(c) \(h)×\(w) F\(f) k\(k) s\(s) p\(p)" }
    }

    /// Kernels 1, 3, 5, 7; strides 1, 2, 3; paddings 0 … 3 (also with stride 2 and 3); batch 1 and > 1;
    /// C = 1 and C > 1; F = 1 and F > 1; square, non-square (7×5, 11×7) and one-row (1×9) inputs;
    /// kernels larger than the input (padding makes them fit) and outputs that round down.
    private let cases: [Case] = [
        Case(n: 1, c: 1, h: 5, w: 5, f: 1, k: 1, s: 1, p: 0),
        Case(n: 2, c: 3, h: 7, w: 5, f: 4, k: 1, s: 2, p: 0),
        Case(n: 2, c: 2, h: 4, w: 6, f: 3, k: 1, s: 1, p: 1),     // k1 with padding: a border of bias-only outputs
        Case(n: 3, c: 1, h: 7, w: 5, f: 2, k: 3, s: 1, p: 1),
        Case(n: 2, c: 3, h: 9, w: 9, f: 4, k: 3, s: 2, p: 1),
        Case(n: 1, c: 2, h: 1, w: 9, f: 3, k: 3, s: 1, p: 1),     // 1×9
        Case(n: 2, c: 2, h: 1, w: 9, f: 2, k: 1, s: 3, p: 0),     // 1×9, stride 3
        Case(n: 1, c: 1, h: 1, w: 9, f: 1, k: 3, s: 2, p: 2),     // 1×9, padding 2 with stride 2
        Case(n: 3, c: 2, h: 6, w: 6, f: 5, k: 3, s: 3, p: 0),     // (6 − 3)/3 + 1 = 2
        Case(n: 2, c: 4, h: 7, w: 5, f: 1, k: 3, s: 2, p: 3),     // P ≥ K: outputs entirely in the padding
        Case(n: 2, c: 1, h: 8, w: 8, f: 3, k: 5, s: 1, p: 2),
        Case(n: 1, c: 3, h: 11, w: 7, f: 2, k: 5, s: 2, p: 2),
        Case(n: 2, c: 2, h: 10, w: 10, f: 2, k: 5, s: 3, p: 3),
        Case(n: 1, c: 1, h: 2, w: 2, f: 1, k: 5, s: 1, p: 2),     // kernel larger than the input
        Case(n: 1, c: 1, h: 7, w: 7, f: 2, k: 7, s: 1, p: 3),
        Case(n: 2, c: 2, h: 9, w: 11, f: 3, k: 7, s: 2, p: 0),
        Case(n: 1, c: 2, h: 5, w: 5, f: 1, k: 7, s: 3, p: 3),
        Case(n: 2, c: 3, h: 14, w: 14, f: 8, k: 5, s: 1, p: 2),   // MNIST-like, reduced
    ]

    /// Shapes the Winograd path supports (3×3, stride 1, even outputs at least 16 wide): paddings 0, 1 and 2,
    /// rows of tiles covered by one block of 8, by two overlapping ones (12) and by three (17), C below and
    /// above the automatic threshold of 8.
    private let winogradCases: [Case] = [
        Case(n: 2, c: 8, h: 18, w: 18, f: 4, k: 3, s: 1, p: 0),     // 16×16: one block of 8 tiles
        Case(n: 3, c: 3, h: 16, w: 20, f: 5, k: 3, s: 1, p: 1),     // 16×20, 10 tiles: blocks 0 and 2
        Case(n: 1, c: 2, h: 16, w: 16, f: 3, k: 3, s: 1, p: 2),     // 18×18, dx on padding 0
        Case(n: 2, c: 16, h: 20, w: 26, f: 6, k: 3, s: 1, p: 0),    // 18×24, 12 tiles
        Case(n: 2, c: 4, h: 22, w: 34, f: 2, k: 3, s: 1, p: 1),     // 22×34, 17 tiles: blocks 0, 8 and 9
    ]

    /// Shapes the F(4×4, 3×3) path supports (channels multiples of 16): whole tiles (12×12; dx 14×14 from 4×4
    /// tiles, cropped), outputs that end inside a tile (11×9), padding 2, a single output position, and input
    /// or output channels above 16. (pytorch-example's 26×26 layer is in FusionTests; here the reference loops
    /// would take a minute on it.)
    private let winograd4x4Cases: [Case] = [
        Case(n: 2, c: 16, h: 14, w: 14, f: 16, k: 3, s: 1, p: 0),   // 12×12: 3×3 tiles
        Case(n: 2, c: 16, h: 11, w: 9, f: 32, k: 3, s: 1, p: 1),    // 11×9: the last tiles partly outside
        Case(n: 1, c: 32, h: 6, w: 7, f: 16, k: 3, s: 1, p: 2),     // 8×9, dx on padding 0
        Case(n: 2, c: 16, h: 3, w: 3, f: 16, k: 3, s: 1, p: 0),     // 1×1 output
        Case(n: 2, c: 16, h: 10, w: 18, f: 16, k: 3, s: 1, p: 0),   // 8×16: two by four whole tiles
    ]

    /// Shapes the F(2×2, 5×5) path supports (5×5, stride 1, channels multiples of 16): the default net's second
    /// layer (12×12 → 8×8, 4×4 tiles; dx 32 → 16 by the adjoint on those tiles), odd outputs whose last tiles
    /// reach past the edge (7×9), paddings 2, 3 and 4 (dx cropped from wider padded buffers), a single output
    /// position. Three images make forward groups that share each product where the probe allows it.
    private let winograd5x5Cases: [Case] = [
        Case(n: 3, c: 16, h: 12, w: 12, f: 32, k: 5, s: 1, p: 0),   // 8×8
        Case(n: 2, c: 16, h: 9, w: 11, f: 16, k: 5, s: 1, p: 1),    // 7×9
        Case(n: 2, c: 32, h: 6, w: 8, f: 16, k: 5, s: 1, p: 2),     // 6×8
        Case(n: 2, c: 16, h: 3, w: 3, f: 16, k: 5, s: 1, p: 1),     // 1×1 output
        Case(n: 1, c: 16, h: 4, w: 5, f: 16, k: 5, s: 1, p: 4),     // 8×9
        Case(n: 2, c: 16, h: 5, w: 6, f: 32, k: 5, s: 1, p: 3),     // 7×8
    ]

    /// Shapes the direct path takes with a fused pooling: MNIST's first layers (5×5 and 7×7 on 28×28, F = 6
    /// and 7 for blocks of 4 and a remainder of 2 and 3) and lenet5's second (6 channels, 14×14), padding 0,
    /// an 8×8 kernel, 1×1 and a single filter, and planes of exactly 32 positions (4 rows of 8).
    private let directCases: [Case] = [
        Case(n: 3, c: 1, h: 28, w: 28, f: 6, k: 5, s: 1, p: 2),
        Case(n: 2, c: 6, h: 14, w: 14, f: 16, k: 5, s: 1, p: 0),
        Case(n: 2, c: 3, h: 6, w: 8, f: 5, k: 3, s: 1, p: 0),
        Case(n: 2, c: 1, h: 28, w: 28, f: 7, k: 7, s: 1, p: 3),
        Case(n: 2, c: 1, h: 10, w: 40, f: 5, k: 3, s: 1, p: 0),
        Case(n: 2, c: 1, h: 19, w: 23, f: 4, k: 8, s: 1, p: 1),
        Case(n: 1, c: 1, h: 6, w: 9, f: 1, k: 1, s: 1, p: 0),
    ]

    private func pair(_ cc: Case, generator: inout RandomGenerator) -> BackendPair<Conv2D> {
        BackendPair({ Conv2D(inChannels: cc.c, outChannels: cc.f, kernelSize: cc.k, stride: cc.s,
                             padding: cc.p, backend: $0) }, generator: &generator)
    }

    /// Every case, then the same layers again with another batch size (workspaces must resize).
    func testFastMatchesReference() {
        var rng = RandomGenerator(seed: 101)
        for cc in cases {
            let layers = pair(cc, generator: &rng)
            let other = cc.n == 1 ? 3 : 1
            assertBackendsAgree("\(cc)", pair: layers,
                                inputShapes: [[cc.n, cc.c, cc.h, cc.w], [other, cc.c, cc.h, cc.w]],
                                generator: &rng)
        }
    }

    /// The same with the kernels split over two threads (images are spread across threads).
    func testFastMatchesReferenceWithTwoThreads() {
        var rng = RandomGenerator(seed: 102)
        withThreads(2) {
            for cc in cases where cc.n > 1 {
                let layers = pair(cc, generator: &rng)
                assertBackendsAgree("\(cc), 2 threads", pair: layers,
                                    inputShapes: [[cc.n, cc.c, cc.h, cc.w], [cc.n + 3, cc.c, cc.h, cc.w]],
                                    generator: &rng)
            }
        }
    }

    /// Each algorithm forced in turn against the reference, for every case it can compute; for the others,
    /// forcing it throws, naming the layer and the algorithm (the direct path never computes a layer without
    /// a fused pooling, the padded width never one of stride 2).
    func testEveryForcedAlgorithmMatchesReferenceOrIsRefused() throws {
        var rng = RandomGenerator(seed: 104)
        var refused: Set<Conv2D.Algorithm> = []
        for layout in Conv2D.Algorithm.allCases {
            for cc in cases + winogradCases + winograd4x4Cases + winograd5x5Cases + directCases {
                let probe = Conv2D(inChannels: cc.c, outChannels: cc.f, kernelSize: cc.k, stride: cc.s, padding: cc.p)
                probe.algorithm = layout
                do {
                    let plan = try probe.plan(forInput: [cc.n, cc.c, cc.h, cc.w], mode: .training)
                    XCTAssertEqual(plan.algorithm, layout)
                } catch let error as Conv2D.PlanError {
                    XCTAssertTrue(error.description.contains(layout.rawValue) && error.description.contains("Conv2D(\(cc.c)→\(cc.f)"),
                                  error.description)
                    refused.insert(layout)
                    continue
                }
                let layers = BackendPair({ backend -> Conv2D in
                    let conv = Conv2D(inChannels: cc.c, outChannels: cc.f, kernelSize: cc.k, stride: cc.s,
                                      padding: cc.p, backend: backend)
                    conv.algorithm = layout
                    return conv
                }, generator: &rng)
                assertBackendsAgree("\(cc), \(layout)", pair: layers, inputShapes: [[cc.n, cc.c, cc.h, cc.w]],
                                    generator: &rng)
            }
        }
        XCTAssertEqual(refused, [.paddedIm2col, .direct, .winograd2x2, .winograd4x4, .winograd5x5])
    }

    /// The fused epilogues on the padded width (junk columns skipped by the pooling, compacted without it,
    /// zeroed in the rebuilt gradient) and on the Winograd path against the same layer on compact columns:
    /// forward, dx, dW and db, with a ReLU and with a ReLU and 2×2 pooling, in training and evaluation.
    func testFusedEpiloguesAgreeAcrossLayouts() {
        var rng = RandomGenerator(seed: 105)
        for cc in (cases + winogradCases + winograd4x4Cases + winograd5x5Cases + directCases) where cc.s == 1 {
            let ho = cc.h + 2 * cc.p - cc.k + 1, wo = cc.w + 2 * cc.p - cc.k + 1
            var pools: [(kernel: Int, stride: Int)?] = ho >= 2 && wo >= 2 ? [nil, (2, 2)] : [nil]
            if ho >= 3 && wo >= 3 { pools.append((3, 2)) }   // overlapping windows: a position can win twice
            for pool in pools {
                let epilogue = Epilogue(relu: true, pool: pool)
                // Every algorithm that can compute the case (forcing one that cannot throws), and automatic choice.
                let layouts: [Conv2D.Algorithm?] = Conv2D.Algorithm.allCases + [nil]
                let convs = layouts.compactMap { layout -> Conv2D? in
                    let conv = Conv2D(inChannels: cc.c, outChannels: cc.f, kernelSize: cc.k, padding: cc.p)
                    conv.algorithm = layout
                    return (try? conv.plan(forInput: [cc.n, cc.c, cc.h, cc.w], mode: .training, epilogue: epilogue)) == nil ? nil : conv
                }
                XCTAssertEqual(convs.first?.algorithm, .im2col)
                convs[0].weight.value = randomNormalTensor(convs[0].weight.value.shape, scale: 0.5, using: &rng)
                convs[0].bias.value = randomNormalTensor([cc.f], scale: 0.5, using: &rng)
                for other in convs.dropFirst() {
                    other.weight.value = convs[0].weight.value
                    other.bias.value = convs[0].bias.value
                }
                let x: Tensor<Float> = randomNormalTensor([cc.n, cc.c, cc.h, cc.w], scale: 1, using: &rng)
                let y0 = convs[0].forward(x, mode: .training, epilogue: epilogue)
                let dy: Tensor<Float> = randomNormalTensor(y0.shape, scale: 1, using: &rng)
                let dx0 = convs[0].backward(dy)
                for conv in convs.dropFirst() {
                    let label = "\(cc), \(conv.algorithm?.rawValue ?? "automatic"), ReLU\(pool == nil ? "" : " + pool 2")"
                    assertAgree(conv.forward(x, mode: .evaluation, epilogue: epilogue),
                                convs[0].forward(x, mode: .evaluation, epilogue: epilogue), "\(label): evaluation")
                    assertAgree(conv.forward(x, mode: .training, epilogue: epilogue), y0, "\(label): y")
                    assertAgree(conv.backward(dy), dx0, "\(label): dx")
                    assertAgree(conv.weight.gradient, convs[0].weight.gradient, "\(label): dW")
                    assertAgree(conv.bias.gradient, convs[0].bias.gradient, "\(label): db")
                }
            }
        }
    }

    /// ReLU and 2×2 pooling taken straight from the Winograd output tiles give, bit for bit, what separate
    /// ReLU and MaxPool2D layers give on the same convolution's output: forward, dx, dW and db. Inputs are
    /// shifted down so that many windows are all negative (a tie at 0 after the ReLU).
    func testWinogradTilePoolingIsBitwiseTheSeparateLayers() {
        var rng = RandomGenerator(seed: 106)
        func bits(_ t: Tensor<Float>) -> [UInt32] { t.scalars.map(\.bitPattern) }
        let tiled = winogradCases.map { ($0, Conv2D.Algorithm.winograd2x2) }
            + winograd4x4Cases.filter { ($0.h + 2 * $0.p - 2) % 4 == 0 && ($0.w + 2 * $0.p - 2) % 4 == 0 }
                .map { ($0, Conv2D.Algorithm.winograd4x4) }
            + winograd5x5Cases.filter { ($0.h + 2 * $0.p - 4) % 2 == 0 && ($0.w + 2 * $0.p - 4) % 2 == 0 }
                .map { ($0, Conv2D.Algorithm.winograd5x5) }
        XCTAssertEqual(tiled.filter { $0.1 == .winograd5x5 }.count, 2)
        for (cc, algorithm) in tiled {
            let convs = (0..<2).map { _ -> Conv2D in
                let conv = Conv2D(inChannels: cc.c, outChannels: cc.f, kernelSize: cc.k, padding: cc.p)
                conv.algorithm = algorithm
                return conv
            }
            convs[0].weight.value = randomNormalTensor(convs[0].weight.value.shape, scale: 0.5, using: &rng)
            convs[0].bias.value = randomNormalTensor([cc.f], scale: 0.5, using: &rng)
            convs[1].weight.value = convs[0].weight.value
            convs[1].bias.value = convs[0].bias.value
            let relu = ReLU(), pool = MaxPool2D(kernelSize: 2, stride: 2)
            var x: Tensor<Float> = randomNormalTensor([cc.n, cc.c, cc.h, cc.w], scale: 1, using: &rng)
            for i in 0..<x.count { x.scalars[i] -= 0.3 }
            let fused = convs[0].forward(x, mode: .training, epilogue: Epilogue(relu: true, pool: (2, 2)))
            XCTAssertEqual(convs[0].plan?.description, "\(algorithm.rawValue), tile-pooled")
            let separate = pool.forward(relu.forward(convs[1].forward(x, mode: .training), mode: .training), mode: .training)
            XCTAssertEqual(bits(fused), bits(separate), "\(cc), \(algorithm): y")
            let dy: Tensor<Float> = randomNormalTensor(fused.shape, scale: 1, using: &rng)
            XCTAssertEqual(bits(convs[0].backward(dy)), bits(convs[1].backward(relu.backward(pool.backward(dy)))),
                           "\(cc): dx")
            XCTAssertEqual(bits(convs[0].weight.gradient), bits(convs[1].weight.gradient), "\(cc): dW")
            XCTAssertEqual(bits(convs[0].bias.gradient), bits(convs[1].bias.gradient), "\(cc): db")
        }
    }

    /// Automatic choice takes F(2×2, 5×5) on every 5×5 shape with channels in multiples of 16, and it agrees
    /// with the reference loops (forward, dx, dW, db, and the gradients accumulated over a second pass) on
    /// one thread and on two, with a second batch size through the same layer.
    func testWinograd5x5IsChosenAndMatchesReferenceOnOneAndTwoThreads() throws {
        var rng = RandomGenerator(seed: 107)
        for threads in [1, 2] {
            try withThreads(threads) {
                for cc in winograd5x5Cases {
                    let layers = pair(cc, generator: &rng)
                    let plan = try layers.fast.plan(forInput: [cc.n, cc.c, cc.h, cc.w], mode: .training)
                    XCTAssertEqual(plan.algorithm, .winograd5x5, "\(cc)")
                    assertBackendsAgree("\(cc), \(threads) threads", pair: layers,
                                        inputShapes: [[cc.n, cc.c, cc.h, cc.w], [cc.n + 1, cc.c, cc.h, cc.w]],
                                        generator: &rng)
                    XCTAssertEqual(layers.fast.plan?.algorithm, .winograd5x5, "\(cc)")
                }
            }
        }
    }

    /// F(4×4, 3×3) forced on 3×3 layers with padding 2 whose forward tiles reach past dx's tiling (H = 3, 4, 7,
    /// 8: ⌈(H + 2)/4⌉ > ⌈H/4⌉) agrees with the reference loops (forward, dx, dW, db), on one thread and on two,
    /// with a second batch size through the same layer.
    func testWinograd4x4WithPaddingTwoMatchesReferenceOnOneAndTwoThreads() throws {
        var rng = RandomGenerator(seed: 110)
        for threads in [1, 2] {
            try withThreads(threads) {
                for (h, w) in [(3, 3), (4, 4), (7, 7), (8, 8), (4, 7)] {
                    let cc = Case(n: 3, c: 16, h: h, w: w, f: 16, k: 3, s: 1, p: 2)
                    let layers = BackendPair({ backend -> Conv2D in
                        let conv = Conv2D(inChannels: cc.c, outChannels: cc.f, kernelSize: 3, padding: 2, backend: backend)
                        conv.algorithm = .winograd4x4
                        return conv
                    }, generator: &rng)
                    let plan = try layers.fast.plan(forInput: [cc.n, cc.c, cc.h, cc.w], mode: .training)
                    XCTAssertEqual(plan.algorithm, .winograd4x4, "\(cc)")
                    assertBackendsAgree("\(cc), \(threads) threads", pair: layers,
                                        inputShapes: [[cc.n, cc.c, cc.h, cc.w], [cc.n + 2, cc.c, cc.h, cc.w]],
                                        generator: &rng)
                }
            }
        }
    }

    /// F(2×2, 5×5) computes the same bytes every time: two layers with the same weights, on the same input,
    /// give bitwise the same y, dx, dW and db, plain and with a fused ReLU and 2×2 pooling (where the output
    /// has a window), on one thread and on two.
    func testWinograd5x5RepeatsItsBytes() {
        func bits(_ t: Tensor<Float>) -> [UInt32] { t.scalars.map(\.bitPattern) }
        var rng = RandomGenerator(seed: 108)
        for threads in [1, 2] {
            withThreads(threads) {
                for cc in winograd5x5Cases {
                    let pools = cc.h + 2 * cc.p - 4 >= 2 && cc.w + 2 * cc.p - 4 >= 2
                    for epilogue in [Epilogue.none] + (pools ? [Epilogue(relu: true, pool: (2, 2))] : []) {
                        let x: Tensor<Float> = randomNormalTensor([cc.n + 2, cc.c, cc.h, cc.w], scale: 1, using: &rng)
                        let w: Tensor<Float> = randomNormalTensor([cc.f, cc.c, 5, 5], scale: 0.2, using: &rng)
                        let b: Tensor<Float> = randomNormalTensor([cc.f], scale: 0.2, using: &rng)
                        var runs: [[[UInt32]]] = []
                        for _ in 0..<2 {
                            let conv = Conv2D(inChannels: cc.c, outChannels: cc.f, kernelSize: 5, padding: cc.p)
                            conv.weight.value = w
                            conv.bias.value = b
                            let y = conv.forward(x, mode: .training, epilogue: epilogue)
                            XCTAssertEqual(conv.plan?.algorithm, .winograd5x5)
                            let dy = Tensor<Float>(shape: y.shape, scalars: (0..<y.count).map { Float($0 % 7) - 3 })
                            let dx = conv.backward(dy)
                            runs.append([bits(y), bits(dx), bits(conv.weight.gradient), bits(conv.bias.gradient)])
                        }
                        XCTAssertEqual(runs[0], runs[1], "\(cc), \(epilogue), \(threads) threads")
                    }
                }
            }
        }
    }

    /// An input holding a NaN or an infinity leaves F(2×2, 5×5), chosen or forced, for im2col, whose outputs
    /// see only their own receptive field: the non-finite outputs are where the reference puts them, and the
    /// others agree with it.
    func testWinograd5x5LeavesForANonFiniteInput() {
        var rng = RandomGenerator(seed: 109)
        let cc = Case(n: 2, c: 16, h: 12, w: 12, f: 32, k: 5, s: 1, p: 0)
        for forced in [nil, Conv2D.Algorithm.winograd5x5] {
            for bad in [Float.nan, .infinity] {
                let layers = pair(cc, generator: &rng)
                layers.fast.algorithm = forced
                var x: Tensor<Float> = randomNormalTensor([cc.n, cc.c, cc.h, cc.w], scale: 1, using: &rng)
                let y0 = layers.fast.forward(x, mode: .training)
                XCTAssertEqual(layers.fast.plan?.algorithm, .winograd5x5)
                _ = layers.fast.backward(Tensor(shape: y0.shape, repeating: 0))
                x[1, 3, 6, 5] = bad
                let y = layers.fast.forward(x, mode: .training), expected = layers.reference.forward(x, mode: .training)
                let what = "\(forced?.rawValue ?? "automatic"), \(bad)"
                XCTAssertEqual(layers.fast.plan?.algorithm, .im2col, what)
                let nonFinite = expected.scalars.map { !$0.isFinite }
                XCTAssertEqual(nonFinite.filter { $0 }.count, 32 * 25, what)   // each filter's 5×5 outputs around it
                XCTAssertEqual(y.scalars.map { !$0.isFinite }, nonFinite, what)
                XCTAssertTrue(zip(y.scalars, expected.scalars).allSatisfy { !$1.isFinite || abs($0 - $1) <= 1e-4 + 1e-4 * abs($1) }, what)
            }
        }
    }

    /// Forcing F(2×2, 5×5) on a layer it cannot compute throws the typed error, naming the layer, the
    /// algorithm and what it needs: 3×3 kernels, channels not multiples of 16, stride 2, padding 5.
    func testWinograd5x5IsRefusedWhereItDoesNotApply() {
        let needs = "it needs 5×5 kernels, stride 1, padding ≤ 4 and channels in multiples of 16"
        for (c, f, k, s, p, shape) in [(16, 16, 3, 1, 1, [2, 16, 8, 8]), (8, 16, 5, 1, 0, [2, 8, 12, 12]),
                                       (16, 24, 5, 1, 0, [2, 16, 12, 12]), (16, 16, 5, 2, 2, [2, 16, 12, 12]),
                                       (16, 16, 5, 1, 5, [2, 16, 4, 4])] {
            let conv = Conv2D(inChannels: c, outChannels: f, kernelSize: k, stride: s, padding: p)
            conv.algorithm = .winograd5x5
            XCTAssertThrowsError(try conv.plan(forInput: shape, mode: .training)) { error in
                XCTAssertEqual(error as? Conv2D.PlanError,
                               .doesNotApply(.winograd5x5, layer: "Conv2D(\(c)→\(f), k\(k), s\(s), p\(p))", reason: needs))
                XCTAssertEqual("\(error)", "Conv2D(\(c)→\(f), k\(k), s\(s), p\(p)): the winograd-5x5 algorithm cannot compute it: \(needs)")
            }
        }
    }

    /// A larger input first, then a smaller one, then the larger one again: stale workspace contents must not leak.
    func testWorkspacesShrinkAndGrow() {
        var rng = RandomGenerator(seed: 103)
        let cc = Case(n: 4, c: 2, h: 9, w: 7, f: 3, k: 3, s: 2, p: 1)
        let layers = pair(cc, generator: &rng)
        assertBackendsAgree("\(cc), 4 → 1 → 2 → 4 images", pair: layers,
                            inputShapes: [[4, 2, 9, 7], [1, 2, 9, 7], [2, 2, 9, 7], [4, 2, 9, 7]],
                            generator: &rng)
        // Another spatial size through the same layer: cols and product change shape, not just length.
        assertBackendsAgree("\(cc), other image sizes", pair: layers,
                            inputShapes: [[2, 2, 5, 11], [2, 2, 11, 5]], generator: &rng)
    }

    /// y for a 1×1×3×3 input of 1 … 9 and an all-ones 3×3 kernel with padding 1 and bias 0.5: each output is
    /// its 3×3 neighbourhood sum plus 0.5, e.g. the centre 45.5 and the corner 1 + 2 + 4 + 5 + 0.5 = 12.5.
    func testFastForwardHandComputed() {
        let conv = Conv2D(inChannels: 1, outChannels: 1, kernelSize: 3, padding: 1)
        conv.weight.value = Tensor(shape: [1, 1, 3, 3], repeating: 1)
        conv.bias.value = Tensor(shape: [1], scalars: [0.5])
        let x = Tensor<Float>(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        let y = conv.forward(x, mode: .evaluation)
        let expected: [Float] = [12, 21, 16,
                                 27, 45, 33,
                                 24, 39, 28].map { $0 + 0.5 }
        XCTAssertEqual(y, Tensor(shape: [1, 1, 3, 3], scalars: expected))
    }

    /// A Winograd forward keeps U for the next forward when the weights have the same bits: after any change
    /// of the weights (one value, a +0 made −0, a training step), and after a backward (which leaves the
    /// flipped U in the same place), a layer's evaluation output is bitwise a fresh layer's with its weights.
    func testWinogradFiltersFollowEveryChangeOfTheWeights() {
        var rng = RandomGenerator(seed: 1307)
        for (c, h, algorithm) in [(16, 8, Conv2D.Algorithm.winograd4x4), (16, 7, .winograd4x4), (3, 16, .winograd2x2)] {
            let conv = Conv2D(inChannels: c, outChannels: 16, kernelSize: 3, padding: 1)
            conv.algorithm = algorithm
            let x: Tensor<Float> = randomNormalTensor([2, c, h, h], scale: 1, using: &rng)
            func checkAgainstFresh(_ tag: String) {
                let y = conv.forward(x, mode: .evaluation)
                XCTAssertEqual(conv.plan?.algorithm, algorithm)
                let fresh = Conv2D(inChannels: c, outChannels: 16, kernelSize: 3, padding: 1)
                fresh.algorithm = algorithm
                fresh.weight.value = conv.weight.value
                fresh.bias.value = conv.bias.value
                XCTAssertEqual(y.scalars.map(\.bitPattern), fresh.forward(x, mode: .evaluation).scalars.map(\.bitPattern),
                               "\(algorithm), \(h)×\(h): \(tag)")
            }
            checkAgainstFresh("first forward")
            checkAgainstFresh("same weights again")
            conv.weight.value.scalars[5] += 0.25
            checkAgainstFresh("one weight changed")
            conv.weight.value.scalars[0] = 0
            checkAgainstFresh("a weight set to +0")
            conv.weight.value.scalars[0] = -0.0
            checkAgainstFresh("that weight made −0")
            let y = conv.forward(x, mode: .training)
            _ = conv.backward(Tensor(shape: y.shape, repeating: 1))
            checkAgainstFresh("after a backward")
            conv.weight.value.scalars[7] -= 0.5
            checkAgainstFresh("after a backward and a change")
        }
    }
}
