//  ProgressPrinter.swift
//
//  What cnn-train shows: on a terminal, a progress bar redrawn in place; otherwise (or with --quiet or
//  --log-format json) plain lines, one per epoch, with no escape codes.

import Foundation
import Training

public final class ProgressPrinter {
    let format: LogFormat
    let quiet: Bool
    let isTerminal: Bool
    /// Where the text goes: standard output, or a test's buffer.
    private let output: (String) -> Void
    private var lastDraw = Date.distantPast
    private var lineOpen = false

    public init(format: LogFormat, quiet: Bool, isTerminal: Bool = isatty(STDOUT_FILENO) == 1,
                output: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.format = format
        self.quiet = quiet
        self.isTerminal = isTerminal
        self.output = output
    }

    public func handle(_ event: TrainingEvent) {
        switch event {
        case let .started(network, train, test, directory, resumedFrom):
            guard !quiet, format == .text else { return }
            let params = network.parameters.reduce(0) { $0 + $1.value.count }
            if let r = resumedFrom { say("resuming from \(r)") }
            say("network: \(network.layers.count) layers, \(params) parameters; \(train) training and \(test) test images; writing to \(directory)")
        case let .progress(epoch, step, steps, loss, accuracy, ips, eta):
            guard !quiet, format == .text, isTerminal else { return }
            let now = Date()
            guard step == steps || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let width = 24, filled = width * step / max(steps, 1)
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
            let line = String(format: "epoch %d [%@] %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %@",
                              epoch, bar, step, steps, loss, accuracy * 100, ips, Self.clock(eta))
            write("\r\u{1B}[2K" + line)
            lineOpen = true
        case let .epochFinished(m):
            finishLine()
            if format == .json {
                // Cannot fail: every field is an integer or a Double, and JSONLine writes non-finite ones as strings.
                if let line = try? m.jsonLine() { say(line) }
            } else {
                var line = String(format: "epoch %d  step %d  lr %.4g  train loss %.4f acc %.2f%%", m.epoch, m.step, m.lr,
                                  m.trainLoss, m.trainAccuracy * 100)
                if let l = m.valLoss, let a = m.valAccuracy { line += String(format: "  val loss %.4f acc %.2f%%", l, a * 100) }
                line += String(format: "  test loss %.4f acc %.2f%%", m.testLoss, m.testAccuracy * 100)
                if let a = m.emaTestAccuracy {
                    line += String(format: "  ema%@ test acc %.2f%%", m.emaValAccuracy.map { String(format: " val acc %.2f%%", $0 * 100) } ?? "", a * 100)
                }
                say(line + String(format: "  %.1fs  %.0f img/s", m.seconds, m.imagesPerSecond))
            }
        case .checkpointWritten:
            break
        case let .notice(text):
            guard !quiet, format == .text else { return }
            say("note: " + text)
        case let .targetReached(accuracy, seconds):
            guard !quiet, format == .text else { return }
            say(String(format: "target reached: test accuracy %.2f%% after %.1fs", accuracy * 100, seconds))
        }
    }

    public func summary(_ s: TrainingSummary) {
        finishLine()
        guard format == .text else { return }
        if let last = s.metrics.last {
            // The best epoch is chosen on validation only; without it, there is no choice to report.
            let best = s.best.map { String(format: " (best validation %.2f%% at epoch %d, test %.2f%%)", ($0.valAccuracy ?? 0) * 100, $0.epoch, $0.testAccuracy * 100) } ?? ""
            say(String(format: "%@: test accuracy %.2f%%%@ in %.1fs", s.interrupted ? "stopped" : "done", last.testAccuracy * 100, best, s.seconds))
        }
        if !s.interrupted { say("model:       \(s.modelPath)") }
        say("checkpoints: \(s.directory)/checkpoints/")
        say("metrics:     \(s.directory)/metrics.jsonl, \(s.directory)/metrics.csv")
        let steps = StepLog(directory: s.directory).path
        if FileManager.default.fileExists(atPath: steps) { say("steps:       \(steps)") }
        say("config:      \(s.directory)/config.json")
    }

    /// The `--timings` breakdown: a table in text, one JSON object with --log-format json.
    public func timings(_ t: RunTimings) {
        say(format == .json ? t.json : t.report)
    }

    public func finishLine() {
        if lineOpen { write("\n"); lineOpen = false }
    }

    private func say(_ line: String) {
        finishLine()
        write(line + "\n")
    }

    private func write(_ s: String) {
        output(s)
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
