//  SpeedTests.swift
//
//  A guard against performance blunders (a quadratic loop, a lost BLAS call, a per-step allocation storm), not a
//  benchmark: one forward + backward of Conv2D(1 → 32, 5×5, padding 2) on a 64-image 28×28 batch, the first layer
//  of the MNIST network, on the fast path: 3 GEMMs of 32 × 25 × 50 176, about 240 MFLOP in all.
//
//  Bounds: `swift test` builds DEBUG, where the Swift loops of im2col, col2im and the bias/permute passes run
//  unoptimised, so the bound there is a generous 1 s; in release (`swift test -c release --filter SpeedTests`)
//  it is 0.1 s, still ~10× the measured time. The measured times are printed.

import CNN
import Foundation
import RealModule
import TestSupport
import XCTest

final class SpeedTests: XCTestCase {
    #if DEBUG
    private let bound = 1.0
    #else
    private let bound = 0.1
    #endif

    /// The best of `repeats` forward + backward passes, in seconds, after one warm-up pass.
    private func measure(_ conv: Conv2D, _ x: Tensor<Float>, _ dy: Tensor<Float>, repeats: Int) -> Double {
        var best = Double.infinity
        for run in 0...repeats {
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                _ = conv.forward(x, mode: .training)
                _ = conv.backward(dy)
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            if run > 0 { best = min(best, seconds) }
        }
        return best
    }

    func testConv2DForwardBackwardMNISTBatch() {
        var rng = RandomGenerator(seed: 1101)
        let conv = Conv2D(inChannels: 1, outChannels: 32, kernelSize: 5, padding: 2)
        Initialization.pytorchDefault.initialize(weight: conv.weight, bias: conv.bias, fanIn: 25, generator: &rng)
        let x: Tensor<Float> = randomNormalTensor([64, 1, 28, 28], using: &rng)
        let dy: Tensor<Float> = randomNormalTensor([64, 32, 28, 28], scale: 0.01, using: &rng)
        for threads in [1, 2] {
            withThreads(threads) {
                let seconds = measure(conv, x, dy, repeats: 2)
                #if DEBUG
                let build = "debug"
                #else
                let build = "release"
                #endif
                print("SpeedTests: Conv2D(1→32, 5×5, p2) forward+backward, 64×1×28×28, \(threads) thread(s), \(build): "
                      + "\(String(format: "%.2f", seconds * 1000)) ms")
                XCTAssertLessThan(seconds, bound, "\(threads) thread(s): forward+backward took \(seconds) s")
            }
        }
    }
}
