//  ErrorFormTests.swift
//
//  Every library error reaches the user as one line in the form WHAT: PROBLEM[; HINT: ...] (what `report`
//  prints after "TOOL: error: "): one instance of every case of IDXError, SafeTensorsError, ImageError,
//  RunError, CheckpointError, ArchitectureError, ClassNamesError and InferenceError is checked, and a few
//  messages that were reworded are checked word for word.

import CNN
@testable import CLI
import Foundation
import IDX
import Images
import SafeTensors
import Training
import XCTest

final class ErrorFormTests: XCTestCase {
    static let file = "/data/f.bin"

    static var errors: [Error] {
        let f = file
        let idx: [IDXError] = [
            .fileNotFound(file: f), .directoryNotFound(directory: "/data"), .datasetFileNotFound(directory: "/data", name: "train-images-idx3-ubyte"),
            .unreadable(file: f, reason: "Permission denied"), .unwritable(file: f, reason: "No space left on device"),
            .tooLarge(file: f, limit: 1 << 30), .corruptGzip(file: f, message: "invalid block type"),
            .truncatedGzip(file: f, decompressedBytes: 100), .truncatedHeader(file: f, needed: 8, actual: 3),
            .badMagic(file: f, magic: 0x6865_6c6c), .badMagic(file: f, magic: 0x0000_0F03), .unsupportedType(file: f, type: .float),
            .badDimensions(file: f, count: 9), .lengthMismatch(file: f, dimensions: [2, 28, 28], expected: 1584, actual: 1000),
            .lengthMismatch(file: f, dimensions: [2, 28, 28], expected: 1584, actual: 1600), .wrongRank(file: f, expected: 3, dimensions: [2, 784]),
            .noImages(file: f, dimensions: [0, 28, 28]), .countMismatch(images: f, labels: "/data/l", imageCount: 10, labelCount: 9),
            .labelOutOfRange(file: f, index: 2, value: 12, classCount: 10), .invalidClassCount(0),
            .invalidShape(dimensions: [3], byteCount: 4), .zlibFailure(function: "inflateInit2", code: -4, message: "out of memory"),
        ]
        let safetensors: [SafeTensorsError] = [
            .fileNotFound(file: f), .unreadable(file: f, reason: "EIO"), .tooShort(file: f, size: 3),
            .headerTooLarge(file: f, headerLength: 1 << 40, limit: 100), .notSafeTensors(file: f, looksLike: "text"),
            .headerBeyondFile(file: f, headerLength: 999, fileSize: 120), .invalidJSON(file: f, reason: "bad"),
            .notAnObject(file: f, found: "an array"), .badMetadata(file: f, reason: "a number"), .badEntry(file: f, name: "0.weight", reason: "no shape"),
            .unknownDType(file: f, name: "0.weight", dtype: "Q4"), .shapeMismatch(file: f, name: "0.weight", expectedBytes: 8, actualBytes: 4),
            .offsetsOutOfRange(file: f, name: "0.weight", begin: 0, end: 99, bufferLength: 8), .overlap(file: f, name: "a", other: "b"),
            .gap(file: f, name: "b", expectedBegin: 4, begin: 8), .trailingBytes(file: f, used: 4, bufferLength: 8),
            .duplicateName(file: f, name: "a"), .wrongDType(file: f, name: "a", dtype: .I64, expected: "F32"),
            .writeFailed(file: f, reason: "EROFS"),
        ]
        let images: [ImageError] = [
            .fileNotFound(file: f), .unreadable(file: f, reason: "EIO"), .fileTooLarge(file: f, limit: 100), .unwritable(file: f, reason: "EROFS"),
            .unknownFormat(file: f, detected: nil), .unknownFormat(file: f, detected: "a GIF image"),
            .imageTooLarge(file: f, width: 100_000, height: 100_000, limit: 1 << 26), .badPNG(file: f, detail: "CRC"),
            .cannotEncodePNG(file: f, detail: "x"), .badJPEG(file: f, detail: "huffman"), .badPNM(file: f, detail: "no header"),
            .unsupportedMaxval(file: f, maxval: 65535),
        ]
        let holder = RunLock.Holder(pid: 42, host: "node1", since: "2026-12-02T01:00:00Z")
        let run: [RunError] = [
            .invalidConfiguration(["--lr must be a finite number > 0 (got 0.0)"]), .invalidConfiguration(["--validation 60000 leaves none of the 60000 training images to train on"]),
            .cannotWrite(f, "No space left on device"), .diverged(epoch: 2, step: 5, lr: 1e6, checkpoint: "/r/c.safetensors"),
            .diverged(epoch: 1, step: 1, lr: 1e6, checkpoint: nil), .nothingToResume("/r"), .badRunDirectory("/r", "no config.json"),
            .inputMismatch(checkpoint: f, expected: "1×28×28", data: "1×14×14"), .runExists("/r"), .badData("/data", "sizes differ"),
            .busy("/r", holder),
        ]
        let checkpoint: [CheckpointError] = [
            .missingMetadata(f, "input"), .badMetadata(f, "\"input\" is not an object"), .checksumMismatch(f, expected: "00000000", actual: "12345678"),
            .missingTensor(f, "0.weight"), .wrongTensor(f, "0.weight", "shape [1]"), .unexpectedTensor(f, "9.weight"),
            .inputMismatch(f, checkpoint: "28×28", data: "14×14"),
        ]
        let architecture: [ArchitectureError] = [
            .empty, .unknownToken("lenet"), .badValue("conv0k3"), .doesNotFit(token: "pool2", shape: [8, 1, 1]),
            .wrongOutput(shape: [7], classes: 10),
            .cannotTrain(layer: 1, type: "batchnorm2d", batch: 1, problem: "a batch of one image has no variance", lastBatchOf: 1, batchSize: 64),
        ]
        let names: [ClassNamesError] = [.unreadable(f, "no such file"), .malformed(f, "line 2 is empty"), .wrongCount(f, names: 9, classes: 10)]
        let inference: [InferenceError] = [.blankImage(file: f), .noConvolution(checkpoint: f), .notGrayscale(checkpoint: f, channels: 3)]
        return idx + safetensors + images + run + checkpoint + architecture + names + inference
    }

    /// WHAT: PROBLEM, then at most one "; HINT: ..." at the end. The one exception: a run directory being
    /// trained elsewhere reads "DIR is being trained by PID on HOST since TIME", the words sweep.sh and the
    /// cluster tests (scripts/test-sweep.sh, test-slurm.sh, test-ssh-sweep.sh) look for.
    func testEveryLibraryErrorIsOneLineInTheForm() throws {
        let form = try NSRegularExpression(pattern: "^[^ ;:][^;]*?: [^ ].*$")
        for error in Self.errors {
            let line = errorLine(error)
            XCTAssertFalse(line.contains("\n"), line)
            let hints = line.components(separatedBy: "HINT: ").count - 1
            XCTAssertLessThanOrEqual(hints, 1, "at most one hint: \(line)")
            if hints == 1 { XCTAssertTrue(line.contains("; HINT: "), "a hint follows '; ': \(line)") }
            if case RunError.busy = error {
                XCTAssertTrue(line.hasPrefix("/r is being trained by 42 on node1 since 2026-12-02T01:00:00Z; HINT: "), line)
                continue
            }
            let what = line.components(separatedBy: "; HINT: ")[0]
            XCTAssertNotNil(form.firstMatch(in: what, range: NSRange(what.startIndex..., in: what)), "WHAT: PROBLEM: \(line)")
        }
    }

    func testRewordedMessages() {
        let f = Self.file
        XCTAssertEqual(errorLine(IDXError.countMismatch(images: f, labels: "/data/l", imageCount: 10, labelCount: 9)),
                       "\(f): 10 images, but /data/l has 9 labels; HINT: the images and labels must come from the same split of the same dataset")
        XCTAssertEqual(errorLine(IDXError.lengthMismatch(file: f, dimensions: [2, 28, 28], expected: 1584, actual: 1600)),
                       "\(f): 16 trailing bytes: dimensions 2×28×28 need 1584 bytes (16-byte header + 1568 data bytes), found 1600")
        XCTAssertTrue(errorLine(IDXError.badMagic(file: f, magic: 0x6865_6c6c)).hasPrefix("\(f): not gzip and not IDX: wrong magic 0x68656c6c"))
        XCTAssertEqual(errorLine(RunError.diverged(epoch: 2, step: 5, lr: 0.5, checkpoint: "/r/c.safetensors")),
                       "training: diverged at epoch 2, step 5, learning rate 0.5 (the loss or a weight is NaN or infinite); HINT: try a lower --lr; the last good checkpoint is /r/c.safetensors")
        XCTAssertEqual(errorLine(RunError.invalidConfiguration(["--validation 60000 leaves none of the 60000 training images to train on"])),
                       "--validation: 60000 leaves none of the 60000 training images to train on")
        XCTAssertEqual(errorLine(SafeTensorsError.fileNotFound(file: f)), "\(f): no such file; HINT: check the path")
        XCTAssertEqual(errorLine(ArchitectureError.wrongOutput(shape: [7], classes: 10)),
                       "--arch: the network ends in shape 7, but must end in 10 class scores; HINT: end it with fc10")
    }
}
