//  PlotCurvesCommand.swift
//
//  cnn-plot curves RUN_DIR...: loss and accuracy per epoch of one or more runs, overlaid, with the
//  training figures of every logged step (steps.jsonl, from --log-every) as a thin line under them.

import ArgumentParser
import Pictures
import Training

/// `cnn-plot curves`: reads each run's metrics.jsonl (and steps.jsonl when there is one) and draws the two panels.
public struct PlotCurvesCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "curves",
        abstract: "Loss and accuracy per epoch of one or more runs (train dashed, test solid; a thin line for steps logged with --log-every).")

    @Argument(help: "Run directories written by cnn-train (each holds metrics.jsonl).")
    public var runs: [String] = []

    @Option(name: .long, help: "The PNG to write.")
    public var out = "curves.png"

    @Option(name: .long, help: "Width of the picture in pixels.")
    public var width = 1200

    public init() {}

    public func validate() throws {
        if runs.isEmpty { throw ValidationError("<runs>: missing argument; HINT: give at least one run directory, e.g. \(invocation(of: "cnn-plot")) curves runs/a runs/b") }
        if width < 700 || width > 4000 { throw ValidationError("--width must be between 700 and 4000 (got \(width))") }
        try PlotOutput.validate(out)
    }

    public func run() throws {
        do {
            let curves = try RunHistory.load(runDirectories: runs).map(CurveRun.init)
            try PlotOutput.write(TrainingCurves.render(curves, width: width), to: out)
        } catch {
            throw report(error, command: "cnn-plot")
        }
    }
}
