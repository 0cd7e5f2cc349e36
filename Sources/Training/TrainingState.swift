//  TrainingState.swift
//
//  Everything besides the model that a resumed run needs, in a safetensors file beside the checkpoint
//  ("<name>.state.safetensors"), so the model file itself stays strict-loadable by PyTorch:
//    tensors   the optimizer's state by name (Optimizer.state: SGD "velocity.<k>" for the k-th parameter in
//              Sequential.parameters order; Adam "step", "exp_avg.<k>", "exp_avg_sq.<k>"), and with --ema the
//              averaged weights and batch-norm statistics as "ema.<layer>.<name>"
//    metadata  "optimizer" (sgd, adam, adamw; absent means sgd), "epoch" (completed epochs), "step_in_epoch",
//              "global_step", "dropout_generators"
//              (JSON array of 4-word generator states), running sums of the current epoch, elapsed time, and
//              with --log-every the running sums since the last steps.jsonl line ("window_loss",
//              "window_correct", "window_seen"; absent in older files, read as 0).

import CNN
import Foundation
import SafeTensors

/// Optimizer and loop state at a checkpoint.
public struct TrainingState: Equatable {
    public static func == (a: TrainingState, b: TrainingState) -> Bool {
        a.epoch == b.epoch && a.stepInEpoch == b.stepInEpoch && a.globalStep == b.globalStep && a.optimizer == b.optimizer
            && a.optimizerState.map(\.name) == b.optimizerState.map(\.name)
            && a.optimizerState.map(\.tensor) == b.optimizerState.map(\.tensor) && a.dropoutGenerators == b.dropoutGenerators
            && a.averagedState.map(\.name) == b.averagedState.map(\.name)
            && a.averagedState.map(\.tensor) == b.averagedState.map(\.tensor)
            && a.partialLoss == b.partialLoss && a.partialCorrect == b.partialCorrect && a.partialSeen == b.partialSeen
            && a.partialSeconds == b.partialSeconds && a.elapsedSeconds == b.elapsedSeconds
            && a.windowLoss == b.windowLoss && a.windowCorrect == b.windowCorrect && a.windowSeen == b.windowSeen
    }

    /// Epochs fully completed.
    public var epoch: Int
    /// Steps already taken inside epoch `epoch` (0 at an epoch boundary).
    public var stepInEpoch: Int
    public var globalStep: Int
    public var optimizer: OptimizerKind = .sgd
    /// The optimizer's named state, in its own order.
    public var optimizerState: [NamedTensor]
    /// The moving average's values by checkpoint name (without the "ema." prefix); empty without --ema.
    public var averagedState: [NamedTensor] = []
    public var dropoutGenerators: [[UInt64]]
    /// Running sums of the unfinished epoch: loss·images, correct, images, seconds.
    public var partialLoss: Double = 0
    public var partialCorrect: Int = 0
    public var partialSeen: Int = 0
    public var partialSeconds: Double = 0
    public var elapsedSeconds: Double = 0
    /// Running sums of the steps since the last steps.jsonl line (`--log-every`): loss·images, correct, images.
    public var windowLoss: Double = 0
    public var windowCorrect: Int = 0
    public var windowSeen: Int = 0

    public func file() -> SafeTensorsFile {
        let tensors = optimizerState.map { TensorEntry(name: $0.name, floats: $0.tensor.scalars, shape: $0.tensor.shape) }
            + averagedState.map { TensorEntry(name: "ema." + $0.name, floats: $0.tensor.scalars, shape: $0.tensor.shape) }
        let generators = "[" + dropoutGenerators.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        return SafeTensorsFile(tensors: tensors, metadata: [
            "optimizer": optimizer.rawValue, "epoch": String(epoch), "step_in_epoch": String(stepInEpoch), "global_step": String(globalStep),
            "dropout_generators": generators,
            "partial_loss": "\(partialLoss)", "partial_correct": String(partialCorrect), "partial_seen": String(partialSeen),
            "partial_seconds": "\(partialSeconds)", "elapsed_seconds": "\(elapsedSeconds)",
            "window_loss": "\(windowLoss)", "window_correct": String(windowCorrect), "window_seen": String(windowSeen),
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
        // Keys older state files do not have: 0 when absent, checked when present.
        func optional<T>(_ key: String, _ read: (String) throws -> T, absent: T) throws -> T {
            file.metadata[key] == nil ? absent : try read(key)
        }
        let crc = try meta("crc32")
        guard Checkpoint.checksum(file.tensors) == crc else {
            throw CheckpointError.checksumMismatch(path, expected: crc, actual: Checkpoint.checksum(file.tensors))
        }
        let kindName = file.metadata["optimizer"] ?? OptimizerKind.sgd.rawValue
        guard let kind = OptimizerKind(rawValue: kindName) else {
            throw CheckpointError.badMetadata(path, "\"optimizer\" is \(kindName), not one of \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var optimizerState: [NamedTensor] = []
        let layout = kind.stateLayout(parameterShapes: shapes)
        for (name, shape) in layout {
            guard let e = file[name] else { throw CheckpointError.missingTensor(path, name) }
            guard e.shape == shape, e.dtype == .F32 else {
                throw CheckpointError.wrongTensor(path, name, "shape \(e.shape), the \(kind.rawValue) state of this network needs \(shape)")
            }
            optimizerState.append((name, Tensor(shape: shape, scalars: try e.floats())))
        }
        var averagedState: [NamedTensor] = []
        for e in file.tensors where e.name.hasPrefix("ema.") {
            guard e.dtype == .F32 else { throw CheckpointError.wrongTensor(path, e.name, "dtype \(e.dtype.rawValue), expected F32") }
            averagedState.append((String(e.name.dropFirst(4)), Tensor(shape: e.shape, scalars: try e.floats())))
        }
        guard file.tensors.count == layout.count + averagedState.count else {
            throw CheckpointError.badMetadata(path, "it has \(file.tensors.count) tensors; the \(kind.rawValue) state of this network has \(layout.count)")
        }
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
                             optimizer: kind, optimizerState: optimizerState, averagedState: averagedState,
                             dropoutGenerators: generators,
                             partialLoss: try double("partial_loss"), partialCorrect: try int("partial_correct"),
                             partialSeen: try int("partial_seen"), partialSeconds: try double("partial_seconds"),
                             elapsedSeconds: try double("elapsed_seconds"),
                             windowLoss: try optional("window_loss", double, absent: 0),
                             windowCorrect: try optional("window_correct", int, absent: 0),
                             windowSeen: try optional("window_seen", int, absent: 0))
    }
}
