//  PlotCommand.swift
//
//  cnn-plot: pictures of runs and checkpoints, as PNG files. One subcommand per picture:
//    cnn-plot curves RUN_DIR... [--out curves.png]
//    cnn-plot confusion CHECKPOINT [--data DIR] [--split test|train] [--out confusion.png]
//    cnn-plot mistakes CHECKPOINT [--data DIR] [--split test|train] [--count 36] [--out mistakes.png]
//    cnn-plot filters CHECKPOINT [--out filters.png]

import ArgumentParser
import BuildInfo
import Foundation
import Images
import Pictures
import Training

/// `cnn-plot`: the root command; the work is in its subcommands.
public struct PlotCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-plot",
        abstract: "Draw training curves, a confusion matrix, the most confident mistakes or the first layer's filters as PNG.",
        discussion: """
        Every picture is written whole (temporary file, fsync, rename), so a reader never sees half a PNG.
        Errors are one line on standard error; exit status 64 for a bad flag, 65 for a malformed file, 66 for a \
        missing one, 73 when the picture cannot be written.
        """,
        version: BuildInfo.versionLine(tool: "cnn-plot"),
        subcommands: [PlotCurvesCommand.self, PlotConfusionCommand.self, PlotMistakesCommand.self, PlotFiltersCommand.self, PlotAugmentCommand.self])

    public init() {}

    /// Like ArgumentParser's, but every error is one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-plot") }
}

/// Writing a picture, and the helpers the plot subcommands share.
enum PlotOutput {
    /// Checks that `path` names a .png file.
    static func validate(_ path: String) throws {
        guard path.lowercased().hasSuffix(".png"), !path.hasSuffix("/.png") else {
            throw ValidationError("--out must name a .png file (got '\(path)')")
        }
    }

    /// Writes `canvas` to `path` as PNG atomically, creating the directory if needed, and says so.
    static func write(_ canvas: Canvas, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try AtomicWrite.makeDirectory(directory)
        }
        do {
            try PNG.write(canvas.bitmap, to: path)
        } catch {
            // As RunError, so the exit status says "cannot create" (73).
            if case let .unwritable(file, reason) = error { throw RunError.cannotWrite(file, reason) }
            throw error
        }
        print("wrote \(path) (\(canvas.width)×\(canvas.height))")
    }

    /// A short name for a checkpoint in titles: its directory and file name ("run-a/model.safetensors").
    static func displayName(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return parts.suffix(2).joined(separator: "/")
    }

    /// The checkpoint and the split of `data` it is to be judged on, checked to fit each other.
    static func load(checkpoint argument: String, data: String, split: SplitName) throws -> (Checkpoint, Dataset) {
        let checkpoint = try ModelPath.resolve(argument)
        let model = try Checkpoint.read(contentsOf: checkpoint)
        return (model, try DataSource(directory: data).load(split == .test ? .test : .train, for: model, at: checkpoint))
    }
}

/// `--data`, `--split` and `--threads`, for the pictures that run a checkpoint over a dataset.
struct PlotDataOptions: ParsableArguments {
    @OptionGroup var dataOptions: DataOptions
    var data: String { dataOptions.data }

    @Option(name: .long, help: "Which split: test or train.")
    var split: SplitName = .test

    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int { threadOptions.count }
}
