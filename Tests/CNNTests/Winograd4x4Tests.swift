//  Winograd4x4Tests.swift
//
//  The F(4×4, 3×3) kernels' own contracts, bit for bit: the filter transforms, which run on eight kernels at
//  once, against the same formulas on one Double at a time. (The whole convolution against the reference
//  loops is in Conv2DTests and FusionTests.)
//
//  Dimension legend: F filters, C channels; U (36, C, F), g (F, C, 3, 3).

import CNN
import TestSupport
import XCTest

final class Winograd4x4Tests: XCTestCase {
    /// (F, C): multiples of 16 as the layers use them, and counts that leave a partial block of eight lanes
    /// in either direction.
    private let filterShapes = [(16, 16), (32, 16), (16, 48), (5, 3), (9, 17), (1, 1)]

    /// G applied to three values, one Double at a time (Winograd4x4.swift's formula).
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

    /// U = G g Gᵀ one kernel at a time, rounded once to Float.
    private func scalarTransform(_ g: [Float], F: Int, C: Int, flipped: Bool) -> [Float] {
        let (ci, fo) = flipped ? (F, C) : (C, F)
        var u = [Float](repeating: .nan, count: 36 * ci * fo)
        for f in 0..<F {
            for c in 0..<C {
                let k = (f * C + c) * 9
                func at(_ r: Int, _ l: Int) -> Double { Double(g[k + (flipped ? 8 - (3 * r + l) : 3 * r + l)]) }
                let gg = (0..<3).map { l in timesG(at(0, l), at(1, l), at(2, l)) }   // gg[l][a] = (G g)[a][l]
                let (row, col) = flipped ? (f, c) : (c, f)
                for a in 0..<6 {
                    let t = timesG(gg[0][a], gg[1][a], gg[2][a])
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

    func testFilterTransformIsBitwiseTheScalarFormula() {
        var generator = RandomGenerator(seed: 41)
        for (F, C) in filterShapes {
            let g = values(F * C * 9, &generator)
            for flipped in [false, true] {
                let expected = scalarTransform(g, F: F, C: C, flipped: flipped)
                var u = [Float](repeating: .nan, count: 36 * F * C)
                g.withUnsafeBufferPointer { gp in
                    u.withUnsafeMutableBufferPointer {
                        Winograd4x4.transformFilters(gp.baseAddress!, outChannels: F, inChannels: C, flipped: flipped,
                                                     into: $0.baseAddress!)
                    }
                }
                let differing = zip(u, expected).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "F \(F), C \(C), flipped \(flipped): \(differing) of \(u.count) values differ")
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
                    Winograd4x4.addFilterGradient(dup.baseAddress!, outChannels: F, inChannels: C, into: $0.baseAddress!)
                }
            }
            let differing = zip(dg, expected).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing, 0, "F \(F), C \(C): \(differing) of \(dg.count) values differ")
        }
    }
}
