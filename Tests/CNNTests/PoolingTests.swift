//  PoolingTests.swift
//
//  Fast max and average pooling against the reference loops, forward and backward, over a table of windows:
//  overlapping (S < K) and not, odd sizes whose last rows and columns no window reaches, K = 1, one-row inputs.
//  Max pooling is compared on inputs without ties (all scalars distinct), and separately on inputs full of ties,
//  where the fast path must send the gradient to the window's first maximum in row-major order, as the
//  reference and PyTorch do. Tolerance: BackendTolerance (see BackendComparison.swift).
//
//  Dimension legend: N batch, C channels, H×W input, K window (K×K), S stride,
//  Ho = 1 + ⌊(H − K) / S⌋, Wo = 1 + ⌊(W − K) / S⌋.

import CNN
import RealModule
import TestSupport
import XCTest

final class PoolingTests: XCTestCase {
    private struct Case: CustomStringConvertible {
        var n, c, h, w, k, s: Int
        var description: String { "N\(n) C\(c) \(h)×\(w) k\(k) s\(s)" }
    }

    private let cases: [Case] = [
        Case(n: 1, c: 1, h: 4, w: 4, k: 2, s: 2),
        Case(n: 2, c: 3, h: 7, w: 5, k: 2, s: 2),     // odd: last row and column dropped
        Case(n: 2, c: 2, h: 7, w: 7, k: 3, s: 2),     // overlapping
        Case(n: 1, c: 3, h: 5, w: 9, k: 3, s: 1),     // overlapping, stride 1
        Case(n: 3, c: 1, h: 9, w: 9, k: 3, s: 3),
        Case(n: 2, c: 2, h: 1, w: 9, k: 1, s: 2),     // 1×9, K = 1
        Case(n: 1, c: 2, h: 8, w: 6, k: 4, s: 3),
        Case(n: 2, c: 1, h: 6, w: 6, k: 2, s: 1),
        Case(n: 1, c: 1, h: 3, w: 3, k: 3, s: 1),     // one window covering everything
        Case(n: 2, c: 4, h: 28, w: 28, k: 2, s: 2),   // MNIST-like: 14 windows a row, two overlapping blocks of 8
        Case(n: 2, c: 2, h: 10, w: 10, k: 2, s: 2),   // 5 windows a row: two overlapping blocks of 4
        Case(n: 1, c: 2, h: 5, w: 9, k: 2, s: 2),     // 4 windows a row, odd width
        Case(n: 1, c: 2, h: 6, w: 17, k: 2, s: 2),    // exactly one block of 8, odd width
        Case(n: 1, c: 1, h: 4, w: 35, k: 2, s: 2),    // 17 windows: blocks at 0, 8 and 9
    ]

    private static func distinct(_ shape: [Int], _ rng: inout RandomGenerator) -> Tensor<Float> {
        randomDistinctTensor(shape, spacing: 0.01, using: &rng)
    }

    // MARK: - Max pooling

    func testMaxPoolFastMatchesReference() {
        var rng = RandomGenerator(seed: 201)
        for cc in cases {
            let layers = BackendPair({ MaxPool2D(kernelSize: cc.k, stride: cc.s, backend: $0) }, generator: &rng)
            let other = cc.n == 1 ? 3 : 1
            assertBackendsAgree("MaxPool2D \(cc)", pair: layers,
                                inputShapes: [[cc.n, cc.c, cc.h, cc.w], [other, cc.c, cc.h, cc.w]],
                                generator: &rng, makeInput: Self.distinct)
        }
    }

    func testMaxPoolFastMatchesReferenceWithTwoThreads() {
        var rng = RandomGenerator(seed: 202)
        withThreads(2) {
            for cc in cases {
                let layers = BackendPair({ MaxPool2D(kernelSize: cc.k, stride: cc.s, backend: $0) }, generator: &rng)
                assertBackendsAgree("MaxPool2D \(cc), 2 threads", pair: layers,
                                    inputShapes: [[cc.n + 1, cc.c, cc.h, cc.w]], generator: &rng,
                                    makeInput: Self.distinct)
            }
        }
    }

    /// Inputs drawn from {0, 1, 2} (and one all-equal input): most windows have several maxima. The fast path
    /// records an argmax per output; it must pick the same (first) one as the reference.
    func testMaxPoolTiesGoToFirstMaximumLikeReference() {
        var rng = RandomGenerator(seed: 203)
        let fewValues = { (shape: [Int], rng: inout RandomGenerator) -> Tensor<Float> in
            var t = Tensor<Float>(shape: shape)
            for i in 0..<t.count { t.scalars[i] = Float(rng.next() % 3) }
            return t
        }
        for cc in cases {
            let layers = BackendPair({ MaxPool2D(kernelSize: cc.k, stride: cc.s, backend: $0) }, generator: &rng)
            assertBackendsAgree("MaxPool2D with ties \(cc)", pair: layers,
                                inputShapes: [[cc.n, cc.c, cc.h, cc.w]], generator: &rng, makeInput: fewValues)
            assertBackendsAgree("MaxPool2D all equal \(cc)", pair: layers,
                                inputShapes: [[cc.n, cc.c, cc.h, cc.w]], generator: &rng,
                                makeInput: { shape, _ in Tensor(shape: shape, repeating: -3) })
        }
    }

    /// A 1×1×2×4 input [[5, 5, 1, 7], [5, 2, 7, 7]] with 2×2 windows, stride 2: window 0 has its maximum 5 at
    /// (0, 0), (0, 1) and (1, 0), window 1 has 7 at (0, 3), (1, 2) and (1, 3). The gradient goes to the first in
    /// row-major order: (0, 0) and (0, 3).
    func testMaxPoolTieHandComputed() {
        let pool = MaxPool2D(kernelSize: 2, stride: 2)
        let x = Tensor<Float>(shape: [1, 1, 2, 4], scalars: [5, 5, 1, 7,
                                                             5, 2, 7, 7])
        let y = pool.forward(x, mode: .training)
        XCTAssertEqual(y.scalars, [5, 7])
        let dx = pool.backward(Tensor(shape: [1, 1, 1, 2], scalars: [10, 20]))
        XCTAssertEqual(dx.scalars, [10, 0, 0, 20,
                                    0, 0, 0, 0])
    }

    /// A NaN in a window wins it, as in PyTorch, and takes the gradient; the first NaN wins among several.
    /// Checked for every 2×2 path (scalar rows, blocks of 4 and of 8 with the overlapping last block)
    /// against the rule written out here.
    func testMaxPoolNaNWinsInEveryPath() {
        var rng = RandomGenerator(seed: 206)
        for w in [4, 9, 10, 16, 17, 35] {
            let h = 4, wp = w / 2
            var x: Tensor<Float> = randomDistinctTensor([1, 1, h, w], spacing: 0.01, using: &rng)
            for _ in 0..<(w / 2) { x.scalars[Int(rng.next() % UInt64(h * w))] = .nan }
            var expected = [Float](), winners = [Int]()
            for i in 0..<(h / 2) {
                for j in 0..<wp {
                    var at = 2 * i * w + 2 * j
                    for q in [2 * i * w + 2 * j + 1, (2 * i + 1) * w + 2 * j, (2 * i + 1) * w + 2 * j + 1] {
                        let v = x.scalars[q], best = x.scalars[at]
                        if v > best || (v.isNaN && !best.isNaN) { at = q }
                    }
                    expected.append(x.scalars[at]); winners.append(at)
                }
            }
            let pool = MaxPool2D(kernelSize: 2, stride: 2)
            let y = pool.forward(x, mode: .training)
            XCTAssertEqual(y.scalars.map(\.bitPattern), expected.map(\.bitPattern), "width \(w)")
            let dy = Tensor<Float>(shape: y.shape, scalars: (0..<y.count).map { Float($0 + 1) })
            var dxExpected = [Float](repeating: 0, count: h * w)
            for (e, at) in winners.enumerated() { dxExpected[at] += Float(e + 1) }
            XCTAssertEqual(pool.backward(dy).scalars, dxExpected, "width \(w)")
        }
    }

    /// The ReLU taken inside the pooling (`relu: true`, on bit patterns for rows of 8 windows or more) gives,
    /// bit for bit, the ReLU (which keeps NaNs) followed by the plain pooling: values, signs of zero and argmax,
    /// on planes full of ties, −0 and +0, NaNs of both signs, ±∞ and negative numbers. A window's NaN may come
    /// out as another NaN (the bit-pattern kernels give the quiet NaN), so NaNs are compared as NaNs. Widths 10, 28 and 35 take the
    /// four-window, eight-window and overlapping paths, widths 7, 5 and 3 the gathered rows of 3, 2 and 1 windows;
    /// a 3×3 window takes the general one.
    func testReLUInsidePoolingIsBitwiseReLUThenPooling() {
        var rng = RandomGenerator(seed: 207)
        let specials: [Float] = [0, -0.0, 1, 1, -1, 2, .nan, -Float.nan, .infinity, -.infinity, 0.5, -0.5]
        for (w, pool) in [(10, (2, 2)), (28, (2, 2)), (35, (2, 2)), (7, (2, 2)), (5, (2, 2)), (3, (2, 2)), (9, (3, 2))] {
            let h = w < 8 ? 16 : 6
            let y = (0..<(h * w)).map { _ in specials[Int(rng.next() % UInt64(specials.count))] }
            let (hp, wp) = ((h - pool.0) / pool.1 + 1, (w - pool.0) / pool.1 + 1)
            var fused = [Float](repeating: 7, count: hp * wp), separate = fused
            var fusedArgmax = [Int32](repeating: -1, count: hp * wp), separateArgmax = fusedArgmax
            let relued = y.map(ReLUPoolEpilogue.relu)
            y.withUnsafeBufferPointer { yp in
                ReLUPoolEpilogue.maxPool(yp.baseAddress!, planes: 1, height: h, width: w, relu: true, pool: pool,
                                         into: &fused, argmax: &fusedArgmax)
            }
            relued.withUnsafeBufferPointer { rp in
                ReLUPoolEpilogue.maxPool(rp.baseAddress!, planes: 1, height: h, width: w, pool: pool,
                                         into: &separate, argmax: &separateArgmax)
            }
            func bits(_ v: [Float]) -> [UInt32] { v.map { $0.isNaN ? Float.nan.bitPattern : $0.bitPattern } }
            XCTAssertTrue(separate.contains { $0.isNaN }, "width \(w): NaNs reach the output")
            XCTAssertEqual(bits(fused), bits(separate), "width \(w)")
            XCTAssertEqual(fusedArgmax, separateArgmax, "width \(w)")
        }
    }

    /// The vector ReLU, ReLU mask and branch-free scatter (on bit patterns, sixteen lanes and then a scalar tail)
    /// against the scalar definitions, bit for bit, NaN payloads included: relu(v) = v < 0 ? 0 : v,
    /// dOut·[out > 0] = out > 0 ? dOut : 0, and `scatter`, on ±0, ±∞, subnormals, the largest floats and NaNs of
    /// both signs with payloads, with windows that share a winner (the argmax repeats) and 37 values (two
    /// vector blocks and a tail).
    func testVectorReLUMaskAndScatterAreBitwiseTheScalarOnes() {
        var rng = RandomGenerator(seed: 208)
        let specials: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                 .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .nan, -Float.nan,
                                 Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC0_1234), 0.25, -3]
        func pick() -> Float { specials[Int(rng.next() % UInt64(specials.count))] }
        func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }
        let count = 37
        var y = (0..<count).map { _ in pick() }, dOut = (0..<count).map { _ in pick() }
        y[0] = 1; dOut[0] = -0.0     // a −0 that passes the mask: scatter stores 0 + (−0) = +0
        var relued = y
        ReLUPoolEpilogue.relu(&relued, count: count)
        XCTAssertEqual(bits(relued), bits(y.map { $0 < 0 ? 0 : $0 }), "relu")
        var masked = [Float](repeating: 7, count: count)
        ReLUPoolEpilogue.mask(dOut, by: y, count: count, into: &masked)
        XCTAssertEqual(bits(masked), bits(zip(y, dOut).map { $0 > 0 ? $1 : 0 }), "mask")
        XCTAssertTrue(masked.contains { $0.isNaN } && y.contains { $0.isNaN }, "NaNs on both sides")
        // A plane of 20 positions, 37 windows whose winners repeat.
        let planeSize = 20
        let argmax = (0..<count).map { _ in Int32(rng.next() % UInt64(planeSize)) }
        var scattered = [Float](repeating: 7, count: planeSize), branchFree = scattered, scratch = masked
        ReLUPoolEpilogue.scatter(dOut, pooled: y, argmax: argmax, planes: 1, pooledSize: count, planeSize: planeSize,
                                 into: &scattered)
        ReLUPoolEpilogue.scatterMasked(dOut, pooled: y, argmax: argmax, pooledSize: count, planeSize: planeSize,
                                       disjoint: false, masked: &scratch, into: &branchFree)
        XCTAssertEqual(bits(branchFree), bits(scattered), "scatter")
        // Winners that never repeat (a permutation of 37 of 40 positions): the stored form.
        var positions = Array(0..<40).map(Int32.init)
        for i in stride(from: 39, to: 0, by: -1) { positions.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let distinct = Array(positions.prefix(count))
        var scatteredOnce = [Float](repeating: 7, count: 40), stored = scatteredOnce
        ReLUPoolEpilogue.scatter(dOut, pooled: y, argmax: distinct, planes: 1, pooledSize: count, planeSize: 40,
                                 into: &scatteredOnce)
        ReLUPoolEpilogue.scatterMasked(dOut, pooled: y, argmax: distinct, pooledSize: count, planeSize: 40,
                                       disjoint: true, masked: &scratch, into: &stored)
        XCTAssertEqual(bits(stored), bits(scatteredOnce), "scatter, disjoint windows")
    }

    /// Overlapping windows (k3, s1) on a 1×1×3×4 input whose maximum 9 sits at (1, 2): both windows pick it,
    /// so it receives the sum of their gradients, 1 + 2.
    func testMaxPoolOverlappingWindowsAccumulate() {
        let pool = MaxPool2D(kernelSize: 3, stride: 1)
        let x = Tensor<Float>(shape: [1, 1, 3, 4], scalars: [1, 2, 3, 4,
                                                             5, 6, 9, 8,
                                                             0, 1, 2, 3])
        XCTAssertEqual(pool.forward(x, mode: .training).scalars, [9, 9])
        let dx = pool.backward(Tensor(shape: [1, 1, 1, 2], scalars: [1, 2]))
        XCTAssertEqual(dx.scalars, [0, 0, 0, 0,
                                    0, 0, 3, 0,
                                    0, 0, 0, 0])
    }

    // MARK: - Average pooling

    func testAvgPoolFastMatchesReference() {
        var rng = RandomGenerator(seed: 204)
        for cc in cases {
            let layers = BackendPair({ AvgPool2D(kernelSize: cc.k, stride: cc.s, backend: $0) }, generator: &rng)
            let other = cc.n == 1 ? 3 : 1
            assertBackendsAgree("AvgPool2D \(cc)", pair: layers,
                                inputShapes: [[cc.n, cc.c, cc.h, cc.w], [other, cc.c, cc.h, cc.w]],
                                generator: &rng)
        }
    }

    func testAvgPoolFastMatchesReferenceWithTwoThreads() {
        var rng = RandomGenerator(seed: 205)
        withThreads(2) {
            for cc in cases {
                let layers = BackendPair({ AvgPool2D(kernelSize: cc.k, stride: cc.s, backend: $0) }, generator: &rng)
                assertBackendsAgree("AvgPool2D \(cc), 2 threads", pair: layers,
                                    inputShapes: [[cc.n + 1, cc.c, cc.h, cc.w]], generator: &rng)
            }
        }
    }

    /// 2×2 windows, stride 2, on a 1×1×3×3 input of 1 … 9: one window, mean (1 + 2 + 4 + 5)/4 = 3; its gradient
    /// 4 is spread as 1 over those four positions and the dropped last row and column get 0.
    func testAvgPoolHandComputed() {
        let pool = AvgPool2D(kernelSize: 2, stride: 2)
        let x = Tensor<Float>(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        XCTAssertEqual(pool.forward(x, mode: .training).scalars, [3])
        XCTAssertEqual(pool.backward(Tensor(shape: [1, 1, 1, 1], scalars: [4])).scalars,
                       [1, 1, 0,
                        1, 1, 0,
                        0, 0, 0])
    }
}
