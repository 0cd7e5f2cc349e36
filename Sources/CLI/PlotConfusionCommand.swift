//  PlotConfusionCommand.swift
//
//  cnn-plot confusion CHECKPOINT: the confusion matrix on a split as a labelled heat map.

import ArgumentParser
import CNN
import Pictures
import Training

/// `cnn-plot confusion`: evaluates the checkpoint and draws its confusion matrix.
public struct PlotConfusionCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "confusion",
        abstract: "The confusion matrix of a checkpoint as a heat map with the counts written in the cells.")

    @Argument(help: "A .safetensors checkpoint written by cnn-train, or a run directory (its best model).")
    public var checkpoint: String

    @OptionGroup var dataOptions: PlotDataOptions

    @Option(name: .long, help: "The PNG to write.")
    public var out = "confusion.png"

    public init() {}

    public func validate() throws {
        try PlotOutput.validate(out)
    }

    public func run() throws {
        do {
            Parallel.setThreads(dataOptions.threads)
            let (model, data) = try PlotOutput.load(checkpoint: checkpoint, data: dataOptions.data, split: dataOptions.split)
            let result = Evaluator.evaluate(model.network, on: data)
            let source = "\(PlotOutput.displayName(checkpoint)), \(dataOptions.split.rawValue) set"
            try PlotOutput.write(ConfusionMatrixPicture.render(confusion: result.confusion, source: source, classNames: model.classNames), to: out)
        } catch {
            throw report(error, command: "cnn-plot")
        }
    }
}
