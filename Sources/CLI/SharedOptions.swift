//  SharedOptions.swift
//
//  The options several tools share, declared once as `@OptionGroup`s, each with its one check:
//  `--data DIR`, `--threads N` (1 to 256) and `--batch-size N` (at least 1). A nil value means the tool's
//  own default (the cores; 64 images for training and cnn-bench, 1000 for cnn-eval).

import ArgumentParser
import Foundation

/// `--data DIR`: the folder with the four IDX files.
public struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Directory with train-/t10k- images and labels (IDX, optionally .gz).")
    public var data = "Data"

    public init() {}
}

/// `--threads N` for the kernels and BLAS, checked here for every tool.
public struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for the kernels and BLAS (default: the number of cores; for cnn-train --resume, the run's own).")
    public var threads: Int?

    public init() {}

    public func validate() throws {
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be between 1 and 256 (got \(t))") }
    }

    /// The flag, or the number of cores.
    public var count: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }
}

/// `--batch-size N`, images per step or per forward pass.
public struct BatchSizeOptions: ParsableArguments {
    @Option(name: .long, help: "Images per training step or evaluation pass (default: 64 for cnn-bench, 1000 for cnn-eval; for cnn-train, the recipe's, 64 with none).")
    public var batchSize: Int?

    public init() {}

    public func validate() throws {
        if let b = batchSize, b < 1 { throw ValidationError("--batch-size must be at least 1 (got \(b))") }
    }
}
