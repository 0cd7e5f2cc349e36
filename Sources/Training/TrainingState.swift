//  TrainingState.swift
//
//  Everything besides the model that a resumed run needs, in a safetensors file beside the checkpoint
//  ("<name>.state.safetensors"), so the model file itself stays strict-loadable by PyTorch:
//    tensors   "velocity.<k>" for the k-th parameter (in Sequential.parameters order)
//    metadata  "epoch" (completed epochs), "step_in_epoch", "global_step", "dropout_generators"
//              (JSON array of 4-word generator states), running sums of the current epoch, elapsed time.

import CNN
import Foundation
import SafeTensors

/// Optimizer and loop state at a checkpoint.
public struct TrainingState: Equatable {
    /// Epochs fully completed.
    public var epoch: Int
    /// Steps already taken inside epoch `epoch` (0 at an epoch boundary).
    public var stepInEpoch: Int
    public var globalStep: Int
    public var velocities: [Tensor<Float>]
    public var dropoutGenerators: [[UInt64]]
    /// Running sums of the unfinished epoch: loss·images, correct, images, seconds.
    public var partialLoss: Double = 0
    public var partialCorrect: Int = 0
    public var partialSeen: Int = 0
    public var partialSeconds: Double = 0
    public var elapsedSeconds: Double = 0

    public func file() -> SafeTensorsFile {
        let tensors = velocities.enumerated().map { TensorEntry(name: "velocity.\($0)", floats: $1.scalars, shape: $1.shape) }
        let generators = "[" + dropoutGenerators.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        return SafeTensorsFile(tensors: tensors, metadata: [
            "epoch": String(epoch), "step_in_epoch": String(stepInEpoch), "global_step": String(globalStep),
            "dropout_generators": generators,
            "partial_loss": "\(partialLoss)", "partial_correct": String(partialCorrect), "partial_seen": String(partialSeen),
            "partial_seconds": "\(partialSeconds)", "elapsed_seconds": "\(elapsedSeconds)",
            "crc32": Checkpoint.checksum(tensors),
        ])
    }

    /// Reads a state file; `shapes` are the parameter shapes of the network it belongs to.
    public static func read(contentsOf path: String, shapes: [[Int]]) throws -> TrainingState {
        let file = try SafeTensorsFile.read(contentsOf: path)
        func meta(_ key: String) throws -> String {
            guard let v = file.metadata[key] else { throw CheckpointError.missingMetadata(path, key) }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try meta(key)), v >= 0 else { throw CheckpointError.badMetadata(path, "\"\(key)\" is not a count") }
            return v
        }
        func double(_ key: String) throws -> Double {
            guard let v = Double(try meta(key)), v.isFinite else { throw CheckpointError.badMetadata(path, "\"\(key)\" is not a number") }
            return v
        }
        let crc = try meta("crc32")
        guard Checkpoint.checksum(file.tensors) == crc else {
            throw CheckpointError.checksumMismatch(path, expected: crc, actual: Checkpoint.checksum(file.tensors))
        }
        var velocities: [Tensor<Float>] = []
        for (k, shape) in shapes.enumerated() {
            guard let e = file["velocity.\(k)"] else { throw CheckpointError.missingTensor(path, "velocity.\(k)") }
            guard e.shape == shape, e.dtype == .F32 else {
                throw CheckpointError.wrongTensor(path, "velocity.\(k)", "shape \(e.shape), the network needs \(shape)")
            }
            velocities.append(Tensor(shape: shape, scalars: try e.floats()))
        }
        guard file.tensors.count == shapes.count else { throw CheckpointError.badMetadata(path, "it has \(file.tensors.count) velocities for \(shapes.count) parameters") }
        guard let data = try meta("dropout_generators").data(using: .utf8),
              let arrays = (try? JSONSerialization.jsonObject(with: data)) as? [[String]] else {
            throw CheckpointError.badMetadata(path, "\"dropout_generators\" is not a JSON array of generator states")
        }
        let generators = try arrays.map { words -> [UInt64] in
            let w = words.compactMap(UInt64.init)
            guard w.count == 4, w.contains(where: { $0 != 0 }) else {
                throw CheckpointError.badMetadata(path, "a dropout generator state is not four non-zero words")
            }
            return w
        }
        return TrainingState(epoch: try int("epoch"), stepInEpoch: try int("step_in_epoch"), globalStep: try int("global_step"),
                             velocities: velocities, dropoutGenerators: generators,
                             partialLoss: try double("partial_loss"), partialCorrect: try int("partial_correct"),
                             partialSeen: try int("partial_seen"), partialSeconds: try double("partial_seconds"),
                             elapsedSeconds: try double("elapsed_seconds"))
    }
}
