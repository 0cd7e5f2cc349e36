//  PresetPlanTests.swift
//
//  The plans automatic choice gives the presets' convolutions in a training step at the benchmark's batch of
//  64 (Conv2D.choose): a change of threshold that moves one of them shows here first.

import CNN
import Training
import XCTest

final class PresetPlanTests: XCTestCase {
    func testPresetConvolutionsTakeTheirPlans() throws {
        let expected: [String: [String]] = [
            "default": ["im2col, columns kept", "winograd-5x5"],
            "cs231n": ["direct"],
            "lenet5": ["direct", "direct"],
            "pytorch-example": ["im2col, columns kept", "winograd-4x4, tile-pooled"],
            "speedrun": ["direct", "direct"],
            "record": ["im2col, columns kept", "winograd-4x4", "winograd-4x4", "winograd-4x4", "winograd-4x4"],
        ]
        XCTAssertEqual(Set(expected.keys), Set(Architecture.presets.map(\.name)))
        for preset in Architecture.presets {
            let specs = try Architecture.resolve(preset.name, input: InputDescriptor())
            var generator = RandomGenerator(seed: 1)
            let network = Sequential(specs: specs, generator: &generator)
            _ = network.forward(Tensor(shape: [64, 1, 28, 28], repeating: 0.25), mode: .training)
            let plans = network.layers.compactMap { ($0 as? Conv2D)?.plan?.description }
            XCTAssertEqual(plans, expected[preset.name], preset.name)
            print("  \(preset.name): " + network.steps.map { step in
                let plan = (network.layers[step.layers.lowerBound] as? Conv2D)?.plan.map { " [\($0)]" } ?? ""
                return step.description + plan
            }.joined(separator: " | "))
        }
    }

    /// Which evaluation steps hand their output channels last to the next (both F(4×4) on MNIST's shapes,
    /// `Sequential.evaluationLayouts`): the record net's four F(4×4) convolutions, from the second to the
    /// fifth; no other preset has two F(4×4) steps in a row.
    func testEvaluationHandsChannelsLastBetweenF4x4Steps() throws {
        for preset in Architecture.presets {
            let specs = try Architecture.resolve(preset.name, input: InputDescriptor())
            var generator = RandomGenerator(seed: 1)
            let network = Sequential(specs: specs, generator: &generator)
            let handing = network.evaluationLayouts(forInput: [1000, 1, 28, 28]).enumerated()
                .filter { $0.element.output == .channelsLast }.map { network.evaluationSteps[$0.offset].description }
            XCTAssertEqual(handing, preset.name == "record" ? [
                "conv2d(48→48, k3, s1, p1) + batchnorm2d(48), folded + relu + maxpool2d(k2, s2)",
                "conv2d(48→96, k3, s1, p1) + batchnorm2d(96), folded + relu",
                "conv2d(96→96, k3, s1, p1) + batchnorm2d(96), folded + relu + maxpool2d(k2, s2)",
            ] : [], preset.name)
        }
    }

    /// Which training steps take or give channels last (`Sequential.trainingLayouts`, batch 64 of MNIST):
    /// the record net's chain from its second convolution's output through each batch norm into the next
    /// F(4×4) convolution, the last batch norm giving channels first to the head; every step of the other
    /// presets channels first.
    func testTrainingHandsChannelsLastThroughBatchNorms() throws {
        for preset in Architecture.presets {
            let specs = try Architecture.resolve(preset.name, input: InputDescriptor())
            var generator = RandomGenerator(seed: 1)
            let network = Sequential(specs: specs, generator: &generator)
            let handing = network.trainingLayouts(forInput: [64, 1, 28, 28]).enumerated()
                .filter { $0.element != .channelsFirst }.map { "\(network.steps[$0.offset]): \($0.element)" }
            XCTAssertEqual(handing, preset.name == "record" ? [
                "conv2d(48→48, k3, s1, p1): channels first → channels last",
                "batchnorm2d(48) + relu + maxpool2d(k2, s2): channels last → channels last",
                "conv2d(48→96, k3, s1, p1): channels last → channels last",
                "batchnorm2d(96) + relu: channels last → channels last",
                "conv2d(96→96, k3, s1, p1): channels last → channels last",
                "batchnorm2d(96) + relu + maxpool2d(k2, s2): channels last → channels last",
                "conv2d(96→192, k3, s1, p1): channels last → channels last",
                "batchnorm2d(192) + relu + maxpool2d(k2, s2): channels last → channels first",
            ] : [], preset.name)
        }
    }
}
