//  ONNXExportTests.swift
//
//  The ONNX model of a checkpoint, decoded again from its bytes: opset and IR version, the node list (Dropout
//  gone, normalisation first), every attribute, and every initializer's name, shape and data against the
//  checkpoint. The numbers themselves are checked by ONNX Runtime in scripts/onnx_check.py.

import ArgumentParser
import CLI
import CNN
import Foundation
import ONNX
import SafeTensors
import Training
import XCTest

final class ONNXExportTests: XCTestCase {
    /// 1×12×10 images (not square, to catch swapped height and width).
    let input = InputDescriptor(channels: 1, height: 12, width: 10, mean: 0.25, std: 0.5)

    /// Every layer type: conv (stride 2, padding 1) → bn → relu → maxpool → avgpool → dropout → flatten → fc → relu → fc.
    let specs: [LayerSpec] = [
        .conv2d(inChannels: 1, outChannels: 3, kernelSize: 3, stride: 2, padding: 1),   // 3×6×5
        .batchNorm2d(numFeatures: 3, eps: 1e-3, momentum: 0.1), .relu,
        .maxPool2d(kernelSize: 2, stride: 1),                                            // 3×5×4
        .avgPool2d(kernelSize: 2, stride: 2),                                            // 3×2×2
        .dropout(p: 0.5), .flatten,
        .linear(inFeatures: 12, outFeatures: 7), .relu, .linear(inFeatures: 7, outFeatures: 10),
    ]

    func checkpoint() -> Checkpoint {
        var generator = RandomGenerator(seed: 5)
        let network = Sequential(specs: specs, generator: &generator)
        return Checkpoint(network: network, input: input, metadata: ["arch": "test"])
    }

    func decoded(softmax: Bool = false) throws -> Onnx_ModelProto {
        let bytes = try ONNXExport.serialized(try ONNXExport.model(checkpoint(), softmax: softmax, producerVersion: "9.9"))
        return try Onnx_ModelProto(serializedBytes: bytes)
    }

    func testVersionsAndNodeList() throws {
        let model = try decoded()
        XCTAssertEqual(model.irVersion, 8)
        XCTAssertEqual(model.opsetImport.map(\.version), [17])
        XCTAssertEqual(model.opsetImport.map(\.domain), [""])
        XCTAssertEqual(model.producerName, "cnn")
        XCTAssertEqual(model.producerVersion, "9.9")
        XCTAssertEqual(model.graph.node.map(\.opType),
                       ["Sub", "Div", "Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "Flatten",
                        "Gemm", "Relu", "Gemm"])
        // Every node reads what the one before it wrote; the first reads the graph input.
        let nodes = model.graph.node
        XCTAssertEqual(nodes[0].input, ["input", "input_mean"])
        for k in 1..<nodes.count { XCTAssertEqual(nodes[k].input.first, nodes[k - 1].output.first, "node \(k)") }
        XCTAssertEqual(nodes.last?.output, ["logits"])
        XCTAssertEqual(Set(nodes.map(\.name)).count, nodes.count, "node names are unique")
        let meta = Dictionary(uniqueKeysWithValues: model.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(meta["input_mean"], "0.25")
        XCTAssertEqual(meta["input_std"], "0.5")
        XCTAssertEqual(meta["arch"], "test")
    }

    func testInputAndOutputShapes() throws {
        let graph = try decoded().graph
        XCTAssertEqual(graph.input.map(\.name), ["input"])
        let dims = graph.input[0].type.tensorType.shape.dim
        XCTAssertEqual(dims.map(\.dimParam), ["N", "", "", ""])
        XCTAssertEqual(dims.dropFirst().map(\.dimValue), [1, 12, 10])
        XCTAssertEqual(graph.input[0].type.tensorType.elemType, 1, "float32")
        XCTAssertTrue(graph.input[0].docString.contains("pixel/255"), graph.input[0].docString)
        XCTAssertEqual(graph.output.map(\.name), ["logits"])
        XCTAssertEqual(graph.output[0].type.tensorType.shape.dim.map(\.dimValue), [0, 10])
        XCTAssertEqual(graph.output[0].type.tensorType.shape.dim.first?.dimParam, "N")
    }

    func testAttributes() throws {
        func attributes(_ node: Onnx_NodeProto) -> [String: Onnx_AttributeProto] {
            Dictionary(uniqueKeysWithValues: node.attribute.map { ($0.name, $0) })
        }
        let nodes = try decoded().graph.node
        let conv = attributes(nodes[2])
        XCTAssertEqual(conv["kernel_shape"]?.ints, [3, 3])
        XCTAssertEqual(conv["strides"]?.ints, [2, 2])
        XCTAssertEqual(conv["pads"]?.ints, [1, 1, 1, 1])
        XCTAssertEqual(conv["kernel_shape"]?.type, .ints)
        XCTAssertEqual(attributes(nodes[3])["epsilon"]?.f, 1e-3)
        XCTAssertEqual(attributes(nodes[3])["epsilon"]?.type, .float)
        let maxPool = attributes(nodes[5]), avgPool = attributes(nodes[6])
        XCTAssertEqual(maxPool["kernel_shape"]?.ints, [2, 2])
        XCTAssertEqual(maxPool["strides"]?.ints, [1, 1])
        XCTAssertEqual(avgPool["strides"]?.ints, [2, 2])
        XCTAssertEqual(avgPool["pads"]?.ints, [0, 0, 0, 0])
        XCTAssertEqual(attributes(nodes[7])["axis"]?.i, 1)
        XCTAssertEqual(attributes(nodes[8])["transB"]?.i, 1)
        XCTAssertEqual(attributes(nodes[8])["transA"]?.i, 0)
    }

    func testInitializersAreTheCheckpointTensors() throws {
        let model = try decoded()
        let file = checkpoint().file()
        var byName: [String: Onnx_TensorProto] = [:]
        for t in model.graph.initializer { byName[t.name] = t }
        XCTAssertEqual(model.graph.initializer.count, byName.count, "initializer names are unique")
        let expected: [(String, [Int64])] = [
            ("0.weight", [3, 1, 3, 3]), ("0.bias", [3]),
            ("1.weight", [3]), ("1.bias", [3]), ("1.running_mean", [3]), ("1.running_var", [3]),
            ("7.weight", [7, 12]), ("7.bias", [7]), ("9.weight", [10, 7]), ("9.bias", [10]),
        ]
        XCTAssertEqual(Set(byName.keys), Set(expected.map(\.0) + ["input_mean", "input_std"]))
        for (name, dims) in expected {
            let t = try XCTUnwrap(byName[name], name)
            XCTAssertEqual(t.dims, dims, name)
            XCTAssertEqual(t.dataType, 1, "\(name) is float32")
            XCTAssertEqual([UInt8](t.rawData), file[name]?.data, "\(name) holds the checkpoint's bytes")
        }
        XCTAssertEqual(byName["input_mean"]?.floatData, [0.25])
        XCTAssertEqual(byName["input_std"]?.floatData, [0.5])
        XCTAssertEqual(byName["input_std"]?.dims, [])
        // The nodes name exactly these initializers.
        let nodes = model.graph.node
        XCTAssertEqual(Array(nodes[2].input.dropFirst()), ["0.weight", "0.bias"])
        XCTAssertEqual(Array(nodes[3].input.dropFirst()), ["1.weight", "1.bias", "1.running_mean", "1.running_var"])
        XCTAssertEqual(Array(nodes[10].input.dropFirst()), ["9.weight", "9.bias"])
    }

    func testSoftmaxOutput() throws {
        let graph = try decoded(softmax: true).graph
        XCTAssertEqual(graph.node.last?.opType, "Softmax")
        XCTAssertEqual(graph.node.last?.attribute.first { $0.name == "axis" }?.i, 1)
        XCTAssertEqual(graph.node.last?.output, ["probabilities"])
        XCTAssertEqual(graph.output.map(\.name), ["probabilities"])
        XCTAssertEqual(graph.node.dropLast().last?.output, ["9.linear"])
    }

    /// cnn-export in-process: writes a file that decodes to the same model; a missing checkpoint and an
    /// unwritable output give one-line errors and no file.
    func testExportCommand() throws {
        let dir = NSTemporaryDirectory() + "ONNXTests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try checkpoint().write(to: dir + "/model.safetensors")
        try ExportCommand.parse([dir + "/model.safetensors", "--onnx", dir + "/model.onnx", "--softmax"]).run()
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/model.onnx"))
        let model = try Onnx_ModelProto(serializedBytes: bytes)
        XCTAssertEqual(model.graph.output.map(\.name), ["probabilities"])
        XCTAssertEqual(model.graph.node.count, 12)

        XCTAssertThrowsError(try ExportCommand.parse([dir + "/none.safetensors", "--onnx", dir + "/x.onnx"]).run()) { error in
            XCTAssertEqual((error as? ExitCode)?.rawValue, 66)
        }
        XCTAssertThrowsError(try ExportCommand.parse([dir + "/model.safetensors", "--onnx", dir + "/no/such/dir/x.onnx"]).run()) { error in
            XCTAssertEqual((error as? ExitCode)?.rawValue, 73)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.onnx"))
        XCTAssertThrowsError(try ExportCommand.parse([dir + "/model.safetensors"]), "--onnx is required")
    }
}
