//  PlotAugmentCommand.swift
//
//  cnn-plot augment: training images beside the warps cnn-train would train on, epoch by epoch.

import ArgumentParser
import CNN
import Pictures
import Training

/// `cnn-plot augment`: originals and their warps, drawn with the same code and seeds as training.
public struct PlotAugmentCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "A grid of training images, each beside its warps in the first epochs (the same warps cnn-train makes).")

    @Option(name: .long, help: "Directory with the IDX files.")
    public var data = "Data"

    @Option(name: .long, help: "Take the augmentation settings of this recipe (see cnn-train --list-recipes); the flags below override them.")
    public var recipe = "record"

    @OptionGroup public var augmentationOptions: AugmentationOptions

    @Option(name: .long, help: "The run's seed.")
    public var seed: UInt64 = 1

    @Option(name: .long, help: "How many training images (rows), from the first (1 to 40).")
    public var count = 8

    @Option(name: .long, help: "Warps per image, one per epoch (1 to 20).")
    public var epochs = 7

    @Option(name: .long, help: "The PNG to write.")
    public var out = "augment.png"

    public init() {}

    public func validate() throws {
        guard Recipe.named(recipe) != nil else {
            throw ValidationError("--recipe must be one of \(Recipe.all.map(\.name).joined(separator: ", ")) (got \(recipe))")
        }
        if count < 1 || count > 40 { throw ValidationError("--count must be between 1 and 40 (got \(count))") }
        if epochs < 1 || epochs > 20 { throw ValidationError("--epochs must be between 1 and 20 (got \(epochs))") }
        try PlotOutput.validate(out)
    }

    /// The recipe's augmentation with the flags on top.
    public var augmentation: Augmentation {
        augmentationOptions.augmentation(over: (Recipe.named(recipe) ?? Recipe.all[0]).configuration.augmentation)
    }

    public func run() throws {
        do {
            let train = try DataSource(directory: data, limit: count).load(.train)
            let (H, W) = (train.input.height, train.input.width), size = H * W
            let a = augmentation
            var rows: [[[Double]]] = []
            // Position i of an epoch whose order starts with image i: the warp image i gets where it is drawn there.
            var warped = [Float](repeating: 0, count: size)
            train.pixels.withUnsafeBufferPointer { px in
                for i in 0..<train.count {
                    var row = [Array(px[(i * size)..<((i + 1) * size)]).map { Double($0) / 255 }]
                    for epoch in 1...epochs {
                        var generator = RandomGenerator(seed: Augmentation.seed(seed, epoch: epoch, position: i))
                        warped.withUnsafeMutableBufferPointer { out in
                            a.warp(px.baseAddress! + i * size, height: H, width: W, into: out.baseAddress!, mean: 0, std: 1.0 / 255,
                                   generator: &generator)
                        }
                        row.append(warped.map { Double($0) / 255 })
                    }
                    rows.append(row)
                }
            }
            var settings = [String]()
            if a.shift > 0 { settings.append("shift up to \(a.shift) px") }
            if a.rotate > 0 { settings.append("rotate up to \(a.rotate) deg") }
            if a.scale > 0 { settings.append("scale \(1 - a.scale) to \(1 + a.scale)") }
            if a.elasticAlpha > 0 { settings.append("elastic alpha \(a.elasticAlpha), sigma \(a.elasticSigma)") }
            let canvas = AugmentationPicture.render(rows, height: H, width: W,
                                                    settings: (settings.isEmpty ? "no augmentation" : settings.joined(separator: ", ")) + ", seed \(seed)")
            try PlotOutput.write(canvas, to: out)
        } catch {
            throw report(error, command: "cnn-plot")
        }
    }
}
