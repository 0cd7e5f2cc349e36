//  LayerStateTests.swift
//
//  Named state behind the Layer protocol, so checkpoints and the trainer walk layers without knowing their
//  types: parameters, buffers (F32 tensors), counters (I64) and generators, each by its PyTorch name.

import CNN
import XCTest

final class LayerStateTests: XCTestCase {
    func testEveryLayerNamesItsState() {
        var g = RandomGenerator(seed: 2)
        let net = Sequential(specs: [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 1, padding: 1),
                                     .batchNorm2d(numFeatures: 2, eps: 1e-5, momentum: 0.1), .relu, .dropout(p: 0.5),
                                     .flatten, .linear(inFeatures: 2 * 4 * 4, outFeatures: 3)], generator: &g)
        func names(_ f: (Layer) -> [String]) -> [String] {
            net.layers.enumerated().flatMap { i, layer in f(layer).map { "\(i).\($0)" } }
        }
        XCTAssertEqual(names { $0.parameters.map(\.name) }, ["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"])
        XCTAssertEqual(names { $0.buffers.map(\.name) }, ["1.running_mean", "1.running_var"])
        XCTAssertEqual(names { $0.counters.map(\.name) }, ["1.num_batches_tracked"])
        XCTAssertEqual(names { $0.generators.map(\.name) }, ["3.generator"])
        // A training step moves the counter and the generator; setting them through the references restores them.
        let counter = net.layers[1].counters[0], generator = net.layers[3].generators[0]
        let before = generator.get()
        _ = net.forward(Tensor(shape: [2, 1, 4, 4], repeating: 1), mode: .training)
        XCTAssertEqual(counter.get(), 1)
        XCTAssertNotEqual(generator.get(), before)
        counter.set(7)
        generator.set(before)
        XCTAssertEqual(counter.get(), 7)
        XCTAssertEqual(generator.get(), before)
        // Every layer carries its backend.
        net.setBackend(.reference)
        XCTAssertTrue(net.layers.allSatisfy { $0.backend == .reference })
    }
}
