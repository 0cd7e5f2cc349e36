//  ArchitectureTests.swift
//
//  The spec parser and the presets: valid specs resolve to exactly the layers PyTorch would build
//  (the presets to those scripts/torch_bench.py builds), invalid ones throw the right
//  ArchitectureError with a message naming the offending token.

import CNN
import Training
import XCTest

final class ArchitectureTests: XCTestCase {
    let mnist = InputDescriptor()   // 1×28×28

    // MARK: Presets

    /// nn.Sequential(nn.Conv2d(1, 32, 7, padding=3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    ///               nn.Linear(32 * 14 * 14, 100), nn.ReLU(), nn.Linear(100, 10))
    func testCS231nPresetMatchesTheBenchmarkNet() throws {
        XCTAssertEqual(try Architecture.resolve("cs231n", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 32, kernelSize: 7, stride: 1, padding: 3), .relu,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten,
            .linear(inFeatures: 6272, outFeatures: 100), .relu, .linear(inFeatures: 100, outFeatures: 10),
        ])
    }

    /// nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
    ///               nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
    ///               nn.Linear(84, 10))
    func testLeNet5PresetMatchesTheBenchmarkNet() throws {
        XCTAssertEqual(try Architecture.resolve("lenet5", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 6, kernelSize: 5, stride: 1, padding: 2), .relu,
            .maxPool2d(kernelSize: 2, stride: 2),
            .conv2d(inChannels: 6, outChannels: 16, kernelSize: 5, stride: 1, padding: 0), .relu,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten,
            .linear(inFeatures: 400, outFeatures: 120), .relu, .linear(inFeatures: 120, outFeatures: 84), .relu,
            .linear(inFeatures: 84, outFeatures: 10),
        ])
    }

    /// nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    ///               nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10))
    func testPyTorchExamplePresetMatchesTheBenchmarkNet() throws {
        XCTAssertEqual(try Architecture.resolve("pytorch-example", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 32, kernelSize: 3, stride: 1, padding: 0), .relu,
            .conv2d(inChannels: 32, outChannels: 64, kernelSize: 3, stride: 1, padding: 0), .relu,
            .maxPool2d(kernelSize: 2, stride: 2), .flatten,
            .linear(inFeatures: 9216, outFeatures: 128), .relu, .linear(inFeatures: 128, outFeatures: 10),
        ])
    }

    /// Two conv-bn-relu-pool blocks (28 → 24 → 12 → 8 → 4) and a two-layer classifier over 32·4·4 features.
    func testDefaultPreset() throws {
        XCTAssertEqual(try Architecture.resolve("default", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 16, kernelSize: 5, stride: 1, padding: 0),
            .batchNorm2d(numFeatures: 16, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
            .conv2d(inChannels: 16, outChannels: 32, kernelSize: 5, stride: 1, padding: 0),
            .batchNorm2d(numFeatures: 32, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2),
            .flatten, .linear(inFeatures: 512, outFeatures: 100), .relu, .linear(inFeatures: 100, outFeatures: 10),
        ])
    }

    func testEveryPresetResolvesAndIsItsOwnSpec() throws {
        XCTAssertEqual(Architecture.presets.map(\.name), ["default", "cs231n", "lenet5", "pytorch-example", "speedrun", "record"])
        for preset in Architecture.presets {
            XCTAssertEqual(Architecture.specString(for: preset.name), preset.spec)
            XCTAssertEqual(try Architecture.resolve(preset.name, input: mnist),
                           try Architecture.resolve(preset.spec, input: mnist), preset.name)
        }
        XCTAssertEqual(Architecture.specString(for: "conv8k3-fc10"), "conv8k3-fc10")
    }

    func testPresetNamesAndSpecsIgnoreCaseAndSurroundingSpaces() throws {
        XCTAssertEqual(try Architecture.resolve(" CS231N ", input: mnist), try Architecture.resolve("cs231n", input: mnist))
        XCTAssertEqual(try Architecture.resolve("Conv8K3-ReLU-FC10", input: mnist),
                       try Architecture.resolve("conv8k3-relu-fc10", input: mnist))
    }

    // MARK: Valid specs

    func testFlattenIsInsertedBeforeTheFirstFullyConnectedLayerOnly() throws {
        XCTAssertEqual(try Architecture.resolve("conv8k3-relu-fc20-relu-fc10", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, stride: 1, padding: 0), .relu, .flatten,
            .linear(inFeatures: 8 * 26 * 26, outFeatures: 20), .relu, .linear(inFeatures: 20, outFeatures: 10),
        ])
        // An explicit flatten is not doubled.
        XCTAssertEqual(try Architecture.resolve("conv8k3-flatten-fc10", input: mnist).filter { $0 == .flatten }.count, 1)
        // A pure MLP: flatten the image straight away.
        XCTAssertEqual(try Architecture.resolve("fc10", input: mnist), [.flatten, .linear(inFeatures: 784, outFeatures: 10)])
    }

    func testStridesAndPadding() throws {
        // conv: 1 + (28 + 2·1 − 3) / 2 = 14;  pool3s2: 1 + (14 − 3) / 2 = 6.
        XCTAssertEqual(try Architecture.resolve("conv8k3s2p1-pool3s2-fc10", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, stride: 2, padding: 1),
            .maxPool2d(kernelSize: 3, stride: 2), .flatten, .linear(inFeatures: 8 * 6 * 6, outFeatures: 10),
        ])
        // Field order does not matter; maxpool is an alias of pool; avgpool defaults its stride to the kernel.
        XCTAssertEqual(try Architecture.resolve("conv4p2k5-maxpool2-avgpool2s1-fc10", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 4, kernelSize: 5, stride: 1, padding: 2),
            .maxPool2d(kernelSize: 2, stride: 2), .avgPool2d(kernelSize: 2, stride: 1), .flatten,
            .linear(inFeatures: 4 * 13 * 13, outFeatures: 10),
        ])
        XCTAssertEqual(try Architecture.resolve("avgpool4-fc10", input: mnist),
                       [.avgPool2d(kernelSize: 4, stride: 4), .flatten, .linear(inFeatures: 49, outFeatures: 10)])
    }

    func testBatchNormPicksUpTheChannelCount() throws {
        XCTAssertEqual(try Architecture.resolve("conv16k3-bn-relu-conv8k3-bn-relu-fc10", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 16, kernelSize: 3, stride: 1, padding: 0),
            .batchNorm2d(numFeatures: 16, eps: 1e-5, momentum: 0.1), .relu,
            .conv2d(inChannels: 16, outChannels: 8, kernelSize: 3, stride: 1, padding: 0),
            .batchNorm2d(numFeatures: 8, eps: 1e-5, momentum: 0.1), .relu,
            .flatten, .linear(inFeatures: 8 * 24 * 24, outFeatures: 10),
        ])
        // On the raw image: one channel.
        XCTAssertEqual(try Architecture.resolve("bn-fc10", input: mnist).first, .batchNorm2d(numFeatures: 1, eps: 1e-5, momentum: 0.1))
    }

    func testDropout() throws {
        XCTAssertEqual(try Architecture.resolve("conv4k3-drop0.25-fc32-dropout0.5-fc10", input: mnist), [
            .conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, stride: 1, padding: 0), .dropout(p: 0.25), .flatten,
            .linear(inFeatures: 4 * 26 * 26, outFeatures: 32), .dropout(p: 0.5), .linear(inFeatures: 32, outFeatures: 10),
        ])
        XCTAssertEqual(try Architecture.resolve("drop0-fc10", input: mnist).first, .dropout(p: 0))
    }

    func testOtherInputSizesChangeTheFirstFullyConnectedLayer() throws {
        let small = InputDescriptor(height: 14, width: 14), large = InputDescriptor(height: 32, width: 32)
        XCTAssertEqual(try Architecture.resolve("cs231n", input: small)[4], .linear(inFeatures: 32 * 7 * 7, outFeatures: 100))
        XCTAssertEqual(try Architecture.resolve("cs231n", input: large)[4], .linear(inFeatures: 32 * 16 * 16, outFeatures: 100))
        XCTAssertEqual(try Architecture.resolve("lenet5", input: large)[7], .linear(inFeatures: 16 * 6 * 6, outFeatures: 120))
        // Non-square images and several channels.
        let rgb = InputDescriptor(channels: 3, height: 20, width: 12)
        XCTAssertEqual(try Architecture.resolve("conv4k3p1-pool2-fc10", input: rgb), [
            .conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 1, padding: 1),
            .maxPool2d(kernelSize: 2, stride: 2), .flatten, .linear(inFeatures: 4 * 10 * 6, outFeatures: 10),
        ])
    }

    func testOtherClassCounts() throws {
        XCTAssertEqual(try Architecture.resolve("fc26", input: mnist, classes: 26).last, .linear(inFeatures: 784, outFeatures: 26))
        XCTAssertThrowsError(try Architecture.resolve("fc10", input: mnist, classes: 26))
    }

    // MARK: Invalid specs

    func testUnknownTokens() {
        for (spec, token) in [("resnet50", "resnet50"), ("conv32", "conv32"), ("fc", "fc"), ("conv8k3-sigmoid-fc10", "sigmoid"),
                              ("conv8k3x2-fc10", "conv8k3x2"), ("conv8k3k5-fc10", "conv8k3k5"), ("conv-8k3-fc10", "conv"),
                              ("pool2s-fc10", "pool2s"), ("dropx-fc10", "dropx"), ("conv8k3--fc10", ""),
                              ("fc10.5", "fc10.5"), ("conv8ks2-fc10", "conv8ks2")] {
            assertThrows(try Architecture.resolve(spec, input: mnist), as: ArchitectureError.self, mentions: ["'\(token)'"]) {
                XCTAssertEqual($0, .unknownToken(token), spec)
            }
        }
    }

    func testImpossibleValues() {
        for spec in ["conv0k3", "conv8k0", "conv8k3s0", "conv8k3p4", "pool0", "pool2s0", "avgpool0", "drop1.5", "drop1",
                     "drop-0.5", "dropnan", "fc0"] {
            let token = spec == "drop-0.5" ? "drop" : spec
            let full = spec + "-fc10"
            assertThrows(try Architecture.resolve(full, input: mnist), as: ArchitectureError.self, mentions: ["'\(token)'"]) {
                // "drop-0.5" splits into "drop" and "0.5": the first is not a layer.
                XCTAssertEqual($0, token == spec ? .badValue(token) : .unknownToken(token), full)
            }
        }
    }

    func testEmptySpec() {
        for spec in ["", "   "] {
            assertThrows(try Architecture.resolve(spec, input: mnist), as: ArchitectureError.self, mentions: ["empty", "cs231n"]) {
                XCTAssertEqual($0, .empty)
            }
        }
    }

    func testNetworkMustEndInTheClassCount() {
        assertThrows(try Architecture.resolve("conv8k3-relu-fc7", input: mnist), as: ArchitectureError.self,
                     mentions: ["7", "10 class scores", "fc10"]) {
            XCTAssertEqual($0, .wrongOutput(shape: [7], classes: 10))
        }
        // No fc at all: ends in a feature map.
        assertThrows(try Architecture.resolve("conv10k3-relu", input: mnist), as: ArchitectureError.self, mentions: ["10×26×26"]) {
            XCTAssertEqual($0, .wrongOutput(shape: [10, 26, 26], classes: 10))
        }
    }

    func testLayersThatDoNotFitTheirInput() {
        assertThrows(try Architecture.resolve("conv8k29-fc10", input: mnist), as: ArchitectureError.self,
                     mentions: ["'conv8k29'", "1×28×28"]) {
            XCTAssertEqual($0, .doesNotFit(token: "conv8k29", shape: [1, 28, 28]))
        }
        // 28 → 14 → 7 → 3 → 1, and a fifth pool2 has nothing to pool.
        assertThrows(try Architecture.resolve("pool2-pool2-pool2-pool2-pool2-fc10", input: mnist), as: ArchitectureError.self,
                     mentions: ["'pool2'", "1×1×1"]) {
            XCTAssertEqual($0, .doesNotFit(token: "pool2", shape: [1, 1, 1]))
        }
        // A convolution or batch norm after the features were flattened.
        assertThrows(try Architecture.resolve("fc100-conv8k3-fc10", input: mnist), as: ArchitectureError.self, mentions: ["'conv8k3'"]) {
            XCTAssertEqual($0, .doesNotFit(token: "conv8k3", shape: [100]))
        }
        assertThrows(try Architecture.resolve("fc10-bn", input: mnist), as: ArchitectureError.self, mentions: ["'bn'"]) {
            XCTAssertEqual($0, .doesNotFit(token: "bn", shape: [10]))
        }
        // The kernel fits 28×28 but not 14×14.
        XCTAssertNoThrow(try Architecture.resolve("conv4k20-fc10", input: mnist))
        XCTAssertThrowsError(try Architecture.resolve("conv4k20-fc10", input: InputDescriptor(height: 14, width: 14)))
    }
}
