//  DataSource.swift
//
//  The one way every command gets its images: a directory of IDX files in MNIST's layout, normalised with a
//  mean and std, the first --limit training images, --validation of them held out. Every failure comes out
//  of here as one typed error naming the file or the flag: `IDXError` for a missing, corrupt or inconsistent
//  file, `RunError` for flags that do not fit the data and for data that does not fit a checkpoint.

import IDX

/// Where a command's images come from, and how they are normalised and split.
public struct DataSource: Equatable, Sendable {
    /// The directory with the four IDX files (see `IDX.Split` for their names).
    public var directory: String
    /// Pixels are scaled to [0, 1], then normalised as (x − mean) / std.
    public var mean: Double
    public var std: Double
    /// Keep the first `limit` training images; nil for all.
    public var limit: Int?
    /// Training images held out for validation (stratified, drawn from `seed`); 0 for none.
    public var validation: Int
    public var seed: UInt64

    public init(directory: String, mean: Double = 0.1307, std: Double = 0.3081, limit: Int? = nil,
                validation: Int = 0, seed: UInt64 = 1) {
        self.directory = directory
        self.mean = mean
        self.std = std
        self.limit = limit
        self.validation = validation
        self.seed = seed
    }

    /// The same files, normalised as `model` was trained (its input's mean and std).
    public func normalised(as model: Checkpoint) -> DataSource {
        var source = self
        source.mean = model.input.mean
        source.std = model.input.std
        return source
    }

    /// One split's file, whole or its first `limit` images when that is the training split, without a
    /// validation hold-out (evaluation, pictures, benchmarks).
    public func load(_ split: Split) throws -> Dataset {
        try Dataset.load(directory: directory, split: split, mean: mean, std: std, limit: split == .train ? limit : nil)
    }

    /// The training images (the first `limit`, less the validation hold-out), the validation images (nil
    /// without a hold-out) and the test images, the two files read at the same time.
    ///
    /// - Throws: `IDXError` for a file; `RunError.invalidConfiguration` naming --limit or --validation when
    ///   the training file is too small for them; `RunError.badData` when the two files' images differ in size.
    public func loadForTraining() throws -> (train: Dataset, validation: Dataset?, test: Dataset) {
        let (full, test) = try Dataset.loadSplits(directory: directory, mean: mean, std: std, limit: limit)
        if let limit, limit > full.count {
            throw RunError.invalidConfiguration(["--limit: \(limit) exceeds the \(full.count) training images in \(directory); HINT: leave --limit out to train on all of them"])
        }
        var train = full, held: Dataset?
        if validation > 0 {
            guard validation < full.count else {
                throw RunError.invalidConfiguration(["--validation \(validation) leaves none of the \(full.count) training images to train on"])
            }
            let split = ValidationSplit(labels: full.labels, count: validation, seed: seed)
            (train, held) = (full.subset(split.training), full.subset(split.validation))
        }
        guard train.input.height == test.input.height, train.input.width == test.input.width else {
            throw RunError.badData(directory, "training images are \(train.input.height)×\(train.input.width) but test images are \(test.input.height)×\(test.input.width)")
        }
        return (train, held, test)
    }

    /// `split`, normalised as the checkpoint at `path` was trained, checked to have its input's size.
    ///
    /// - Throws: `IDXError` for a file; `RunError.inputMismatch` naming the checkpoint when the images do not fit.
    public func load(_ split: Split, for model: Checkpoint, at path: String) throws -> Dataset {
        let data = try normalised(as: model).load(split)
        let want = (model.input.channels, model.input.height, model.input.width)
        let have = (data.input.channels, data.input.height, data.input.width)
        guard want == have else {
            throw RunError.inputMismatch(checkpoint: path, expected: "\(want.0)×\(want.1)×\(want.2)",
                                         data: "\(have.0)×\(have.1)×\(have.2)")
        }
        return data
    }
}
