//  TimingsFlagTests.swift
//
//  `cnn-train --timings`: after the summary, one line per phase and the total (text), or one JSON object
//  whose phases add up to the total (--log-format json); nothing of it without the flag.

import CLI
import Foundation
import XCTest

final class TimingsFlagTests: XCTestCase {
    func testTimingsArePrintedAfterTheSummary() throws {
        let dir = try TemporaryDirectory()
        try writeSyntheticDataset(to: dir.file("data"), trainCount: 64, testCount: 20)
        let common = ["--data", dir.file("data"), "--arch", "fc10", "--epochs", "1", "--batch-size", "16", "--threads", "1"]

        let text = try capturingStandardOutput {
            try TrainCommand.parse(common + ["--out", dir.file("text"), "--quiet", "--timings"]).run()
        }
        let lines = text.split(separator: "\n").map(String.init)
        let start = try XCTUnwrap(lines.firstIndex(of: "timings (wall, exec to this line):"), text)
        XCTAssertGreaterThan(start, try XCTUnwrap(lines.firstIndex { $0.hasPrefix("done:") }), "after the summary")
        let phases = lines[(start + 1)...].map { $0.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ")[0] }
        XCTAssertEqual(phases, ["start-up", "data load", "training", "evaluation", "writing", "total"])

        let json = try capturingStandardOutput {
            try TrainCommand.parse(common + ["--out", dir.file("json"), "--log-format", "json", "--timings"]).run()
        }
        let last = try XCTUnwrap(json.split(separator: "\n").last)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let timings = try XCTUnwrap(object["timings"] as? [String: Double], String(last))
        XCTAssertEqual(Set(timings.keys), ["start_up", "data_load", "training", "evaluation", "writing", "total"])
        let sum = timings.filter { $0.key != "total" }.values.reduce(0, +)
        XCTAssertEqual(sum, try XCTUnwrap(timings["total"]), accuracy: 0.01, "the phases add up to the total")
        XCTAssertGreaterThan(try XCTUnwrap(timings["training"]), 0)

        let none = try capturingStandardOutput {
            try TrainCommand.parse(common + ["--out", dir.file("none"), "--quiet"]).run()
        }
        XCTAssertFalse(none.contains("timings"))
    }
}
