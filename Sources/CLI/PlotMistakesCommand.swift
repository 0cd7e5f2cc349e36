//  PlotMistakesCommand.swift
//
//  cnn-plot mistakes CHECKPOINT: the misclassified digits the network was surest about.

import ArgumentParser
import CNN
import Pictures
import Training

/// `cnn-plot mistakes`: a grid of the most confidently wrong digits, labelled true → predicted (p).
public struct PlotMistakesCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mistakes",
        abstract: "A grid of the most confidently misclassified digits, each labelled true → predicted (probability).")

    @Argument(help: "A .safetensors checkpoint written by cnn-train, or a run directory (its best model).")
    public var checkpoint: String

    @OptionGroup var dataOptions: PlotDataOptions

    @Option(name: .long, help: "How many digits to show (1 to 400).")
    public var count = 36

    @Option(name: .long, help: "Digits per row (default: about square).")
    public var columns: Int?

    @Option(name: .long, help: "The PNG to write.")
    public var out = "mistakes.png"

    public init() {}

    public func validate() throws {
        if count < 1 || count > 400 { throw ValidationError("--count must be between 1 and 400 (got \(count))") }
        if let c = columns, c < 1 || c > 40 { throw ValidationError("--columns must be between 1 and 40 (got \(c))") }
        try PlotOutput.validate(out)
    }

    public func run() throws {
        do {
            Parallel.setThreads(dataOptions.threads)
            let (model, data) = try PlotOutput.load(checkpoint: checkpoint, data: dataOptions.data, split: dataOptions.split)
            let found = Mistakes.find(network: model.network, dataset: data, count: count)
            let source = "\(PlotOutput.displayName(checkpoint)), \(dataOptions.split.rawValue) set"
            let canvas = MistakesPicture.render(found.mistakes.map(MistakeTile.init), wrong: found.wrong, total: data.count, source: source,
                                                columns: columns, classNames: model.classNames)
            try PlotOutput.write(canvas, to: out)
        } catch {
            throw report(error, command: "cnn-plot")
        }
    }
}
