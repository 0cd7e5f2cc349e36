//  ExitStatusTests.swift
//
//  Every library error maps to its documented exit status (sysexits.h values where one fits).

import CLI
import Foundation
import IDX
import SafeTensors
import Training
import XCTest

final class ExitStatusTests: XCTestCase {
    struct Unexpected: Error {}

    func testDocumentedValues() {
        XCTAssertEqual(ExitStatus.usage.rawValue, 64)
        XCTAssertEqual(ExitStatus.dataError.rawValue, 65)
        XCTAssertEqual(ExitStatus.noInput.rawValue, 66)
        XCTAssertEqual(ExitStatus.diverged.rawValue, 70)
        XCTAssertEqual(ExitStatus.cannotCreate.rawValue, 73)
        XCTAssertEqual(ExitStatus.busy.rawValue, 75)
        XCTAssertEqual(ExitStatus.interrupted.rawValue, 130)
        XCTAssertEqual(ExitStatus.terminated.rawValue, 143)
    }

    func testIDXErrors() {
        XCTAssertEqual(ExitStatus.of(IDXError.fileNotFound(file: "x")).rawValue, 66)
        XCTAssertEqual(ExitStatus.of(IDXError.directoryNotFound(directory: "Data")).rawValue, 66)
        XCTAssertEqual(ExitStatus.of(IDXError.datasetFileNotFound(directory: "Data", name: "train-images-idx3-ubyte")).rawValue, 66)
        XCTAssertEqual(ExitStatus.of(IDXError.corruptGzip(file: "x.gz", message: "incorrect data check")).rawValue, 65)
        XCTAssertEqual(ExitStatus.of(IDXError.truncatedGzip(file: "x.gz", decompressedBytes: 10)).rawValue, 65)
        XCTAssertEqual(ExitStatus.of(IDXError.badMagic(file: "x", magic: 0x1234)).rawValue, 65)
        XCTAssertEqual(ExitStatus.of(IDXError.countMismatch(images: "a", labels: "b", imageCount: 1, labelCount: 2)).rawValue, 65)
    }

    func testSafeTensorsAndCheckpointErrors() {
        XCTAssertEqual(ExitStatus.of(SafeTensorsError.fileNotFound(file: "m.safetensors")).rawValue, 66)
        XCTAssertEqual(ExitStatus.of(SafeTensorsError.writeFailed(file: "m.safetensors", reason: "disk full")).rawValue, 73)
        XCTAssertEqual(ExitStatus.of(SafeTensorsError.tooShort(file: "m.safetensors", size: 3)).rawValue, 65)
        XCTAssertEqual(ExitStatus.of(CheckpointError.checksumMismatch("m", expected: "0", actual: "1")).rawValue, 65)
        XCTAssertEqual(ExitStatus.of(CheckpointError.missingTensor("m", "0.weight")).rawValue, 65)
    }

    func testRunAndArchitectureErrors() {
        XCTAssertEqual(ExitStatus.of(RunError.invalidConfiguration(["--lr must be > 0"])).rawValue, 64)
        XCTAssertEqual(ExitStatus.of(ArchitectureError.unknownToken("conv32")).rawValue, 64)
        XCTAssertEqual(ExitStatus.of(ArchitectureError.doesNotFit(token: "conv8k29", shape: [1, 28, 28])).rawValue, 64)
        XCTAssertEqual(ExitStatus.of(RunError.cannotWrite("runs/x", "read-only file system")).rawValue, 73)
        XCTAssertEqual(ExitStatus.of(RunError.diverged(epoch: 1, step: 5, lr: 1e6, checkpoint: nil)).rawValue, 70)
        XCTAssertEqual(ExitStatus.of(RunError.nothingToResume("runs/x")).rawValue, 66)
        XCTAssertEqual(ExitStatus.of(RunError.badRunDirectory("runs/x", "no config.json")).rawValue, 66)
        XCTAssertEqual(ExitStatus.of(RunError.inputMismatch(checkpoint: "m", expected: "1×28×28", data: "1×14×14")).rawValue, 65)
        XCTAssertEqual(ExitStatus.of(RunError.busy("runs/x", RunLock.Holder(pid: 7, host: "node1", since: "2026-12-02T00:00:00Z"))).rawValue, 75)
        XCTAssertEqual(ExitStatus.of(Unexpected()).rawValue, 65)
    }
}
