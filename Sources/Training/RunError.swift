//  RunError.swift
//
//  Errors of a training run that are not about a data file or a checkpoint's contents.

import Foundation

/// What stops a run, as one line for the user.
public enum RunError: Error, LocalizedError, Equatable {
    case invalidConfiguration([String])
    case cannotWrite(String, String)
    case diverged(epoch: Int, step: Int, lr: Double, checkpoint: String?)
    case nothingToResume(String)
    case badRunDirectory(String, String)
    case inputMismatch(checkpoint: String, expected: String, data: String)
    /// A fresh run was pointed at a directory that already holds a run (its config.json).
    case runExists(String)
    /// The data files load one by one but do not fit together (e.g. training and test images of different sizes).
    case badData(String, String)
    /// Another process trains this run directory now (it holds DIR/train.lock, see `RunLock`).
    case busy(String, RunLock.Holder)

    public var errorDescription: String? {
        switch self {
        case let .invalidConfiguration(problems):
            return problems.joined(separator: "; ")
        case let .cannotWrite(path, why):
            return "\(path): cannot write: \(why)"
        case let .diverged(epoch, step, lr, checkpoint):
            let kept = checkpoint.map { "; the last good checkpoint is \($0)" } ?? ""
            return "training: diverged at epoch \(epoch), step \(step), learning rate \(lr) (the loss or a weight is NaN or infinite); HINT: try a lower --lr\(kept)"
        case let .nothingToResume(dir):
            return "\(dir): none of the checkpoints in \(dir)/checkpoints loads completely (model and .state.safetensors); HINT: check them with cnn-eval --verify"
        case let .badRunDirectory(dir, why):
            return "\(dir): \(why)"
        case let .inputMismatch(checkpoint, expected, data):
            return "\(checkpoint): the network takes \(expected) images, but the data has \(data) images"
        case let .badData(path, why):
            return "\(path): \(why)"
        case let .busy(dir, h):
            // The words "DIR is being trained by PID on HOST since TIME" are what sweep.sh and the cluster tests look for.
            return "\(dir) is being trained by \(h.pid) on \(h.host) since \(h.since); HINT: try again when that run has ended"
        case let .runExists(dir):
            return "\(dir): already holds a run (config.json); HINT: continue it with --resume \(dir), or choose another --out"
        }
    }
}
