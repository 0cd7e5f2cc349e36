//  BatchNormChannelsLastTests.swift
//
//  BatchNorm2D on channels-last activations (BatchNorm2D+ChannelsLast.swift) against the channels-first path
//  on the same values transposed, bit for bit: the training forward with no epilogue, the ReLU, and the ReLU
//  with 2×2 pooling; its backward (dx, dγ, dβ); the running statistics; the evaluation forward; on 1 and 2
//  threads; over inputs with wide ranges of magnitudes (so that the plane sums round differently in another
//  order, which `testTheInputsMakeThePlaneSumsOrderSensitive` checks), exact ties in the pooling windows, zeros
//  of both signs and outputs of −0. The layouts the channels-last kernels do not take (mixed layouts, C not a
//  multiple of 16, another pooling, the reference backend) go through transpositions, with the same bits.
//
//  Dimension legend: N batch, C channels, H×W spatial size; channels first (N, C, H, W), channels last (N, H, W, C).

@testable import CNN
import TestSupport
import XCTest

final class BatchNormChannelsLastTests: XCTestCase {
    private static let channelsLast = StepLayout(input: .channelsLast, output: .channelsLast)

    /// (N, C, H, W) → (N, H, W, C), index by index.
    private func toChannelsLast(_ t: Tensor<Float>) -> Tensor<Float> {
        let (n, c, h, w) = t.nchw
        var out = Tensor<Float>(shape: [n, h, w, c])
        for i in 0..<n { for k in 0..<c { for y in 0..<h { for x in 0..<w {
            out.scalars[((i * h + y) * w + x) * c + k] = t.scalars[((i * c + k) * h + y) * w + x]
        } } } }
        return out
    }

    private func bits(_ t: Tensor<Float>) -> [UInt32] { t.scalars.map(\.bitPattern) }

    private func assertSameBits(_ a: Tensor<Float>, _ b: Tensor<Float>, _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        guard a.shape == b.shape else { return }
        let differ = zip(a.scalars, b.scalars).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        XCTAssert(differ.isEmpty, "\(what): \(differ.count) of \(a.count) values differ in their bits, the first at \(differ.first.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")",
                  file: file, line: line)
    }

    /// Values of magnitudes 2⁻⁸ to 2¹⁶ and both signs, so that the plane sums depend on their order; in each
    /// image some 2×2 windows hold one value four times (ties), and some values are +0 or −0.
    private func input(_ shape: [Int], _ rng: inout RandomGenerator) -> Tensor<Float> {
        var t = Tensor<Float>(shape: shape)
        for i in t.scalars.indices {
            let e = Int(rng.next() % 25) - 8, u = rng.nextUniform()
            let sign: Float = rng.next() % 2 == 0 ? 1 : -1
            switch rng.next() % 16 {
            case 0: t.scalars[i] = 0
            case 1: t.scalars[i] = -0.0
            default: t.scalars[i] = sign * Float(sign: .plus, exponent: e, significand: 1 + u)
            }
        }
        let (n, c, h, w) = t.nchw
        for plane in 0..<(n * c) where h >= 2 && w >= 2 {
            for _ in 0..<3 {
                let y = 2 * Int(rng.next() % UInt64(h / 2)), x = 2 * Int(rng.next() % UInt64(w / 2))
                let v = t.scalars[plane * h * w + y * w + x]
                for (dy, dx) in [(0, 1), (1, 0), (1, 1)] { t.scalars[plane * h * w + (y + dy) * w + x + dx] = v }
            }
        }
        return t
    }

    /// Two batch norms with the same γ, β and running statistics: random ones, and in channel 1 γ = 0 and β = −0,
    /// so that its outputs are −0 wherever x̂ < 0.
    private func pair(_ channels: Int, backend: Backend = .fast, _ rng: inout RandomGenerator) -> (BatchNorm2D, BatchNorm2D) {
        let a = BatchNorm2D(numFeatures: channels, momentum: 0.3, backend: backend)
        let b = BatchNorm2D(numFeatures: channels, momentum: 0.3, backend: backend)
        var gamma = (0..<channels).map { _ in 1 + 0.5 * rng.nextNormal() }
        var beta = (0..<channels).map { _ in 0.5 * rng.nextNormal() }
        if channels > 1 { gamma[1] = 0; beta[1] = -0.0 }
        let mean = (0..<channels).map { _ in rng.nextNormal() }, variance = (0..<channels).map { _ in 0.5 + rng.nextUniform() }
        for layer in [a, b] {
            layer.weight.value = Tensor(shape: [channels], scalars: gamma)
            layer.bias.value = Tensor(shape: [channels], scalars: beta)
            layer.runningMean = Tensor(shape: [channels], scalars: mean)
            layer.runningVariance = Tensor(shape: [channels], scalars: variance)
        }
        return (a, b)
    }

    /// Gradients with ties and zeros of both signs, in the shape of `shape`'s output.
    private func gradient(_ shape: [Int], _ rng: inout RandomGenerator) -> Tensor<Float> {
        var t: Tensor<Float> = randomNormalTensor(shape, using: &rng)
        for i in t.scalars.indices {
            switch rng.next() % 8 {
            case 0: t.scalars[i] = 0
            case 1: t.scalars[i] = -0.0
            case 2: t.scalars[i] = 0.5
            default: t.scalars[i] *= Float(sign: .plus, exponent: Int(rng.next() % 12) - 4, significand: 1)
            }
        }
        return t
    }

    private static let epilogues: [Epilogue] = [.none, Epilogue(relu: true), Epilogue(relu: true, pool: (kernel: 2, stride: 2))]

    /// Two training steps (forward, backward) and an evaluation forward of `first` (channels first) and `last`
    /// (in `layout`), compared bit for bit after transposing.
    private func assertAgree(_ first: BatchNorm2D, _ last: BatchNorm2D, shape: [Int], epilogue: Epilogue,
                             layout: StepLayout, _ rng: inout RandomGenerator, _ what: String) {
        func inLayout(_ t: Tensor<Float>, _ l: ActivationLayout) -> Tensor<Float> { l == .channelsLast ? toChannelsLast(t) : t }
        for step in 0..<2 {
            let x = input(shape, &rng)
            let y = first.forward(x, mode: .training, epilogue: epilogue)
            let yLast = last.forward(inLayout(x, layout.input), mode: .training, epilogue: epilogue, layout: layout)
            assertSameBits(yLast, inLayout(y, layout.output), "\(what), step \(step): output")
            let dy = gradient(y.shape, &rng)
            let dx = first.backward(dy)
            let dxLast = last.backward(inLayout(dy, layout.output))
            assertSameBits(dxLast, inLayout(dx, layout.input), "\(what), step \(step): dx")
            assertSameBits(last.weight.gradient, first.weight.gradient, "\(what), step \(step): dγ")
            assertSameBits(last.bias.gradient, first.bias.gradient, "\(what), step \(step): dβ")
            assertSameBits(last.runningMean, first.runningMean, "\(what), step \(step): running_mean")
            assertSameBits(last.runningVariance, first.runningVariance, "\(what), step \(step): running_var")
        }
        XCTAssertEqual(last.numBatchesTracked, first.numBatchesTracked, what)
        let x = input(shape, &rng)
        let y = first.forward(x, mode: .evaluation, epilogue: epilogue)
        let yLast = last.forward(inLayout(x, layout.input), mode: .evaluation, epilogue: epilogue, layout: layout)
        assertSameBits(yLast, inLayout(y, layout.output), "\(what): evaluation output")
    }

    private static let shapes: [[Int]] = [[3, 16, 28, 28], [5, 32, 14, 14], [4, 48, 7, 7], [2, 16, 6, 10], [3, 16, 5, 9]]

    func testChannelsLastIsBitwiseTheChannelsFirstPath() {
        var rng = RandomGenerator(seed: 1301)
        for threads in [1, 2] {
            withThreads(threads) {
                for shape in Self.shapes {
                    for epilogue in Self.epilogues {
                        let (first, last) = pair(shape[1], &rng)
                        XCTAssertEqual(last.path(for: Self.channelsLast, epilogue: epilogue), .channelsLast(output: .channelsLast))
                        assertAgree(first, last, shape: shape, epilogue: epilogue, layout: Self.channelsLast, &rng,
                                    "\(shape)\(epilogue), \(threads) threads")
                    }
                }
            }
        }
    }

    /// The channels-first path on one thread against the channels-last kernels on two: the same bits.
    func testChannelsLastDoesNotDependOnTheThreadCount() {
        var rng = RandomGenerator(seed: 1302)
        let shape = [4, 64, 14, 14], epilogue = Epilogue(relu: true, pool: (kernel: 2, stride: 2))
        let (first, last) = pair(shape[1], &rng)
        for _ in 0..<2 {
            let x = input(shape, &rng)
            let y = withThreads(1) { first.forward(x, mode: .training, epilogue: epilogue) }
            let yLast = withThreads(2) { last.forward(toChannelsLast(x), mode: .training, epilogue: epilogue, layout: Self.channelsLast) }
            assertSameBits(yLast, toChannelsLast(y), "output")
            let dy = gradient(y.shape, &rng)
            let dx = withThreads(1) { first.backward(dy) }
            let dxLast = withThreads(2) { last.backward(toChannelsLast(dy)) }
            assertSameBits(dxLast, toChannelsLast(dx), "dx")
            assertSameBits(last.weight.gradient, first.weight.gradient, "dγ")
            assertSameBits(last.bias.gradient, first.bias.gradient, "dβ")
            assertSameBits(last.runningVariance, first.runningVariance, "running_var")
        }
    }

    /// NaNs and infinities: a channel with a NaN is NaN throughout, one with an infinity too (its σ² is); the
    /// pooled NaNs come out as the channels-first path gives them, and so does the backward.
    func testNonFiniteInputsGiveTheSameBits() {
        var rng = RandomGenerator(seed: 1303)
        for epilogue in Self.epilogues {
            let shape = [2, 32, 6, 6]
            let (first, last) = pair(shape[1], &rng)
            var x = input(shape, &rng)
            x.scalars[3 * 36 + 7] = .nan
            x.scalars[(32 + 5) * 36 + 1] = -.nan
            x.scalars[9 * 36 + 14] = .infinity
            x.scalars[12 * 36 + 0] = -.infinity
            let y = first.forward(x, mode: .training, epilogue: epilogue)
            let yLast = last.forward(toChannelsLast(x), mode: .training, epilogue: epilogue, layout: Self.channelsLast)
            assertSameBits(yLast, toChannelsLast(y), "\(epilogue): output")
            var dy = gradient(y.shape, &rng)
            dy.scalars[5] = .nan
            let dx = first.backward(dy)
            let dxLast = last.backward(toChannelsLast(dy))
            assertSameBits(dxLast, toChannelsLast(dx), "\(epilogue): dx")
            assertSameBits(last.weight.gradient, first.weight.gradient, "\(epilogue): dγ")
            assertSameBits(last.bias.gradient, first.bias.gradient, "\(epilogue): dβ")
        }
    }

    /// Channels last in, channels first out (and the reverse): the channels-last kernels with the output
    /// transposed, and the channels-first path with the output transposed; the same bits either way.
    func testMixedLayoutsGiveTheSameBits() {
        var rng = RandomGenerator(seed: 1304)
        let toFirst = StepLayout(input: .channelsLast, output: .channelsFirst)
        let toLast = StepLayout(input: .channelsFirst, output: .channelsLast)
        for epilogue in Self.epilogues {
            let (first, last) = pair(32, &rng)
            XCTAssertEqual(last.path(for: toFirst, epilogue: epilogue), .channelsLast(output: .channelsFirst))
            XCTAssertEqual(last.path(for: toLast, epilogue: epilogue), .transposed(toLast))
            for layout in [toFirst, toLast] {
                assertAgree(first, last, shape: [3, 32, 7, 10], epilogue: epilogue, layout: layout, &rng, "\(layout)\(epilogue)")
            }
        }
    }

    /// What the channels-last kernels do not take runs on the channels-first path, transposed around it:
    /// C not a multiple of 16, a 3×3 stride-2 pooling, the reference backend.
    func testOtherCasesAreTransposedAroundTheChannelsFirstPath() {
        var rng = RandomGenerator(seed: 1305)
        let pool3 = Epilogue(relu: true, pool: (kernel: 3, stride: 2))
        let cases: [(channels: Int, epilogue: Epilogue, backend: Backend)] = [
            (8, .none, .fast), (24, Epilogue(relu: true, pool: (kernel: 2, stride: 2)), .fast), (16, pool3, .fast),
            (16, .none, .reference)]
        for (channels, epilogue, backend) in cases {
            let (first, last) = pair(channels, backend: backend, &rng)
            XCTAssertEqual(last.path(for: Self.channelsLast, epilogue: epilogue), .transposed(Self.channelsLast))
            assertAgree(first, last, shape: [2, channels, 9, 8], epilogue: epilogue, layout: Self.channelsLast, &rng,
                        "C = \(channels)\(epilogue), \(backend)")
        }
    }

    /// The inputs above make the plane sums depend on their order: for most planes of a 28×28 and a 7×7 input,
    /// `Reductions.sum` (sixteen lanes, reduced in lane order, then the tail) differs in its bits from the same
    /// lanes reduced in reverse or as a tree, and from a plain loop; so a channels-last sum in another order
    /// would have failed the tests above. (The means come from these sums in Double, and the tests compare them.)
    func testTheInputsMakeThePlaneSumsOrderSensitive() {
        var rng = RandomGenerator(seed: 1306)
        for shape in [[2, 16, 28, 28], [2, 16, 7, 7]] {
            let x = input(shape, &rng), hw = shape[2] * shape[3]
            var differ = (reverse: 0, tree: 0, plain: 0)
            x.scalars.withUnsafeBufferPointer { p in
                for plane in 0..<(shape[0] * shape[1]) {
                    let v = p.baseAddress! + plane * hw, full = hw & ~15
                    var lanes = [Float](repeating: 0, count: 16)
                    for i in 0..<full { lanes[i % 16] += v[i] }
                    func tail(_ s: Float) -> Float { var s = s; for i in full..<hw { s += v[i] }; return s }
                    func tree(_ a: ArraySlice<Float>) -> Float {
                        a.count == 1 ? a.first! : tree(a.prefix(a.count / 2)) + tree(a.suffix(a.count / 2))
                    }
                    let want = Reductions.sum(v, hw).bitPattern
                    if tail(lanes.reversed().reduce(0, +)).bitPattern != want { differ.reverse += 1 }
                    if tail(tree(lanes[...])).bitPattern != want { differ.tree += 1 }
                    if (0..<hw).reduce(Float(0), { $0 + v[$1] }).bitPattern != want { differ.plain += 1 }
                }
            }
            let planes = shape[0] * shape[1]
            XCTAssertGreaterThan(differ.reverse, planes / 2, "\(shape): reverse lane order")
            XCTAssertGreaterThan(differ.tree, planes / 2, "\(shape): tree")
            XCTAssertGreaterThan(differ.plain, planes / 2, "\(shape): plain loop")
        }
    }

    /// `SIMD16<Float>.sum()` adds its lanes in index order, starting from a zero (the order the channels-last sums
    /// reproduce, BatchNormKernels+ChannelsLast.swift): on 2²⁴, fourteen ones and −2²⁴ that gives 0 (each 2²⁴ + 1
    /// rounds to 2²⁴), where the reverse order gives 14 and a pairwise tree 13; and on random vectors of wide range
    /// it equals the loop bit for bit.
    func testSIMDSumAddsTheLanesInIndexOrder() {
        var v = SIMD16<Float>(repeating: 1)
        v[0] = 16_777_216
        v[15] = -16_777_216
        XCTAssertEqual(v.sum(), 0)
        XCTAssertEqual((0..<16).reversed().reduce(Float(0)) { $0 + v[$1] }, 14)
        func tree(_ lanes: Range<Int>) -> Float {
            lanes.count == 1 ? v[lanes.lowerBound] : tree(lanes.prefix(lanes.count / 2)) + tree(lanes.suffix(lanes.count / 2))
        }
        XCTAssertEqual(tree(0..<16), 13)
        var rng = RandomGenerator(seed: 1307)
        for _ in 0..<1000 {
            var v = SIMD16<Float>()
            for l in 0..<16 {
                v[l] = (rng.next() % 2 == 0 ? 1 : -1) * Float(sign: .plus, exponent: Int(rng.next() % 40) - 20,
                                                            significand: 1 + rng.nextUniform())
            }
            XCTAssertEqual(v.sum().bitPattern, (0..<16).reduce(Float(0)) { $0 + v[$1] }.bitPattern, "\(v)")
        }
    }

    /// Shapes: a channels-last input of odd size, pooled, gives (N, ⌊H/2⌋, ⌊W/2⌋, C), and dx is (N, H, W, C).
    func testChannelsLastShapes() {
        var rng = RandomGenerator(seed: 1308)
        let (_, last) = pair(16, &rng)
        let y = last.forward(toChannelsLast(input([2, 16, 5, 7], &rng)), mode: .training, epilogue: Epilogue(relu: true, pool: (kernel: 2, stride: 2)),
                             layout: Self.channelsLast)
        XCTAssertEqual(y.shape, [2, 2, 3, 16])
        XCTAssertEqual(last.backward(Tensor(shape: y.shape, repeating: 1)).shape, [2, 5, 7, 16])
        XCTAssertEqual(last.forward(Tensor(shape: [2, 5, 7, 16]), mode: .evaluation, epilogue: .none, layout: Self.channelsLast).shape,
                       [2, 5, 7, 16])
    }
}
