//  BadInputTests.swift
//
//  Every kind of bad input, through the commands as a user meets them (in-process `run()`): exactly one line on
//  standard error, "cnn-train: error: <file or flag>: <problem>", the documented exit status (ExitStatus), no
//  trap, and nothing half-written (a run refused for its data leaves no --out directory behind).
//
//  The library-level tests (IDXTests, SafeTensorsTests, TrainingTests) check each error case by case; these
//  check that each one reaches the user as one line with the right status.

import ArgumentParser
import CLI
import CNN
import Foundation
import IDX
import SafeTensors
import Training
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` with standard error redirected to a file; returns the status of the `ExitCode` it threw (0 if
/// none) and what it printed on standard error.
func runCapturingStandardError(_ body: () throws -> Void) throws -> (status: Int32, stderr: String) {
    let dir = try TemporaryDirectory("CLITests-stderr")
    let path = dir.file("stderr.txt")
    let saved = dup(STDERR_FILENO)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard saved >= 0, fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
    dup2(fd, STDERR_FILENO)
    close(fd)
    var status: Int32 = 0
    do {
        try body()
    } catch let code as ExitCode {
        status = code.rawValue
    } catch {
        dup2(saved, STDERR_FILENO)
        close(saved)
        throw error
    }
    dup2(saved, STDERR_FILENO)
    close(saved)
    return (status, String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self))
}

final class BadInputTests: XCTestCase {
    var dir: TemporaryDirectory!
    /// A valid 12×12 dataset: 20 training and 10 test images.
    var data: String { dir.file("data") }

    override func setUpWithError() throws {
        dir = try TemporaryDirectory("CLITests-bad")
        try writeSyntheticDataset(to: data, trainCount: 20, testCount: 10)
    }

    /// XCTest keeps each test's instance to the end of the run: release the directory now, so it is removed.
    override func tearDown() { dir = nil }

    /// Runs `command` with `arguments`; asserts the status, one line on standard error starting with
    /// "<command>: error: " and mentioning each of `mentions`. Returns the line.
    @discardableResult
    func assertFails(_ command: String, _ arguments: [String], status: Int32, mentions: [String],
                     file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runCapturingStandardError {
            switch command {
            case "cnn-train": try TrainCommand.parse(arguments).run()
            default: try EvalCommand.parse(arguments).run()
            }
        }
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        print("  \(command) → \(result.status): \(result.stderr.trimmingCharacters(in: .newlines))")
        XCTAssertEqual(result.status, status, result.stderr, file: file, line: line)
        XCTAssertEqual(lines.count, 1, "not one line: \(result.stderr)", file: file, line: line)
        let text = String(lines.first ?? "")
        XCTAssertTrue(text.hasPrefix("\(command): error: "), text, file: file, line: line)
        for m in mentions {
            XCTAssertTrue(text.contains(m), "\"\(text)\" does not mention \"\(m)\"", file: file, line: line)
        }
        return text
    }

    // MARK: Data files, through cnn-train

    /// cnn-train on `data`: fails with `status` before writing anything.
    func assertTrainingRefuses(status: Int32, mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let out = dir.file("out-\(UUID().uuidString)")
        try assertFails("cnn-train", ["--data", data, "--out", out, "--quiet", "--arch", "fc10", "--epochs", "1", "--threads", "1"],
                        status: status, mentions: mentions, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written", file: file, line: line)
    }

    func path(_ name: String) -> String { data + "/" + name }

    func replace(_ name: String, with bytes: [UInt8]) throws {
        for old in [name, name + ".gz"] { try? FileManager.default.removeItem(atPath: path(old)) }
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }

    /// `dimensions` and `payload` as a raw IDX file of `type`.
    func idx(type: UInt8 = 0x08, _ dimensions: [UInt32], _ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
        return bytes + payload
    }

    func testMissingDataDirectoryOrFile() throws {
        let nowhere = dir.file("nowhere")
        let out = dir.file("out")
        try assertFails("cnn-train", ["--data", nowhere, "--out", out, "--quiet"], status: 66, mentions: [nowhere])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        try FileManager.default.removeItem(atPath: path("train-labels-idx1-ubyte.gz"))
        try assertTrainingRefuses(status: 66, mentions: [path("train-labels-idx1-ubyte")])
    }

    func testGzipThatIsNotGzipIsTruncatedOrFailsItsCRC() throws {
        let images = path("train-images-idx3-ubyte.gz")
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: images)))
        try Data("not gzip at all".utf8).write(to: URL(fileURLWithPath: images))
        try assertTrainingRefuses(status: 65, mentions: [images, "not gzip"])
        try Data(good.prefix(good.count / 2)).write(to: URL(fileURLWithPath: images))
        try assertTrainingRefuses(status: 65, mentions: [images, "truncated"])
        var flipped = good
        flipped[flipped.count - 7] ^= 0x40   // in the CRC-32 of the trailer
        try Data(flipped).write(to: URL(fileURLWithPath: images))
        try assertTrainingRefuses(status: 65, mentions: [images, "incorrect data check"])
    }

    func testWrongMagicUnsupportedTypeAndLengthDisagreeingWithTheDimensions() throws {
        let images = path("train-images-idx3-ubyte")
        try replace("train-images-idx3-ubyte", with: [0x12, 0x34, 0x56, 0x78] + [UInt8](repeating: 0, count: 40))
        try assertTrainingRefuses(status: 65, mentions: [images, "magic"])
        try replace("train-images-idx3-ubyte", with: idx(type: 0x0D, [20, 12, 12], [UInt8](repeating: 0, count: 20 * 144 * 4)))
        try assertTrainingRefuses(status: 65, mentions: [images, "unsupported IDX type 0x0D"])
        try replace("train-images-idx3-ubyte", with: idx([20, 12, 12], [UInt8](repeating: 0, count: 20 * 144 - 1)))
        try assertTrainingRefuses(status: 65, mentions: [images, "truncated", "20×12×12"])
        try replace("train-images-idx3-ubyte", with: idx([20, 12, 12], [UInt8](repeating: 0, count: 20 * 144 + 3)))
        try assertTrainingRefuses(status: 65, mentions: [images, "3 trailing bytes"])
    }

    func testCountMismatchLabelOutsideTheClassesAndZeroImages() throws {
        let labels = path("train-labels-idx1-ubyte")
        try replace("train-labels-idx1-ubyte", with: idx([19], [UInt8](repeating: 1, count: 19)))
        try assertTrainingRefuses(status: 65, mentions: [labels, "20 images", "19 labels"])
        try replace("train-labels-idx1-ubyte", with: idx([20], [UInt8](repeating: 1, count: 19) + [10]))
        try assertTrainingRefuses(status: 65, mentions: [labels, "label 10 at index 19"])
        try replace("train-images-idx3-ubyte", with: idx([0, 12, 12], []))
        try replace("train-labels-idx1-ubyte", with: idx([0], []))
        try assertTrainingRefuses(status: 65, mentions: [path("train-images-idx3-ubyte"), "no images"])
    }

    func testTrainingAndTestImagesOfDifferentSizes() throws {
        try replace("t10k-images-idx3-ubyte", with: idx([10, 14, 14], [UInt8](repeating: 7, count: 10 * 196)))
        try assertTrainingRefuses(status: 65, mentions: [data, "12×12", "14×14"])
    }

    // MARK: Checkpoints, through cnn-eval

    /// A valid checkpoint for 12×12 images.
    func goodCheckpoint(height: Int = 12) throws -> SafeTensorsFile {
        let input = InputDescriptor(channels: 1, height: height, width: height)
        var generator = RandomGenerator(seed: 1)
        let network = Sequential(specs: try Architecture.resolve("conv4k3p1-relu-pool2-fc10", input: input), generator: &generator)
        return Checkpoint(network: network, input: input).file()
    }

    func store(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = dir.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertEvalRefuses(_ bytes: [UInt8], _ name: String, status: Int32 = 65, mentions: [String] = [],
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let checkpoint = try store(bytes, name)
        try assertFails("cnn-eval", [checkpoint, "--data", data, "--threads", "1"], status: status, mentions: [checkpoint] + mentions,
                        file: file, line: line)
        // --verify, which reads no data, refuses it the same way.
        try assertFails("cnn-eval", [checkpoint, "--verify"], status: status, mentions: [checkpoint] + mentions, file: file, line: line)
    }

    /// 8-byte length, `header` as given, `buffer`.
    func container(_ header: String, _ buffer: [UInt8] = []) -> [UInt8] {
        let h = Array(header.utf8)
        return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) } + h + buffer
    }

    func testGoodCheckpointLoads() throws {
        let path = try store(try goodCheckpoint().serialized(), "good.safetensors")
        let result = try runCapturingStandardError {
            let output = try capturingStandardOutput { try EvalCommand.parse([path, "--verify"]).run() }
            XCTAssertTrue(output.hasPrefix(path + ": ok: 5 layers"), output)
            _ = try capturingStandardOutput { try EvalCommand.parse([path, "--data", data, "--threads", "1"]).run() }
        }
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "")
    }

    func testMissingOrTruncatedCheckpoint() throws {
        let missing = dir.file("missing.safetensors")
        try assertFails("cnn-eval", [missing, "--data", data], status: 66, mentions: [missing, "no such file"])
        let good = try goodCheckpoint().serialized()
        try assertEvalRefuses(Array(good.prefix(good.count - 10)), "truncated.safetensors")
        try assertEvalRefuses(Array(good.prefix(64)), "cut-in-header.safetensors", mentions: ["exceeds the file size"])
        try assertEvalRefuses([1, 2, 3], "tiny.safetensors", mentions: ["only 3 bytes"])
    }

    func testHeaderThatIsNotJSONOrHasBadOffsetsDTypesOrShapes() throws {
        try assertEvalRefuses(container("{\"a\": nonsense}"), "not-json.safetensors", mentions: ["JSON"])
        try assertEvalRefuses(container(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, [0, 0, 0, 0]), "out-of-range.safetensors",
                              mentions: ["'w'"])
        try assertEvalRefuses(container(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                                        [UInt8](repeating: 0, count: 12)), "overlap.safetensors", mentions: ["'b'", "'a'"])
        try assertEvalRefuses(container(#"{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, [0]), "dtype.safetensors",
                              mentions: ["F8_E4M3"])
        try assertEvalRefuses(container(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8)),
                              "shape.safetensors", mentions: ["'w'", "12", "8"])
    }

    func testMetadataMissingOrMalformedTensorsNotFittingAndChecksumMismatch() throws {
        let good = try goodCheckpoint()
        var noMetadata = good
        noMetadata.metadata = [:]
        try assertEvalRefuses(noMetadata.serialized(), "no-metadata.safetensors", mentions: ["architecture"])
        var malformed = good
        malformed.metadata["architecture"] = #"[{"type":"conv9d"}]"#
        try assertEvalRefuses(malformed.serialized(), "malformed.safetensors", mentions: ["conv9d"])
        var badInput = good
        badInput.metadata["input"] = #"{"channels":1}"#
        try assertEvalRefuses(badInput.serialized(), "bad-input.safetensors", mentions: ["\"input\""])

        var wrongShape = good
        let first = good.tensors[0]
        wrongShape.tensors[0] = TensorEntry(name: first.name, floats: [Float](repeating: 0, count: first.elementCount), shape: [first.elementCount])
        wrongShape.metadata["crc32"] = checksum(wrongShape.tensors)
        try assertEvalRefuses(wrongShape.serialized(), "wrong-shape.safetensors", mentions: ["0.weight"])
        var missingTensor = good
        missingTensor.tensors.removeLast()
        missingTensor.metadata["crc32"] = checksum(missingTensor.tensors)
        try assertEvalRefuses(missingTensor.serialized(), "missing-tensor.safetensors", mentions: ["4.bias"])

        var corrupt = good.serialized()
        corrupt[corrupt.count - 2] ^= 0x01
        try assertEvalRefuses(corrupt, "corrupt.safetensors", mentions: ["checksum", "corrupt"])
    }

    func testHostileSizesAndDevices() throws {
        var hostile = try goodCheckpoint()
        hostile.metadata["architecture"] = #"[{"type":"conv2d","in_channels":1,"out_channels":4,"kernel_size":3,"stride":1,"padding":16777216},{"type":"relu"},{"type":"maxpool2d","kernel_size":2,"stride":2},{"type":"flatten"},{"type":"linear","in_features":144,"out_features":10}]"#
        try assertEvalRefuses(hostile.serialized(), "hostile.safetensors", mentions: ["limit"])
        if FileManager.default.fileExists(atPath: "/dev/zero") {
            try assertFails("cnn-eval", ["/dev/zero", "--verify"], status: 65, mentions: ["/dev/zero", "device"])
        }
    }

    func testDataOfAnotherImageSizeThanTheCheckpoint() throws {
        let checkpoint = try store(try goodCheckpoint(height: 28).serialized(), "28.safetensors")
        try assertFails("cnn-eval", [checkpoint, "--data", data], status: 65, mentions: [checkpoint, "1×28×28", "1×12×12"])
    }

    /// zlib's CRC-32 of the tensors' data, as the "crc32" metadata holds it.
    func checksum(_ tensors: [TensorEntry]) -> String {
        var table = [UInt32](repeating: 0, count: 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[n] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for t in tensors { for b in t.data { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) } }
        return String(format: "%08x", crc ^ 0xFFFF_FFFF)
    }

    // MARK: Flags and runs, through cnn-train

    /// Flags are refused by validate() with status 64 and a message naming the flag (TrainCommandTests checks
    /// every flag); printed by the binary as one line (ProcessTests).
    func testBadFlagsAreUsageErrors() {
        for arguments in [["--lr", "0"], ["--lr=-1"], ["--lr", "nan"], ["--lr", "inf"], ["--batch-size", "0"], ["--epochs", "0"],
                          ["--epochs=-3"], ["--arch", "resnet50"], ["--arch", "conv32-fc10"]] {
            assertParseFails(TrainCommand.self, arguments, mentions: [arguments[0].split(separator: "=")[0].description])
        }
    }

    func testUnwritableOutputAndAnotherRunsDirectory() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.file("file"), contents: Data()))
        try assertFails("cnn-train", ["--data", data, "--out", dir.file("file/run"), "--quiet", "--arch", "fc10", "--epochs", "1"],
                        status: 73, mentions: [dir.file("file/run")])
        let run = dir.file("run")
        _ = try capturingStandardOutput {
            try TrainCommand.parse(["--data", data, "--out", run, "--quiet", "--arch", "fc10", "--epochs", "1", "--threads", "1"]).run()
        }
        let model = FileManager.default.contents(atPath: run + "/model.safetensors")
        try assertFails("cnn-train", ["--data", data, "--out", run, "--quiet", "--arch", "fc10", "--epochs", "2"],
                        status: 73, mentions: [run, "--resume"])
        XCTAssertEqual(FileManager.default.contents(atPath: run + "/model.safetensors"), model, "the earlier run is untouched")
    }

    /// A full disk, simulated by the file-size limit (writes fail with EFBIG): status 73, the file named, no
    /// temporary file left, config.json whole.
    func testAFullDisk() throws {
        let run = dir.file("run")
        var saved = rlimit()
        XCTAssertEqual(getrlimit(resourceFileSize, &saved), 0)
        let handler = signal(SIGXFSZ, SIG_IGN)
        var low = saved
        low.rlim_cur = 3000  // config.json (about 800 bytes) fits, a checkpoint (about 6 KB) does not
        XCTAssertEqual(setrlimit(resourceFileSize, &low), 0)
        defer {
            var restored = saved
            setrlimit(resourceFileSize, &restored)
            signal(SIGXFSZ, handler)
        }
        try assertFails("cnn-train", ["--data", data, "--out", run, "--quiet", "--arch", "conv4k3p1-relu-pool2-fc10", "--epochs", "1",
                                      "--threads", "1"], status: 73, mentions: [run + "/checkpoints/epoch-0001.state.safetensors", "File too large"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints"), [])
        XCTAssertNoThrow(try Trainer.readConfiguration(directory: run))
    }

    /// Divergence: status 70, one line suggesting a lower --lr and naming the last good checkpoint.
    func testDivergence() throws {
        let run = dir.file("run")
        try assertFails("cnn-train", ["--data", data, "--out", run, "--quiet", "--arch", "conv4k3p1-relu-pool2-fc10", "--epochs", "3",
                                      "--batch-size", "4", "--schedule", "step", "--step-gamma", "1e8", "--warmup-steps", "0", "--threads", "1"],
                        status: 70, mentions: ["diverged", "--lr", run + "/checkpoints/epoch-0001.safetensors"])
        XCTAssertNoThrow(try Checkpoint.read(contentsOf: run + "/checkpoints/epoch-0001.safetensors"))
    }
}

#if canImport(Glibc)
private let resourceFileSize = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#else
private let resourceFileSize = RLIMIT_FSIZE
#endif
