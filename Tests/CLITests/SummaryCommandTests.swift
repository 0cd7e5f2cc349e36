//  SummaryCommandTests.swift
//
//  cnn-train --summary prints the network without training (no run directory appears), and cnn-eval
//  --summary prints the same table for a checkpoint of that network without reading data.

@testable import CLI
import Foundation
import Training
import XCTest

final class SummaryCommandTests: XCTestCase {
    func testTrainAndEvalSummaries() throws {
        let dir = try TemporaryDirectory()
        let data = dir.file("data"), out = dir.file("run")
        try writeSyntheticDataset(to: data, trainCount: 64, testCount: 20)
        let arch = "conv4k3p1-bn-relu-pool2-fc10"
        let printed = try capturingStandardOutput {
            try TrainCommand.parse(["--data", data, "--arch", arch, "--out", out, "--summary"]).run()
        }
        print(printed)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing trained, nothing written")
        XCTAssertTrue(printed.hasPrefix("input: 1×12×12\n"), printed)
        // conv 4·9 + 4, batch norm 4 + 4, linear 4·6·6·10 + 10.
        XCTAssertTrue(printed.contains("total: 1,498 parameters"), printed)
        XCTAssertTrue(printed.contains("fused into layer"), printed)

        try TrainCommand.parse(["--data", data, "--arch", arch, "--out", out, "--epochs", "1", "--quiet"]).run()
        let fromCheckpoint = try capturingStandardOutput {
            try EvalCommand.parse([out, "--data", dir.file("nowhere"), "--summary", "--batch-size", "64"]).run()
        }
        XCTAssertEqual(fromCheckpoint, printed, "the same network, the same table")
    }
}
