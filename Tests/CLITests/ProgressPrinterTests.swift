//  ProgressPrinterTests.swift
//
//  On a terminal: a progress bar redrawn in place with step/total, loss, accuracy, images/s and ETA.
//  Otherwise, with --quiet, or with --log-format json: plain lines, one per epoch, and no escape codes.

import CLI
import CNN
import Foundation
import Training
import XCTest

final class ProgressPrinterTests: XCTestCase {
    private func metrics() throws -> EpochMetrics {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let line = #"{"epoch":1,"step":938,"lr":0.05,"train_loss":0.15,"train_accuracy":0.954,"test_loss":0.04,"test_accuracy":0.9875,"seconds":27.8,"elapsed_seconds":27.8,"images_per_second":2257.0}"#
        return try decoder.decode(EpochMetrics.self, from: Data(line.utf8))
    }

    private func run(_ printer: ProgressPrinter) throws {
        for step in [1, 400, 938] {
            printer.handle(.progress(epoch: 1, step: step, steps: 938, loss: 0.25, accuracy: 0.9312,
                                     imagesPerSecond: 5234, eta: 12))
            Thread.sleep(forTimeInterval: 0.11)   // redraws are limited to 10 per second
        }
        printer.handle(.epochFinished(try metrics()))
    }

    func testTerminalRedrawsABarInPlace() throws {
        var text = ""
        try run(ProgressPrinter(format: .text, quiet: false, isTerminal: true) { text += $0 })
        XCTAssertTrue(text.contains("\r\u{1B}[2K"), text)
        for part in ["400/938", "loss 0.2500", "acc 93.12%", "5234 img/s", "ETA 0:12", "[=", "epoch 1"] {
            XCTAssertTrue(text.contains(part), "\(part) missing from \(text.debugDescription)")
        }
        // The epoch line starts on a fresh line after the bar.
        XCTAssertTrue(text.contains("\nepoch 1  step 938"), text.debugDescription)
    }

    func testPlainOutputHasOneLinePerEpochAndNoEscapeCodes() throws {
        var text = ""
        try run(ProgressPrinter(format: .text, quiet: false, isTerminal: false) { text += $0 })
        XCTAssertFalse(text.contains("\u{1B}"), text.debugDescription)
        XCTAssertFalse(text.contains("\r"), text.debugDescription)
        XCTAssertEqual(text.split(separator: "\n").count, 1, text)
        XCTAssertTrue(text.hasPrefix("epoch 1  step 938"), text)
        XCTAssertTrue(text.contains("test loss 0.0400 acc 98.75%"), text)
    }

    func testJSONFormatPrintsTheMetricsRowEvenOnATerminal() throws {
        var text = ""
        try run(ProgressPrinter(format: .json, quiet: false, isTerminal: true) { text += $0 })
        XCTAssertFalse(text.contains("\u{1B}"), text.debugDescription)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 1)
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        XCTAssertEqual(object?["test_accuracy"] as? Double, 0.9875)
    }

    func testQuietPrintsOnePlainLinePerEpochEvenOnATerminal() throws {
        var text = ""
        let printer = ProgressPrinter(format: .text, quiet: true, isTerminal: true) { text += $0 }
        var generator = RandomGenerator(seed: 1)
        printer.handle(.started(network: Sequential(specs: [.flatten, .linear(inFeatures: 4, outFeatures: 10)], generator: &generator),
                                train: 100, test: 10, directory: "runs/x", resumedFrom: nil))
        try run(printer)
        XCTAssertFalse(text.contains("\u{1B}") || text.contains("\r"), text.debugDescription)
        XCTAssertEqual(text.split(separator: "\n").count, 1, text)
        XCTAssertTrue(text.hasPrefix("epoch 1  step 938"), text)
    }

    func testTargetReachedReportsTheTime() {
        var text = ""
        ProgressPrinter(format: .text, quiet: false, isTerminal: false) { text += $0 }
            .handle(.targetReached(accuracy: 0.9912, seconds: 61.4))
        XCTAssertEqual(text, "target reached: test accuracy 99.12% after 61.4s\n")
    }
}
