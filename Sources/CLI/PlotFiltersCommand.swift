//  PlotFiltersCommand.swift
//
//  cnn-plot filters CHECKPOINT: the first convolution layer's filters as gray tiles.

import ArgumentParser
import Pictures
import Training

/// `cnn-plot filters`: needs nothing but the checkpoint.
public struct PlotFiltersCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "filters",
        abstract: "The first convolution layer's filters as a grid of gray tiles, each scaled to its own range.")

    @Argument(help: "A .safetensors checkpoint written by cnn-train, or a run directory (its best model).")
    public var checkpoint: String

    @Option(name: .long, help: "The PNG to write.")
    public var out = "filters.png"

    public init() {}

    public func validate() throws {
        try PlotOutput.validate(out)
    }

    public func run() throws {
        do {
            let model = try Checkpoint.read(contentsOf: try ModelPath.resolve(checkpoint))
            guard let conv = Inference.firstConvolution(of: model.network) else {
                throw InferenceError.noConvolution(checkpoint: checkpoint)
            }
            try PlotOutput.write(FiltersPicture.render(weight: conv.weight.value.scalars, shape: conv.weight.value.shape, source: PlotOutput.displayName(checkpoint)), to: out)
        } catch {
            throw report(error, command: "cnn-plot")
        }
    }
}
