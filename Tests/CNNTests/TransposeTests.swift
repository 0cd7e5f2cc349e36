//  TransposeTests.swift
//
//  The blocked transposition against the definition, on sizes with and without 8×8 blocks and edges.

import CNN
import XCTest

final class TransposeTests: XCTestCase {
    func testMatchesDefinition() {
        for (rows, cols) in [(1, 1), (8, 8), (3, 5), (8, 13), (17, 8), (32, 72), (19, 23), (64, 9)] {
            let src = (0..<(rows * cols)).map { Float($0) * 0.5 - 7 }
            var dst = [Float](repeating: .nan, count: rows * cols)
            src.withUnsafeBufferPointer { s in
                dst.withUnsafeMutableBufferPointer { d in
                    Transpose.matrix(s.baseAddress!, rows: rows, cols: cols, into: d.baseAddress!)
                }
            }
            var expected = [Float](repeating: 0, count: rows * cols)
            for i in 0..<rows { for j in 0..<cols { expected[j * rows + i] = src[i * cols + j] } }
            XCTAssertEqual(dst, expected, "\(rows)×\(cols)")
        }
    }

    /// With row strides on both sides: a (rows, cols) window of a wider source into a wider destination,
    /// whose other floats are left alone.
    func testStridedMatchesDefinition() {
        for (rows, cols, ls, ld) in [(8, 8, 11, 9), (26, 32, 64, 676), (32, 26, 676, 32), (5, 3, 7, 6), (17, 9, 9, 20)] {
            let src = (0..<(rows * ls)).map { Float($0) * 0.25 + 1 }
            var dst = [Float](repeating: -1, count: cols * ld)
            src.withUnsafeBufferPointer { s in
                dst.withUnsafeMutableBufferPointer { d in
                    Transpose.matrix(s.baseAddress!, rows: rows, cols: cols, sourceStride: ls,
                                     into: d.baseAddress!, destinationStride: ld)
                }
            }
            var expected = [Float](repeating: -1, count: cols * ld)
            for i in 0..<rows { for j in 0..<cols { expected[j * ld + i] = src[i * ls + j] } }
            XCTAssertEqual(dst, expected, "\(rows)×\(cols), strides \(ls) and \(ld)")
        }
    }
}
