//  EvaluationPoolingTests.swift
//
//  An evaluation forward pools without keeping the winners (`ReLUPoolEpilogue.reluMaxPool`, and the Winograd
//  tile poolings without their argmax). Its values must be the training kernels' bit for bit: the kernel on
//  planes of special values, and every convolution algorithm with a fused pooling, an evaluation forward
//  against a training forward of the same layer.

import CNN
import TestSupport
import XCTest

final class EvaluationPoolingTests: XCTestCase {
    /// `reluMaxPool` against `maxPool(relu: true)`, every bit (NaN payloads included: both take the same
    /// bit-pattern or scalar path), on planes of ties, ±0, NaNs of both signs, ±∞, negatives and normal
    /// values. Widths 10, 28 and 35 take the four-, eight- and sixteen-window rows, 28 stored 34 apart the
    /// sixteen-window block that spills into the next row, 7, 5 and 3 the gathered rows of 3, 2 and 1 windows,
    /// and the 3×3 stride-2 window the general loop; three planes each.
    func testReLUMaxPoolIsBitwiseTheTrainingKernel() {
        var rng = RandomGenerator(seed: 301)
        let specials: [Float] = [0, -0.0, 1, 1, -1, 2, .nan, -Float.nan, .infinity, -.infinity, 0.5, -0.5]
        let cases: [(width: Int, stride: Int?, pool: (Int, Int))] = [
            (10, nil, (2, 2)), (28, nil, (2, 2)), (35, nil, (2, 2)), (28, 34, (2, 2)), (7, nil, (2, 2)),
            (5, nil, (2, 2)), (3, nil, (2, 2)), (9, nil, (3, 2)), (9, 11, (3, 2)),
        ]
        for (w, rowStride, pool) in cases {
            let h = w < 8 ? 16 : 6, planes = 3, stored = rowStride ?? w
            var y = (0..<(planes * h * stored)).map { i -> Float in
                i % 3 == 0 ? rng.nextNormal() : specials[Int(rng.next() % UInt64(specials.count))]
            }
            // Each plane's first window: −0 first, negatives after it, so that −0 is pooled.
            for p in 0..<planes {
                for k in 0..<pool.0 { for l in 0..<pool.0 { y[p * h * stored + k * stored + l] = k + l == 0 ? -0.0 : -1 } }
            }
            let (hp, wp) = ((h - pool.0) / pool.1 + 1, (w - pool.0) / pool.1 + 1)
            var values = [Float](repeating: 7, count: planes * hp * wp), training = values
            var argmax = [Int32](repeating: -1, count: planes * hp * wp)
            y.withUnsafeBufferPointer { yp in
                ReLUPoolEpilogue.reluMaxPool(yp.baseAddress!, planes: planes, height: h, width: w, rowStride: rowStride,
                                             pool: pool, into: &values)
                ReLUPoolEpilogue.maxPool(yp.baseAddress!, planes: planes, height: h, width: w, rowStride: rowStride,
                                         relu: true, pool: pool, into: &training, argmax: &argmax)
            }
            XCTAssertTrue(training.contains { $0.isNaN } && training[0] == 0 && training[0].sign == .minus,
                          "width \(w): NaNs and −0 reach the output")
            XCTAssertEqual(values.map(\.bitPattern), training.map(\.bitPattern), "width \(w), row stride \(stored)")
        }
    }

    /// `reluMaxPool2x2ChannelsLast` against `reluMaxPool` on each channel's plane, every bit, on the same kind
    /// of values (one window per plane holding −0 first and negatives after it): 7×7 on rows of 8 (the last row
    /// and column left out), 14×14 on rows of 16, 6×5 on rows of 5; 16 and 32 channels.
    func testChannelsLastPoolingIsBitwiseThePlanes() {
        var rng = RandomGenerator(seed: 303)
        let specials: [Float] = [0, -0.0, 1, 1, -1, 2, .nan, -Float.nan, .infinity, -.infinity, 0.5, -0.5]
        for (h, w, rowLength, channels) in [(7, 7, 8, 16), (14, 14, 16, 32), (6, 5, 5, 16)] {
            var y = (0..<(h * rowLength * channels)).map { i -> Float in
                i % 3 == 0 ? rng.nextNormal() : specials[Int(rng.next() % UInt64(specials.count))]
            }
            for c in 0..<channels where c % 4 == 1 {
                for (k, l) in [(0, 0), (0, 1), (1, 0), (1, 1)] { y[(k * rowLength + l) * channels + c] = k + l == 0 ? -0.0 : -1 }
            }
            // (C, H, W) planes of the same values
            var planes = [Float](repeating: 0, count: channels * h * w)
            for c in 0..<channels { for i in 0..<h { for j in 0..<w { planes[(c * h + i) * w + j] = y[(i * rowLength + j) * channels + c] } } }
            let (hp, wp) = (h / 2, w / 2)
            var last = [Float](repeating: 7, count: hp * wp * channels), first = last
            y.withUnsafeBufferPointer {
                ReLUPoolEpilogue.reluMaxPool2x2ChannelsLast($0.baseAddress!, height: h, width: w, rowLength: rowLength,
                                                            channels: channels, into: &last)
            }
            planes.withUnsafeBufferPointer {
                ReLUPoolEpilogue.reluMaxPool($0.baseAddress!, planes: channels, height: h, width: w, pool: (2, 2), into: &first)
            }
            var transposed = first
            for c in 0..<channels { for e in 0..<(hp * wp) { transposed[e * channels + c] = first[c * hp * wp + e] } }
            XCTAssertTrue(first.contains { $0.isNaN } && first[hp * wp] == 0 && first[hp * wp].sign == .minus, "\(h)×\(w)")
            XCTAssertEqual(last.map(\.bitPattern), transposed.map(\.bitPattern), "\(h)×\(w) on rows of \(rowLength), \(channels) channels")
        }
    }

    /// Each algorithm that fuses a ReLU and pooling, forced on a layer it computes: the evaluation forward's
    /// output (pooled without winners) is bitwise the training forward's, on one thread and two. The direct
    /// path with 2×2 and 3×3 pooling, im2col and padded-width im2col, F(2×2) pooled from its output tiles
    /// and after them, F(4×4) pooled from its output tiles (8×8 outputs), from its channels-last outputs
    /// across tiles in evaluation (14×14 and 7×7, where training pools the channels-first planes) and a 3×3
    /// pooling after the tiles; F(2×2, 5×5) likewise (8×8 outputs tile-pooled, 7×9 across tiles, 3×3 after).
    func testEvaluationForwardPoolsAsTraining() throws {
        let layers: [(c: Int, f: Int, k: Int, p: Int, h: Int, w: Int, pool: (Int, Int), algorithm: Conv2D.Algorithm)] = [
            (1, 6, 5, 2, 14, 16, (2, 2), .direct), (2, 5, 3, 1, 9, 8, (3, 2), .direct),
            (3, 4, 3, 1, 12, 10, (2, 2), .im2col), (3, 4, 5, 0, 12, 12, (2, 2), .paddedIm2col),
            (8, 8, 3, 1, 16, 16, (2, 2), .winograd2x2), (8, 8, 3, 0, 18, 18, (3, 2), .winograd2x2),
            (16, 32, 3, 0, 10, 10, (2, 2), .winograd4x4), (16, 32, 3, 1, 14, 14, (2, 2), .winograd4x4),
            (32, 16, 3, 1, 7, 7, (2, 2), .winograd4x4), (16, 16, 3, 1, 6, 9, (3, 2), .winograd4x4),
            (16, 32, 5, 0, 12, 12, (2, 2), .winograd5x5), (16, 16, 5, 1, 9, 11, (2, 2), .winograd5x5),
            (16, 16, 5, 2, 8, 8, (3, 2), .winograd5x5),
        ]
        for threads in [1, 2] {
            try withThreads(threads) {
                for layer in layers {
                    let conv = Conv2D(inChannels: layer.c, outChannels: layer.f, kernelSize: layer.k, padding: layer.p)
                    var rng = RandomGenerator(seed: 302)
                    for p in conv.parameters {
                        p.value = Tensor(shape: p.value.shape, scalars: (0..<p.value.count).map { _ in rng.nextNormal() * 0.3 })
                    }
                    // Every fourth filter mostly below zero, so that the ReLU has zeros to give.
                    conv.bias.value = Tensor(shape: [layer.f], scalars: (0..<layer.f).map { $0 % 4 == 3 ? -3 : conv.bias.value.scalars[$0] })
                    conv.algorithm = layer.algorithm
                    let shape = [3, layer.c, layer.h, layer.w]
                    let x = Tensor<Float>(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() })
                    let epilogue = Epilogue(relu: true, pool: (kernel: layer.pool.0, stride: layer.pool.1))
                    let training = conv.forward(x, mode: .training, epilogue: epilogue)
                    let trainingAlgorithm = try XCTUnwrap(conv.plan).algorithm
                    let evaluation = conv.forward(x, mode: .evaluation, epilogue: epilogue)
                    let what = "\(layer.algorithm.rawValue) (\(conv.plan!)), \(layer.c)→\(layer.f) k\(layer.k) p\(layer.p) on \(layer.h)×\(layer.w), pool \(layer.pool), \(threads) threads"
                    XCTAssertEqual(conv.plan?.algorithm, trainingAlgorithm, what)
                    XCTAssertTrue(training.scalars.contains { $0 > 0 } && training.scalars.contains { $0 == 0 }, what)
                    XCTAssertEqual(evaluation.shape, training.shape, what)
                    XCTAssertEqual(evaluation.scalars.map(\.bitPattern), training.scalars.map(\.bitPattern), what)
                }
            }
        }
    }
}
