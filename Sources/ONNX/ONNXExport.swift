//  ONNXExport.swift
//
//  A checkpoint as an ONNX model (opset 17, IR version 8), built from its architecture metadata alone.
//
//  Graph, for an input of shape (N, C, H, W) with N symbolic:
//    input  "input": pixel/255 in [0, 1], float32 (N, C, H, W)
//    Sub(input, "input_mean"), Div(·, "input_std")      the checkpoint's normalisation (x − mean) / std
//    then one node per layer, in order:
//      conv2d       Conv(x, "<i>.weight" (F, C, K, K), "<i>.bias" (F)), kernel_shape [K, K], strides [S, S],
//                   pads [P, P, P, P]
//      batchnorm2d  BatchNormalization(x, "<i>.weight", "<i>.bias", "<i>.running_mean", "<i>.running_var"),
//                   epsilon eps: y = γ(x − mean)/√(var + ε) + β
//      relu         Relu
//      maxpool2d    MaxPool, kernel_shape [K, K], strides [S, S], no padding, floor rounding
//      avgpool2d    AveragePool, the same attributes
//      flatten      Flatten, axis 1: (N, C, H, W) → (N, C·H·W) in C, H, W order
//      linear       Gemm(x, "<i>.weight" (M, D), "<i>.bias" (M)), transB 1: y = x·Wᵀ + b
//      dropout      nothing (identity at inference)
//    output "logits" (N, classes) (the last layer's output, renamed), or with `softmax` "probabilities" = Softmax(logits, axis 1).
//  Initializers keep the checkpoint's tensor names and hold their float32 data little-endian in raw_data.

import CNN
import Foundation
import SafeTensors
import SwiftProtobuf
import Training

/// Turning a checkpoint into an ONNX model.
public enum ONNXExport {
    /// The operator set the graph is written for.
    public static let opsetVersion: Int64 = 17
    /// The IR version that goes with opset 17.
    public static let irVersion: Int64 = 8

    /// The ONNX model of `checkpoint`'s network in evaluation mode, normalisation included.
    ///
    /// - Parameter softmax: end in a Softmax ("probabilities") instead of the raw class scores ("logits").
    /// - Throws: ``ONNXExportError/missingTensor(_:)`` when a layer's tensor is not in the checkpoint.
    public static func model(_ checkpoint: Checkpoint, softmax: Bool = false, producerVersion: String = "") throws(ONNXExportError) -> Onnx_ModelProto {
        let specs = checkpoint.network.specs
        let input = checkpoint.input
        var tensors: [String: TensorEntry] = [:]
        for entry in checkpoint.file().tensors { tensors[entry.name] = entry }

        var graph = Onnx_GraphProto()
        graph.name = "cnn"
        var x = "input"
        graph.input = [valueInfo(x, dims: [nil, input.channels, input.height, input.width],
                                 doc: "pixel/255 in [0, 1], NCHW; the graph normalises it as (x − \(input.mean)) / \(input.std)")]
        graph.initializer.append(scalar("input_mean", Float(input.mean)))
        graph.initializer.append(scalar("input_std", Float(input.std)))
        graph.node.append(node("Sub", inputs: [x, "input_mean"], output: "centred", name: "normalise_sub"))
        graph.node.append(node("Div", inputs: ["centred", "input_std"], output: "normalised", name: "normalise_div"))
        x = "normalised"

        func weights(_ i: Int, _ names: [String]) throws(ONNXExportError) -> [String] {
            var out: [String] = []
            for name in names {
                let full = "\(i).\(name)"
                guard let entry = tensors[full], entry.dtype == .F32 else { throw .missingTensor(full) }
                graph.initializer.append(initializer(entry))
                out.append(full)
            }
            return out
        }

        for (i, spec) in specs.enumerated() {
            let y = "\(i).\(spec.typeName)"
            switch spec {
            case let .conv2d(_, _, k, s, p):
                graph.node.append(node("Conv", inputs: [x] + (try weights(i, ["weight", "bias"])), output: y, name: y, attributes: [
                    ints("kernel_shape", [k, k]), ints("strides", [s, s]), ints("pads", [p, p, p, p]),
                    ints("dilations", [1, 1]), int("group", 1),
                ]))
            case let .batchNorm2d(_, eps, _):
                graph.node.append(node("BatchNormalization",
                                       inputs: [x] + (try weights(i, ["weight", "bias", "running_mean", "running_var"])),
                                       output: y, name: y, attributes: [float("epsilon", Float(eps))]))
            case .relu:
                graph.node.append(node("Relu", inputs: [x], output: y, name: y))
            case let .maxPool2d(k, s):
                graph.node.append(node("MaxPool", inputs: [x], output: y, name: y, attributes: [
                    ints("kernel_shape", [k, k]), ints("strides", [s, s]), ints("pads", [0, 0, 0, 0]), int("ceil_mode", 0),
                ]))
            case let .avgPool2d(k, s):
                graph.node.append(node("AveragePool", inputs: [x], output: y, name: y, attributes: [
                    ints("kernel_shape", [k, k]), ints("strides", [s, s]), ints("pads", [0, 0, 0, 0]), int("ceil_mode", 0),
                ]))
            case .flatten:
                graph.node.append(node("Flatten", inputs: [x], output: y, name: y, attributes: [int("axis", 1)]))
            case .linear:
                graph.node.append(node("Gemm", inputs: [x] + (try weights(i, ["weight", "bias"])), output: y, name: y, attributes: [
                    float("alpha", 1), float("beta", 1), int("transA", 0), int("transB", 1),
                ]))
            case .dropout:
                continue
            }
            x = y
        }
        let classes = (specs.reduce([1, input.channels, input.height, input.width]) { $1.outputShape(for: $0) ?? $0 }).last ?? 0
        if softmax {
            graph.node.append(node("Softmax", inputs: [x], output: "probabilities", name: "softmax", attributes: [int("axis", 1)]))
            graph.output = [valueInfo("probabilities", dims: [nil, classes], doc: "class probabilities, softmax of the logits")]
        } else {
            graph.node[graph.node.count - 1].output = ["logits"]
            graph.output = [valueInfo("logits", dims: [nil, classes], doc: "class scores before softmax")]
        }

        var model = Onnx_ModelProto()
        model.irVersion = irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = opsetVersion
        model.opsetImport = [opset]
        model.producerName = "cnn"
        model.producerVersion = producerVersion
        model.docString = "exported by cnn-export from a cnn-train checkpoint"
        model.graph = graph
        var metadata: [(String, String)] = [
            ("input_mean", "\(input.mean)"), ("input_std", "\(input.std)"),
            ("architecture", checkpoint.metadata["architecture"] ?? ""),
        ]
        if let arch = checkpoint.metadata["arch"] { metadata.append(("arch", arch)) }
        model.metadataProps = metadata.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return model
    }

    /// The serialized model, the bytes of an `.onnx` file.
    public static func serialized(_ model: Onnx_ModelProto) throws -> [UInt8] {
        let data: Data = try model.serializedBytes()
        return [UInt8](data)
    }

    // MARK: Building blocks

    static func node(_ op: String, inputs: [String], output: String, name: String, attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = [output]
        n.attribute = attributes
        return n
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }

    /// A float32 tensor's value info; a nil dimension is the symbolic batch size "N".
    static func valueInfo(_ name: String, dims: [Int?], doc: String) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "N" }
            return dim
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        info.docString = doc
        return info
    }

    /// A float32 initializer over the checkpoint tensor's little-endian bytes.
    static func initializer(_ entry: TensorEntry) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = entry.name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = entry.shape.map(Int64.init)
        t.rawData = Data(entry.data)
        return t
    }

    /// A float32 scalar (shape []) initializer.
    static func scalar(_ name: String, _ value: Float) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.floatData = [value]
        return t
    }
}

/// What stops an export.
public enum ONNXExportError: Error, LocalizedError, Equatable {
    /// A layer's tensor is not in the checkpoint (or is not float32).
    case missingTensor(String)

    public var errorDescription: String? {
        switch self {
        case let .missingTensor(name): return "the checkpoint has no float32 tensor \"\(name)\" for its architecture"
        }
    }
}
