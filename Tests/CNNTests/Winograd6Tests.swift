//  Winograd6Tests.swift
//
//  The F(4×4, 3×3) and F(2×2, 5×5) kernels' own contracts, bit for bit: the filter transforms, which run on
//  eight kernels at once, against the same formulas on one Double at a time; and, for both, a group of images
//  sharing each product
//  (`Winograd6.Stack`) against each image alone, forward, pooled forward and backward, where the probe
//  (`Winograd6.stacksImages`) lets images share products; where it does not, that no shape forms a group.
//  The convolution on channels-last inputs and outputs (evaluation's handoff between F(4×4) layers) against
//  the channels-first one, bit for bit. F(2×2, 5×5)'s dx by the adjoint against the reference sums, in every
//  layout. (The whole convolution against the reference loops is in Conv2DTests and FusionTests.)
//
//  Dimension legend: k images, F filters, C channels, T tiles, r the kernel's side; U (36, C, F), g (F, C, r, r).

import CNN
import TestSupport
import XCTest

final class Winograd6Tests: XCTestCase {
    /// The kernels run with BLAS on one thread (`Parallel.setThreads` keeps it there), and only then may images
    /// share a product (`Winograd6.stacksImages`).
    override func setUp() {
        super.setUp()
        BLAS.setThreads(1)
    }

    /// The two filterings on 6×6 tiles.
    private let variants: [Winograd6.Variant] = [.f4x4k3, .f2x2k5]

    /// (F, C): multiples of 16 as the layers use them, and counts that leave a partial block of eight lanes
    /// in either direction.
    private let filterShapes = [(16, 16), (32, 16), (16, 48), (5, 3), (9, 17), (1, 1)]

    /// G applied to three values, one Double at a time (Winograd6.swift's formula).
    private func timesG(_ g0: Double, _ g1: Double, _ g2: Double) -> [Double] {
        let even = g0 + g2
        return [g0 / 4, -(even + g1) / 6, -(even - g1) / 6, g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2]
    }

    /// Gᵀ applied to six values, one Double at a time.
    private func timesGT(_ d: [Double]) -> [Double] {
        [d[0] / 4 - (d[1] + d[2]) / 6 + (d[3] + d[4]) / 24,
         (d[2] - d[1]) / 6 + (d[3] - d[4]) / 12,
         (d[3] + d[4] - d[1] - d[2]) / 6 + d[5]]
    }

    /// G (6×5) of F(2×2, 5×5) applied to five values, one Double at a time (Winograd6+Transforms.swift's formula).
    private func timesG5(_ g: [Double]) -> [Double] {
        let even = g[0] + g[2] + g[4], odd = g[1] + g[3]
        let a = g[0] / 24 + g[2] / 6 + (g[4] + g[4]) / 3, b = g[1] / 12 + g[3] / 3
        return [g[0] / 4, -(even + odd) / 6, -(even - odd) / 6, a + b, a - b, g[4]]
    }

    /// Gᵀ (5×6) of F(2×2, 5×5) applied to six values, one Double at a time.
    private func timesGT5(_ d: [Double]) -> [Double] {
        let s12 = d[1] + d[2], s34 = d[3] + d[4], m21 = d[2] - d[1], m34 = d[3] - d[4]
        return [d[0] / 4 - s12 / 6 + s34 / 24, m21 / 6 + m34 / 12, (s34 - s12) / 6, m21 / 6 + m34 / 3,
                (s34 + s34) / 3 - s12 / 6 + d[5]]
    }

    /// U = G g Gᵀ one kernel at a time, rounded once to Float, for r×r kernels and `timesG` of r values.
    private func scalarTransform(_ g: [Float], F: Int, C: Int, r: Int = 3, flipped: Bool,
                                 timesG: ([Double]) -> [Double]) -> [Float] {
        let (ci, fo) = flipped ? (F, C) : (C, F), rr = r * r
        var u = [Float](repeating: .nan, count: 36 * ci * fo)
        for f in 0..<F {
            for c in 0..<C {
                let k = (f * C + c) * rr
                func at(_ i: Int, _ l: Int) -> Double { Double(g[k + (flipped ? rr - 1 - (r * i + l) : r * i + l)]) }
                let gg = (0..<r).map { l in timesG((0..<r).map { at($0, l) }) }   // gg[l][a] = (G g)[a][l]
                let (row, col) = flipped ? (f, c) : (c, f)
                for a in 0..<6 {
                    let t = timesG((0..<r).map { gg[$0][a] })
                    for s in 0..<6 { u[((6 * a + s) * ci + row) * fo + col] = Float(t[s]) }
                }
            }
        }
        return u
    }

    /// Values with many significant bits and both signs, spread over several binades, and exact zeros.
    private func values(_ count: Int, _ generator: inout RandomGenerator) -> [Float] {
        (0..<count).map { i in i % 11 == 0 ? 0 : Float(generator.nextNormal()) * Float(1 << (i % 5)) }
    }

    /// `Winograd6.transformFilters` of g (F, C, 3, 3) into U (36, C, F), over NaNs (so an output it leaves
    /// unwritten shows).
    private func transformed(_ g: [Float], F: Int, C: Int, variant: Winograd6.Variant = .f4x4k3, flipped: Bool) -> [Float] {
        var u = [Float](repeating: .nan, count: 36 * F * C)
        g.withUnsafeBufferPointer { gp in
            u.withUnsafeMutableBufferPointer {
                Winograd6.transformFilters(gp.baseAddress!, outChannels: F, inChannels: C, variant: variant, flipped: flipped,
                                             into: $0.baseAddress!)
            }
        }
        return u
    }

    /// `Winograd6.transformInputGradientFilters` of g (F, C, r, r) into (36, F, C), over NaNs: the filters
    /// `backward` takes for dx on the variant's route.
    private func inputGradientFilters(_ g: [Float], F: Int, C: Int, variant: Winograd6.Variant) -> [Float] {
        var u = [Float](repeating: .nan, count: 36 * F * C)
        g.withUnsafeBufferPointer { gp in
            u.withUnsafeMutableBufferPointer {
                Winograd6.transformInputGradientFilters(gp.baseAddress!, outChannels: F, inChannels: C, variant: variant,
                                                        into: $0.baseAddress!)
            }
        }
        return u
    }

    func testFilterTransformIsBitwiseTheScalarFormula() {
        var generator = RandomGenerator(seed: 41)
        for (F, C) in filterShapes {
            let g = values(F * C * 9, &generator)
            for flipped in [false, true] {
                let expected = scalarTransform(g, F: F, C: C, flipped: flipped) { self.timesG($0[0], $0[1], $0[2]) }
                let u = transformed(g, F: F, C: C, flipped: flipped)
                let differing = zip(u, expected).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "F \(F), C \(C), flipped \(flipped): \(differing) of \(u.count) values differ")
                // F(2×2, 5×5), on 5×5 kernels
                let g5 = values(F * C * 25, &generator)
                let expected5 = scalarTransform(g5, F: F, C: C, r: 5, flipped: flipped, timesG: timesG5)
                let u5 = transformed(g5, F: F, C: C, variant: .f2x2k5, flipped: flipped)
                let differing5 = zip(u5, expected5).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing5, 0, "5×5: F \(F), C \(C), flipped \(flipped): \(differing5) of \(u5.count) values differ")
            }
        }
    }

    func testFilterGradientIsBitwiseTheScalarFormula() {
        var generator = RandomGenerator(seed: 42)
        for (F, C) in filterShapes {
            let du = values(36 * C * F, &generator)
            let start = values(F * C * 9, &generator)
            // dg += Gᵀ dU G, one pair (f, c) at a time: Gᵀ down each column s, then along each row k.
            var expected = start
            for f in 0..<F {
                for c in 0..<C {
                    let d = (0..<36).map { Double(du[($0 * C + c) * F + f]) }
                    let t = (0..<6).map { s in timesGT((0..<6).map { d[6 * $0 + s] }) }   // t[s][k]
                    for k in 0..<3 {
                        let r = timesGT((0..<6).map { t[$0][k] })
                        for l in 0..<3 { expected[(f * C + c) * 9 + 3 * k + l] += Float(r[l]) }
                    }
                }
            }
            var dg = start
            du.withUnsafeBufferPointer { dup in
                dg.withUnsafeMutableBufferPointer {
                    Winograd6.addFilterGradient(dup.baseAddress!, outChannels: F, inChannels: C, variant: .f4x4k3, into: $0.baseAddress!)
                }
            }
            let differing = zip(dg, expected).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing, 0, "F \(F), C \(C): \(differing) of \(dg.count) values differ")

            // F(2×2, 5×5): dg (F, C, 5, 5) += Gᵀ dU G
            let start5 = values(F * C * 25, &generator)
            var expected5 = start5
            for f in 0..<F {
                for c in 0..<C {
                    let d = (0..<36).map { Double(du[($0 * C + c) * F + f]) }
                    let t = (0..<6).map { s in timesGT5((0..<6).map { d[6 * $0 + s] }) }   // t[s][k]
                    for k in 0..<5 {
                        let r = timesGT5((0..<6).map { t[$0][k] })
                        for l in 0..<5 { expected5[(f * C + c) * 25 + 5 * k + l] += Float(r[l]) }
                    }
                }
            }
            var dg5 = start5
            du.withUnsafeBufferPointer { dup in
                dg5.withUnsafeMutableBufferPointer {
                    Winograd6.addFilterGradient(dup.baseAddress!, outChannels: F, inChannels: C, variant: .f2x2k5, into: $0.baseAddress!)
                }
            }
            let differing5 = zip(dg5, expected5).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing5, 0, "5×5: F \(F), C \(C): \(differing5) of \(dg5.count) values differ")
        }
    }

    /// Tilings whose tile counts T take each form of `Stack`: T = 16 (blocks of 12 and remainders of 4 paired;
    /// the record net's 14×14 layers), T = 4 (remainders only; its 7×7 layer), T = 49 (blocks of 12 and single
    /// remainders in threes; its 28×28 layer), T = 36 (blocks of 12 only, pytorch-example's 24×24 outputs),
    /// T = 28, T = 1 (a single tile) and T = 9 (one image per product). (C, F, H, W, P).
    private let groupShapes = [(16, 32, 14, 14, 1), (32, 16, 7, 7, 1), (16, 16, 28, 28, 1), (16, 16, 26, 26, 0),
                               (16, 32, 30, 18, 0), (16, 16, 4, 4, 1), (16, 16, 12, 12, 1)]

    private func bitsDiffer(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Int {
        (0..<count).filter { a[$0].bitPattern != b[$0].bitPattern }.count
    }

    /// Where the probe finds that stacked rows change bits: no shape forms a group, so every product is one
    /// image's.
    private func assertNothingStacks(file: StaticString = #filePath, line: UInt = #line) {
        var grouped: [String] = []
        for T in 1...64 {
            for C in [16, 32, 64, 128, 256] {
                for F in [16, 32, 64, 128, 256] where Winograd6.imagesPerGroup(tiles: T, inChannels: C, outChannels: F) != 1 {
                    grouped.append("T \(T) C \(C) F \(F)")
                }
            }
        }
        XCTAssertEqual(grouped, [], "groups formed although the probe is false", file: file, line: line)
    }

    func testImagesSharingAProductAreBitwiseEachImageAlone() {
        guard Winograd6.stacksImages else { return assertNothingStacks() }
        var generator = RandomGenerator(seed: 43)
        for variant in variants {
        for (C, F, H, W, P) in groupShapes {
            let rr = variant.kernelSize * variant.kernelSize, m = variant.tileSize
            let t = Winograd6.Tiling(height: H, width: W, padding: P, variant: variant)
            let (Ho, Wo) = (t.outHeight, t.outWidth)
            let groups = Set([2, 3, 4, 5, 7, Winograd6.imagesPerGroup(tiles: t.tiles, inChannels: C, outChannels: F)]).sorted()
            let k = groups.max()!
            let x = values(k * C * H * W, &generator), g = values(F * C * rr, &generator), b = values(F, &generator)
            let u = transformed(g, F: F, C: C, variant: variant, flipped: false)
            let workspace = Workspace<Float>()
            let scratch = workspace.reserve(Winograd6.scratchCount(inChannels: C, outChannels: F, t, images: k))
            let pools = Ho % m == 0 && Wo % m == 0
            let L = F * Ho * Wo, Lp = F * (Ho / 2) * (Wo / 2)
            let alone = UnsafeMutablePointer<Float>.allocate(capacity: k * L), grouped = UnsafeMutablePointer<Float>.allocate(capacity: k * L)
            let winnersAlone = UnsafeMutablePointer<Int32>.allocate(capacity: k * Lp), winners = UnsafeMutablePointer<Int32>.allocate(capacity: k * Lp)
            defer { alone.deallocate(); grouped.deallocate(); winnersAlone.deallocate(); winners.deallocate() }
            x.withUnsafeBufferPointer { xb in
                let x0 = xb.baseAddress!
                for n in 0..<k {
                    Winograd6.convolve(x0 + n * C * H * W, inChannels: C, outChannels: F, t, filters: u, bias: b,
                                         scratch: scratch, into: alone + n * L)
                }
                for images in groups {
                    grouped.update(repeating: .nan, count: k * L)
                    Winograd6.convolve(x0, images: images, inChannels: C, outChannels: F, t, filters: u, bias: b,
                                         scratch: scratch, into: grouped)
                    let differing = bitsDiffer(grouped, alone, images * L)
                    XCTAssertEqual(differing, 0, "\(variant) C \(C) F \(F) \(H)×\(W) P \(P), \(images) images: \(differing) outputs differ")
                }
                // pooled: tile-pooled with winners when Ho and Wo are multiples of 4, else across tiles without
                for n in 0..<k {
                    Winograd6.convolve(x0 + n * C * H * W, inChannels: C, outChannels: F, t, filters: u, bias: b,
                                         scratch: scratch, into: alone,
                                         pooled: (alone + n * Lp, pools ? winnersAlone + n * Lp : nil))
                }
                if !pools {
                    winners.update(repeating: 0, count: k * Lp); winnersAlone.update(repeating: 0, count: k * Lp)
                }
                for images in groups {
                    Winograd6.convolve(x0, images: images, inChannels: C, outChannels: F, t, filters: u, bias: b,
                                         scratch: scratch, into: grouped, pooled: (grouped, pools ? winners : nil))
                    let differing = bitsDiffer(grouped, alone, images * Lp)
                    let moved = (0..<(images * Lp)).filter { winners[$0] != winnersAlone[$0] }.count
                    XCTAssertEqual(differing + moved, 0, "\(variant) pooled, C \(C) F \(F) \(H)×\(W), \(images) images: \(differing) values, \(moved) winners differ")
                }
            }
        }
        }
    }

    /// Each image of `x` (k, rows, cols) → (k, cols, rows).
    private func transposedImages(_ x: [Float], images k: Int, rows: Int, cols: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: x.count)
        for n in 0..<k { for r in 0..<rows { for c in 0..<cols { y[(n * cols + c) * rows + r] = x[(n * rows + r) * cols + c] } } }
        return y
    }

    /// The convolution with its input and outputs channels last (the evaluation handoff between F(4×4) layers)
    /// holds the channels-first convolution's values bit for bit, in each combination of layouts, plain and
    /// pooled (tile-pooled where Ho and Wo are multiples of 4, else across tiles), for one image and a group of
    /// two: padding 0, 1 and 2; Ho and Wo multiples of 4 or not, whole tiles on a padding-0 input (read in
    /// place); 16, 32 and 48 channels. (C, F, H, W, P).
    func testChannelsLastLayoutsAreBitwiseChannelsFirst() {
        var generator = RandomGenerator(seed: 45)
        let shapes = [(16, 32, 15, 15, 1), (32, 48, 13, 11, 0), (48, 16, 6, 6, 1), (16, 16, 6, 6, 0), (16, 16, 10, 10, 0),
                      (32, 16, 16, 16, 1), (16, 48, 8, 8, 1), (48, 32, 4, 4, 2), (16, 32, 7, 7, 1)]
        let first = ActivationLayout.channelsFirst, last = ActivationLayout.channelsLast
        for variant in variants {
        for (C, F, H, W, P) in shapes {
            let rr = variant.kernelSize * variant.kernelSize
            let t = Winograd6.Tiling(height: H, width: W, padding: P, variant: variant)
            let (Ho, Wo) = (t.outHeight, t.outWidth)
            for k in [1, 2] {
                let x = values(k * C * H * W, &generator), g = values(F * C * rr, &generator), b = values(F, &generator)
                let xLast = transposedImages(x, images: k, rows: C, cols: H * W)
                let u = transformed(g, F: F, C: C, variant: variant, flipped: false)
                let workspace = Workspace<Float>()
                defer { withExtendedLifetime(workspace) {} }
                let scratch = workspace.reserve(Winograd6.scratchCount(inChannels: C, outChannels: F, t, images: k))
                for pooled in [false, true] {
                    let (h, w) = pooled ? (Ho / 2, Wo / 2) : (Ho, Wo)
                    let count = k * F * h * w
                    // the outputs in `layout`, channels first
                    func run(_ layout: StepLayout) -> [Float] {
                        var y = [Float](repeating: .nan, count: max(count, k * F * Ho * Wo))
                        (layout.input == .channelsLast ? xLast : x).withUnsafeBufferPointer { xb in
                            y.withUnsafeMutableBufferPointer { yb in
                                Winograd6.convolve(xb.baseAddress!, images: k, inChannels: C, outChannels: F, t, filters: u,
                                                     bias: b, scratch: scratch, into: yb.baseAddress!,
                                                     pooled: pooled ? (yb.baseAddress!, nil) : nil, layout: layout)
                            }
                        }
                        let out = Array(y.prefix(count))
                        return layout.output == .channelsLast ? transposedImages(out, images: k, rows: h * w, cols: F) : out
                    }
                    let expected = run(.channelsFirst)
                    XCTAssertFalse(expected.contains { $0.isNaN }, "\(variant) C \(C) F \(F) \(H)×\(W) P \(P): outputs not all written")
                    for layout in [StepLayout(input: last, output: last), StepLayout(input: last, output: first),
                                   StepLayout(input: first, output: last)] {
                        let y = run(layout)
                        let differing = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differing, 0, "\(variant) C \(C) F \(F) \(H)×\(W) P \(P), \(k) images, \(pooled ? "pooled" : "plain"), \(layout): \(differing) of \(count) differ")
                    }
                }
            }
        }
        }
    }

    /// F(4×4, 3×3) with padding 2, where the forward tiles reach further than dx's tiling (⌈(H + 2)/4⌉ > ⌈H/4⌉
    /// for H = 3, 4, 7, 8; not for 6): with the backward's scratch filled with NaN first, dg = Gᵀ dU G is finite
    /// and agrees with the reference sums dg[f, c, i, j] = Σ dy[f, h, w] · x[c, h + i − P, w + j − P] (in
    /// Double), and db with Σ dy; so every dY a forward tile reads lies in the zeroed dy buffer.
    func testFilterGradientWithPaddingTwoReadsOnlyTheZeroedOutputGradient() {
        var generator = RandomGenerator(seed: 46)
        let (C, F, P) = (16, 16, 2)
        for (H, W) in [(3, 3), (4, 4), (7, 8), (8, 7), (8, 8), (6, 6), (4, 9)] {
            let t = Winograd6.Tiling(height: H, width: W, padding: P, variant: .f4x4k3)
            let (Ho, Wo) = (t.outHeight, t.outWidth)
            let x = values(C * H * W, &generator), dy = values(F * Ho * Wo, &generator)
            let g = values(F * C * 9, &generator), uFlipped = transformed(g, F: F, C: C, flipped: true)
            let workspace = Workspace<Float>()
            let scratch = workspace.reserve(Winograd6.backwardScratchCount(inChannels: C, outChannels: F, t))
            for withInputGradient in [false, true] {
                scratch.start.update(repeating: .nan, count: scratch.count)
                var du = [Float](repeating: 0, count: 36 * C * F), db = [Float](repeating: 0, count: F)
                var dg = [Float](repeating: 0, count: F * C * 9), dx = [Float](repeating: .nan, count: C * H * W)
                x.withUnsafeBufferPointer { xb in
                    dy.withUnsafeBufferPointer { dyb in
                        uFlipped.withUnsafeBufferPointer { ub in
                            dx.withUnsafeMutableBufferPointer { dxb in
                                Winograd6.backward(xb.baseAddress!, { _ in .plain(dyb.baseAddress!) },
                                                   inChannels: C, outChannels: F, t, scratch: scratch,
                                                   biasGradient: &db, filterGradient: &du,
                                                   inputGradient: withInputGradient ? (dxb.baseAddress!, ub.baseAddress!) : nil)
                            }
                        }
                    }
                }
                Winograd6.addFilterGradient(du, outChannels: F, inChannels: C, variant: .f4x4k3, into: &dg)
                var expected = [Double](repeating: 0, count: F * C * 9)
                for f in 0..<F {
                    for c in 0..<C {
                        for i in 0..<3 {
                            for j in 0..<3 {
                                var sum = 0.0
                                for h in 0..<Ho where (0..<H).contains(h + i - P) {
                                    for w in 0..<Wo where (0..<W).contains(w + j - P) {
                                        sum += Double(dy[(f * Ho + h) * Wo + w]) * Double(x[(c * H + h + i - P) * W + w + j - P])
                                    }
                                }
                                expected[((f * C + c) * 3 + i) * 3 + j] = sum
                            }
                        }
                    }
                }
                let what = "\(H)×\(W) P \(P)\(withInputGradient ? ", with dx" : "")"
                let scale = max(1, expected.map { abs($0) }.max()!)
                let far = zip(dg, expected).filter { !(abs(Double($0) - $1) <= 1e-5 * scale + 1e-4 * abs($1)) }.count
                XCTAssertEqual(far, 0, "\(what): \(far) of \(dg.count) of dg are not finite or not within tolerance")
                for f in 0..<F {
                    let sum = dy[(f * Ho * Wo)..<((f + 1) * Ho * Wo)].reduce(0.0) { $0 + Double($1) }
                    XCTAssertEqual(Double(db[f]), sum, accuracy: 1e-4 * max(1, abs(sum)), "\(what): db[\(f)]")
                }
                if withInputGradient { XCTAssertTrue(dx.allSatisfy(\.isFinite), "\(what): dx not all finite") }
            }
        }
    }

    func testBackwardOfImagesSharingAProductIsBitwiseEachImageAlone() {
        guard Winograd6.stacksImages else { return assertNothingStacks() }
        var generator = RandomGenerator(seed: 44)
        for variant in variants {
        for (C, F, H, W, P) in groupShapes {
            let rr = variant.kernelSize * variant.kernelSize
            let t = Winograd6.Tiling(height: H, width: W, padding: P, variant: variant)
            let dt = Winograd6.inputGradientTiling(t)
            let groups = Set([2, 3, 4, 7, Winograd6.imagesPerGroup(tiles: dt.tiles, inChannels: F, outChannels: C)]).sorted()
            let k = groups.max()!
            let (chw, L) = (C * H * W, F * t.outHeight * t.outWidth)
            let x = values(k * chw, &generator), dy = values(k * L, &generator), g = values(F * C * rr, &generator)
            let uFlipped = inputGradientFilters(g, F: F, C: C, variant: variant)
            let workspace = Workspace<Float>()
            let scratch = workspace.reserve(Winograd6.backwardScratchCount(inChannels: C, outChannels: F, t, images: k))
            // dU (36, C, F) then db (F), and dx (k, C, H, W): each image alone, then in groups
            let sums = 36 * C * F + F
            func run(_ images: Int) -> [Float] {
                var out = [Float](repeating: 0, count: sums + k * chw)
                x.withUnsafeBufferPointer { xb in
                    dy.withUnsafeBufferPointer { db in
                        out.withUnsafeMutableBufferPointer { o in
                          uFlipped.withUnsafeBufferPointer { up in
                            let o0 = o.baseAddress!
                            var first = 0
                            while first < k {
                                let count = min(images, k - first)
                                Winograd6.backward(xb.baseAddress! + first * chw, images: count,
                                                     { j in .plain(db.baseAddress! + (first + j) * L) },
                                                     inChannels: C, outChannels: F, t, scratch: scratch,
                                                     biasGradient: o0 + 36 * C * F, filterGradient: o0,
                                                     inputGradient: (o0 + sums + first * chw, up.baseAddress!))
                                first += count
                            }
                          }
                        }
                    }
                }
                return out
            }
            let alone = run(1)
            for images in groups {
                let grouped = run(images)
                let differing = zip(grouped, alone).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(variant) C \(C) F \(F) \(H)×\(W) P \(P), \(images) images: \(differing) of dU, db, dx differ")
            }
        }
        }
    }

    /// F(2×2, 5×5) takes dx by the adjoint and F(4×4, 3×3) by the full convolution. The adjoint's filters are
    /// the forward's U[ξ]ᵀ bit for bit. Its dx (k, C, H, W) agrees with the reference sums
    /// dx[c, h, w] = Σ_{f, i, j} dy[f, h + P − i, w + P − j] · g[f, c, i, j] (in Double, atol 1e-5·max|dx| +
    /// rtol 1e-4) for P = 0…4, odd outputs and a single output, on a scratch filled with NaN first; every
    /// combination of channels-first and channels-last x, dx and dy gives the same bits; so do the images one
    /// call at a time and two per call. (C, F, H, W, P).
    func testAdjointInputGradientMatchesTheReferenceSums() {
        XCTAssertEqual(Winograd6.Variant.f2x2k5.inputGradientRoute, .adjoint)
        XCTAssertEqual(Winograd6.Variant.f4x4k3.inputGradientRoute, .fullConvolution)
        var generator = RandomGenerator(seed: 47)
        let first = ActivationLayout.channelsFirst, last = ActivationLayout.channelsLast
        let shapes = [(16, 32, 12, 12, 0), (32, 16, 9, 11, 1), (16, 16, 6, 8, 2), (16, 16, 5, 4, 3), (16, 32, 4, 5, 4),
                      (16, 16, 3, 3, 1), (16, 16, 1, 2, 4)]
        for (C, F, H, W, P) in shapes {
            let t = Winograd6.Tiling(height: H, width: W, padding: P, variant: .f2x2k5)
            let (Ho, Wo, k) = (t.outHeight, t.outWidth, 2)
            let chw = C * H * W, L = F * Ho * Wo
            let x = values(k * chw, &generator), dy = values(k * L, &generator), g = values(F * C * 25, &generator)
            let u = inputGradientFilters(g, F: F, C: C, variant: .f2x2k5)
            let forward = transformed(g, F: F, C: C, variant: .f2x2k5, flipped: false)
            let transposedDiffer = (0..<(36 * F * C)).filter { i in
                let (xi, f, c) = (i / (F * C), (i / C) % F, i % C)
                return u[i].bitPattern != forward[(xi * C + c) * F + f].bitPattern
            }.count
            XCTAssertEqual(transposedDiffer, 0, "C \(C) F \(F): the adjoint's filters are not U[ξ]ᵀ")
            let workspace = Workspace<Float>()
            let scratch = workspace.reserve(Winograd6.backwardScratchCount(inChannels: C, outChannels: F, t, images: k))
            // dx (k, C, H, W), channels first, from x, dy and dx in `layout`, `images` per call
            func run(_ layout: StepLayout, images: Int) -> [Float] {
                let xs = layout.input == .channelsLast ? transposedImages(x, images: k, rows: C, cols: H * W) : x
                let dys = layout.output == .channelsLast ? transposedImages(dy, images: k, rows: F, cols: Ho * Wo) : dy
                scratch.start.update(repeating: .nan, count: scratch.count)
                var dx = [Float](repeating: .nan, count: k * chw)
                let du = UnsafeMutablePointer<Float>.allocate(capacity: 36 * C * F + F)
                defer { du.deallocate() }
                du.update(repeating: 0, count: 36 * C * F + F)
                xs.withUnsafeBufferPointer { xb in
                    dys.withUnsafeBufferPointer { dyb in
                        u.withUnsafeBufferPointer { ub in
                            dx.withUnsafeMutableBufferPointer { dxb in
                                var at = 0
                                while at < k {
                                    let count = min(images, k - at), n0 = at
                                    Winograd6.backward(xb.baseAddress! + n0 * chw, images: count,
                                                       { j in .plain(dyb.baseAddress! + (n0 + j) * L) },
                                                       inChannels: C, outChannels: F, t, scratch: scratch,
                                                       biasGradient: du + 36 * C * F, filterGradient: du,
                                                       inputGradient: (dxb.baseAddress! + n0 * chw, ub.baseAddress!),
                                                       layout: layout)
                                    at += count
                                }
                            }
                        }
                    }
                }
                return layout.input == .channelsLast ? transposedImages(dx, images: k, rows: H * W, cols: C) : dx
            }
            let dx = run(.channelsFirst, images: 1)
            var expected = [Double](repeating: 0, count: k * chw)
            for n in 0..<k {
                for c in 0..<C {
                    for h in 0..<H {
                        for w in 0..<W {
                            var sum = 0.0
                            for f in 0..<F {
                                for i in 0..<5 where (0..<Ho).contains(h + P - i) {
                                    for j in 0..<5 where (0..<Wo).contains(w + P - j) {
                                        sum += Double(dy[((n * F + f) * Ho + h + P - i) * Wo + w + P - j])
                                            * Double(g[((f * C + c) * 5 + i) * 5 + j])
                                    }
                                }
                            }
                            expected[((n * C + c) * H + h) * W + w] = sum
                        }
                    }
                }
            }
            let what = "C \(C) F \(F) \(H)×\(W) P \(P)"
            let scale = max(1, expected.map { abs($0) }.max()!)
            let far = zip(dx, expected).filter { !(abs(Double($0) - $1) <= 1e-5 * scale + 1e-4 * abs($1)) }.count
            XCTAssertEqual(far, 0, "\(what): \(far) of \(dx.count) of dx are not finite or not within tolerance")
            for (layout, images) in [(StepLayout(input: last, output: last), 1), (StepLayout(input: last, output: first), 2),
                                     (StepLayout(input: first, output: last), 1), (StepLayout.channelsFirst, 2)] {
                let other = run(layout, images: images)
                let differing = zip(other, dx).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(what), \(layout), \(images) images per call: \(differing) of dx differ")
            }
        }
    }

    /// Groups only where they keep the bits and save products: T mod 12 = 0, 1 or 4, at most 256 output
    /// channels, and V and M within the group's bytes; none where the probe is false.
    func testGroupsOnlyWhereStackingKeepsTheBitsAndSavesProducts() {
        guard Winograd6.stacksImages else { return assertNothingStacks() }
        XCTAssertEqual(Winograd6.imagesPerGroup(tiles: 4, inChannels: 64, outChannels: 128), 2)    // 7×7
        XCTAssertEqual(Winograd6.imagesPerGroup(tiles: 1, inChannels: 16, outChannels: 16), 3)
        XCTAssertEqual(Winograd6.imagesPerGroup(tiles: 1, inChannels: 16, outChannels: 768), 1)   // wide: other blocking
        XCTAssertEqual(Winograd6.imagesPerGroup(tiles: 9, inChannels: 16, outChannels: 16), 1)    // remainder 9
        XCTAssertEqual(Winograd6.imagesPerGroup(tiles: 49, inChannels: 32, outChannels: 32), 1)   // too big to share
        XCTAssertEqual(Winograd6.imagesPerGroup(tiles: 16, inChannels: 16, outChannels: 16), 6)   // 4 products for 6
        XCTAssertEqual(Winograd6.imagesPerGroup(tiles: 16, inChannels: 32, outChannels: 64), 1)   // 2 for 2: no saving
    }

    /// Where the probe holds, it holds on every layout these tests use: the products of each tested tiling
    /// (forward and dx) in the tested group sizes, stacked, are bitwise each image's own.
    func testProbeHoldsOnTheTestedLayoutsWhenItHolds() {
        guard Winograd6.stacksImages else { return assertNothingStacks() }
        var generator = RandomGenerator(seed: 45)
        var layouts: [(T: Int, C: Int, F: Int)] = []
        for variant in variants {
            for (C, F, H, W, P) in groupShapes {
                let t = Winograd6.Tiling(height: H, width: W, padding: P, variant: variant)
                layouts += [(t.tiles, C, F), (Winograd6.inputGradientTiling(t).tiles, F, C)]
            }
        }
        layouts += Winograd6.probeCases.map { ($0.tiles, $0.inChannels, $0.outChannels) }
        for (T, C, F) in layouts {
            for k in [2, 3, 4, 5, 7] {
                let stack = Winograd6.Stack(tiles: T, images: k)
                let v = values(stack.rows * C, &generator), u = values(C * F, &generator)
                let differing = Winograd6.stackedOutputsDiffering(v, stacked: Winograd6.stackedRows(v, stack, channels: C),
                                                                    filters: u, stack, inChannels: C, outChannels: F)
                XCTAssertEqual(differing, 0, "T \(T) C \(C) F \(F), \(k) images: \(differing) of \(stack.rows * F) outputs differ")
            }
        }
    }

    /// The probe's comparison can fail: with one value of the stacked V changed, the outputs of its row differ
    /// (all F of them, and only those, where stacking keeps the bits).
    func testProbeComparisonSeesADifferentProduct() {
        var generator = RandomGenerator(seed: 46)
        for c in Winograd6.probeCases {
            let (C, F) = (c.inChannels, c.outChannels)
            let stack = Winograd6.Stack(tiles: c.tiles, images: c.images)
            let v = (0..<(stack.rows * C)).map { _ in generator.nextNormal() }
            let u = (0..<(C * F)).map { _ in generator.nextNormal() }
            var stacked = Winograd6.stackedRows(v, stack, channels: C)
            let row = stack.rows - 1, at = row * C + C / 2
            stacked[at] = 2 * stacked[at] + 1
            let differing = Winograd6.stackedOutputsDiffering(v, stacked: stacked, filters: u, stack, inChannels: C, outChannels: F)
            if Winograd6.stacksImages {
                XCTAssertEqual(differing, F, "T \(c.tiles) k \(c.images) C \(C) F \(F)")
            } else {
                XCTAssertGreaterThanOrEqual(differing, F, "T \(c.tiles) k \(c.images) C \(C) F \(F)")
            }
        }
    }
}
