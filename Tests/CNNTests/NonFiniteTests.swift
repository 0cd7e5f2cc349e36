//  NonFiniteTests.swift
//
//  NaN and infinity as PyTorch treats them: ReLU keeps a NaN (max(0, NaN) is NaN, not 0); max pooling picks a
//  NaN wherever it lies in its window; a convolution's NaN reaches exactly the outputs whose receptive field
//  holds it, on every algorithm, fused or not. The reference layers are the oracle for where NaNs appear.

import CNN
import TestSupport
import XCTest

final class NonFiniteTests: XCTestCase {
    private func nanMask(_ t: Tensor<Float>) -> [Bool] { t.scalars.map(\.isNaN) }

    func testReLUKeepsNaNOnBothBackends() {
        let x = Tensor<Float>(shape: [1, 6], scalars: [.nan, -1, 0, 2, -.infinity, .infinity])
        for backend in [Backend.reference, .fast] {
            let y = ReLU(backend: backend).forward(x, mode: .training)
            XCTAssertTrue(y.scalars[0].isNaN, "\(backend): relu(NaN) is NaN")
            XCTAssertEqual(Array(y.scalars.dropFirst()), [0, 0, 2, 0, .infinity], "\(backend)")
        }
    }

    /// A NaN anywhere in a window wins it, on both backends, and backward sends the window's gradient to it.
    func testMaxPoolingPicksANaNAnywhereInItsWindow() {
        for position in 0..<4 {
            var values: [Float] = [1, 3, 2, 0]
            values[position] = .nan
            let x = Tensor<Float>(shape: [1, 1, 2, 2], scalars: values)
            for backend in [Backend.reference, .fast] {
                let pool = MaxPool2D(kernelSize: 2, stride: 2, backend: backend)
                let y = pool.forward(x, mode: .training)
                XCTAssertTrue(y.scalars[0].isNaN, "\(backend), NaN at \(position): picked \(y.scalars[0])")
                let dx = pool.backward(Tensor(shape: [1, 1, 1, 1], scalars: [1]))
                XCTAssertEqual(dx.scalars.firstIndex(of: 1), position, "\(backend), NaN at \(position): gradient")
            }
        }
    }

    /// One NaN in the input of conv, conv → ReLU, conv → ReLU → 2×2 pooling: the fast network (fused, on the
    /// algorithm each shape is given) has NaNs exactly where the reference layers have them.
    func testOneNaNReachesOnlyItsReceptiveFieldOnEveryAlgorithm() {
        // (C, F, H, W, P): few channels (direct), 8 (F(2×2)), 16 (F(4×4)), and a stride-1 im2col layer.
        let shapes: [(c: Int, f: Int, h: Int, w: Int, p: Int)] = [(2, 4, 12, 12, 1), (8, 8, 18, 18, 1), (16, 16, 12, 12, 1),
                                                                (16, 32, 16, 16, 0)]
        for s in shapes {
            for epilogue in 0..<3 {
                let pooled = epilogue == 2
                var rng = RandomGenerator(seed: 7)
                var specs: [LayerSpec] = [.conv2d(inChannels: s.c, outChannels: s.f, kernelSize: 3, stride: 1, padding: s.p)]
                if epilogue > 0 { specs.append(.relu) }
                if pooled { specs.append(.maxPool2d(kernelSize: 2, stride: 2)) }
                var g1 = rng, g2 = rng
                let fast = Sequential(specs: specs, generator: &g1)
                let reference = Sequential(specs: specs, generator: &g2, backend: .reference)
                var x: Tensor<Float> = randomNormalTensor([2, s.c, s.h, s.w], scale: 1, using: &rng)
                x[1, s.c - 1, 5, 6] = .nan
                for mode in [Mode.training, .evaluation] {
                    let expected = reference.forward(x, mode: mode), actual = fast.forward(x, mode: mode)
                    XCTAssertEqual(actual.shape, expected.shape)
                    XCTAssertTrue(expected.scalars.contains { $0.isNaN })
                    XCTAssertEqual(nanMask(actual), nanMask(expected), "\(s), epilogue \(specs.dropFirst().map(\.typeName)), \(mode): NaN positions")
                    let finite = zip(actual.scalars, expected.scalars).filter { !$0.1.isNaN }
                    XCTAssertTrue(finite.allSatisfy { abs($0.0 - $0.1) <= 1e-4 + 1e-4 * abs($0.1) },
                                  "\(s), epilogue \(specs.dropFirst().map(\.typeName)), \(mode): finite values")
                    if mode == .training {
                        _ = fast.backward(Tensor(shape: actual.shape, repeating: 0))
                        _ = reference.backward(Tensor(shape: expected.shape, repeating: 0))
                    }
                }
            }
        }
    }
}
