//  ExportCommand.swift
//
//  cnn-export CHECKPOINT --onnx OUT.onnx: the checkpoint's network as an ONNX model (see Sources/ONNX).

import ArgumentParser
import BuildInfo
import Foundation
import ONNX
import SafeTensors
import Training

/// `cnn-export`: write a checkpoint in another format (ONNX).
public struct ExportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-export",
        abstract: "Write a checkpoint's network as an ONNX model (opset 17) for ONNX Runtime and other tools.",
        discussion: """
        The graph takes float32 NCHW images scaled to [0, 1] (pixel/255) and normalises them itself with the \
        checkpoint's mean and std; it outputs "logits", or "probabilities" with --softmax. Dropout is left \
        out (it is the identity at inference); batch norm uses its running statistics. The file is written \
        whole (temporary file, fsync, rename).
        """,
        version: BuildInfo.versionLine(tool: "cnn-export"))

    @Argument(help: "A .safetensors checkpoint written by cnn-train, or a run directory (its best model).")
    public var checkpoint: String

    @Option(name: .long, help: "Where to write the ONNX model (e.g. model.onnx).")
    public var onnx: String

    @Flag(name: .long, help: "End the graph in a Softmax: output \"probabilities\" instead of \"logits\".")
    public var softmax = false

    public init() {}

    /// Like ArgumentParser's, but every error is one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-export") }

    public func validate() throws {
        if onnx.isEmpty { throw ValidationError("--onnx: needs a file name; HINT: e.g. --onnx model.onnx") }
    }

    public func run() throws {
        do {
            let model = try Checkpoint.read(contentsOf: try ModelPath.resolve(checkpoint))
            let proto = try ONNXExport.model(model, softmax: softmax, producerVersion: BuildInfo.version)
            let bytes: [UInt8]
            do { bytes = try ONNXExport.serialized(proto) } catch {
                throw RunError.cannotWrite(onnx, "cannot serialise the model: \(error)")
            }
            try AtomicFile.write(bytes, to: onnx)
            let nodes = proto.graph.node.map(\.opType)
            print("\(onnx): ONNX opset \(ONNXExport.opsetVersion), \(nodes.count) nodes (\(nodes.joined(separator: " "))), "
                  + "\(proto.graph.initializer.count) initializers, \(bytes.count) bytes")
        } catch {
            throw report(error, command: "cnn-export")
        }
    }
}
