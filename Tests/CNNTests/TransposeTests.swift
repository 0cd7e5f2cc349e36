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
}
