//  ReliabilityTests.swift
//
//  "Never lose a run", at the library level: the same seed, flags and thread count repeat bit for bit (for
//  1 and for 2 threads, whatever the checkpoint frequency); resume picks deterministically between two
//  checkpoints of the same step; a stop during an epoch's evaluation stops after the epoch's checkpoint;
//  divergence keeps the last good checkpoint and never writes non-finite weights; a full disk leaves the
//  previous checkpoint loadable and log lines whole; a fresh run never overwrites another run; a resumed run
//  cleans up after a killed one; a hostile checkpoint cannot make evaluation allocate gigabytes.
//
//  The runs are the small synthetic ones of TrainerTests (256 + 100 images of 12×12, 8 steps an epoch).

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

final class ReliabilityTests: XCTestCase {
    // MARK: Helpers

    func syntheticData() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("ReliabilityTests-data")
        try writeDataset(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2), to: dir.path)
        return dir
    }

    func train(_ c: TrainingConfiguration) throws -> TrainingSummary {
        try Trainer(configuration: c).run()
    }

    func untimed(_ rows: [EpochMetrics]) -> [[Double]] {
        rows.map { [Double($0.epoch), Double($0.step), $0.lr, $0.trainLoss, $0.trainAccuracy, $0.testLoss, $0.testAccuracy] }
    }

    /// The lines of metrics.jsonl without the three timing keys (seconds, elapsed_seconds, images_per_second),
    /// written again with sorted keys, and those of metrics.csv with the timing columns (always last) cut off.
    func untimedLogLines(_ directory: String) -> [String] {
        let jsonl = String(decoding: fileBytes(directory + "/metrics.jsonl"), as: UTF8.self).split(separator: "\n").map { line -> String in
            guard var object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return "not JSON: " + line }
            for key in ["seconds", "elapsed_seconds", "images_per_second"] { object[key] = nil }
            return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        let csv = String(decoding: fileBytes(directory + "/metrics.csv"), as: UTF8.self).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).dropLast(3).joined(separator: ",")
        }
        return jsonl + csv
    }

    func assertSameBytes(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) {
        let x = fileBytes(a), y = fileBytes(b)
        XCTAssertFalse(x.isEmpty, "\(a) is missing or empty", file: file, line: line)
        guard x != y else { return }
        let first = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
        XCTFail("\(a) (\(x.count) bytes) and \(b) (\(y.count) bytes) differ, first at byte \(first)", file: file, line: line)
    }

    func checkpointFiles(_ run: String) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? [])
    }

    /// Counts training steps through the progress events, and answers `shouldStop` with `stop(steps, polls)`.
    func stopping(_ trainer: Trainer, when stop: @escaping (_ steps: Int, _ polls: Int) -> Bool) {
        var steps = 0, polls = 0
        trainer.onEvent = { if case .progress = $0 { steps += 1 } }
        trainer.shouldStop = { polls += 1; return stop(steps, polls) }
    }

    // MARK: Determinism

    /// For 1 and for 2 threads separately: two runs, and a third writing a checkpoint every 3 steps, give the same
    /// model, epoch checkpoints and metrics (timing columns aside). Batch norm and dropout carry state too.
    func testSameSeedFlagsAndThreadCountRepeatBitForBitWhateverTheCheckpointFrequency() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        var models: [Int: [UInt8]] = [:]
        for threads in [1, 2] {
            var c = smallConfiguration(data: data.path, out: out.file("t\(threads)-a"), arch: "conv4k3p1-bn-relu-pool2-drop0.25-fc10")
            c.threads = threads
            let a = try train(c)
            c.out = out.file("t\(threads)-b")
            let b = try train(c)
            c.out = out.file("t\(threads)-every3")
            c.checkpointEvery = 3
            let e = try train(c)
            for other in [b, e] {
                assertSameBytes(a.modelPath, other.modelPath)
                for name in ["epoch-0001.safetensors", "epoch-0002.safetensors"] {
                    assertSameBytes(a.directory + "/checkpoints/" + name, other.directory + "/checkpoints/" + name)
                }
                XCTAssertEqual(untimed(a.metrics), untimed(other.metrics), "\(threads) threads")
                XCTAssertEqual(untimedLogLines(a.directory), untimedLogLines(other.directory), "\(threads) threads")
            }
            XCTAssertEqual(untimedLogLines(a.directory).count, 2 + 3, "two JSON rows, a CSV header and two rows")
            XCTAssertEqual(checkpointFiles(e.directory).filter { $0.hasPrefix("step-") }.count, 2 * 5, "steps 3, 6, 9, 12, 15")
            models[threads] = fileBytes(a.modelPath)
        }
        // Allowed to differ (per-thread partial sums of the conv weight gradients are added in thread order);
        // printed so the logs show which it is on this machine.
        print("  1 thread and 2 threads give \(models[1] == models[2] ? "the same" : "different") model bytes")
    }

    // MARK: Resume

    /// A stop at an epoch's last step leaves step-00000008 (before the evaluation); resuming it and stopping
    /// right away writes epoch-0001, of the same global step. The next resume takes the epoch checkpoint
    /// (it holds the evaluation too); with that one damaged, the step checkpoint; both end as a straight run.
    func testResumePrefersTheEpochCheckpointOverAStepCheckpointOfTheSameStep() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        let straight = try train(smallConfiguration(data: data.path, out: out.file("straight")))
        let c = smallConfiguration(data: data.path, out: out.file("run"))
        let first = try Trainer(configuration: c)
        stopping(first) { steps, _ in steps == 8 }
        XCTAssertTrue(try first.run().interrupted)
        XCTAssertEqual(checkpointFiles(c.out), ["step-00000008.safetensors", "step-00000008.state.safetensors"])

        let second = try Trainer(configuration: c, resume: c.out)
        second.shouldStop = { true }
        let stopped = try second.run()
        XCTAssertTrue(stopped.interrupted)
        XCTAssertEqual(stopped.metrics.map(\.epoch), [1])
        XCTAssertEqual(stopped.lastCheckpoint, c.out + "/checkpoints/epoch-0001.safetensors")
        XCTAssertEqual(checkpointFiles(c.out), ["step-00000008.safetensors", "step-00000008.state.safetensors",
                                                "epoch-0001.safetensors", "epoch-0001.state.safetensors"])
        for stem in ["step-00000008", "epoch-0001"] {
            let model = try SafeTensorsFile.read(contentsOf: c.out + "/checkpoints/\(stem).safetensors")
            XCTAssertEqual(model.metadata["global_step"], "8", stem)
        }
        let copy = out.file("copy")
        try FileManager.default.copyItem(atPath: c.out, toPath: copy)

        for (run, expected) in [(c.out, "epoch-0001"), (copy, "step-00000008")] {
            if run == copy {
                var bytes = fileBytes(copy + "/checkpoints/epoch-0001.safetensors")
                bytes[bytes.count - 1] ^= 0x01
                try Data(bytes).write(to: URL(fileURLWithPath: copy + "/checkpoints/epoch-0001.safetensors"))
            }
            let resumed = try Trainer(configuration: c, resume: run)
            var from: String?
            resumed.onEvent = { if case let .started(_, _, _, _, resumedFrom) = $0 { from = resumedFrom } }
            let finished = try resumed.run()
            XCTAssertEqual(from, run + "/checkpoints/\(expected).safetensors")
            assertSameBytes(finished.modelPath, straight.modelPath)
            XCTAssertEqual(untimed(finished.metrics), untimed(straight.metrics))
        }
    }

    /// shouldStop is polled after every step and after every epoch's checkpoint. A signal that arrives while
    /// epoch 1 is being evaluated is first seen after epoch-0001 is written: the run stops there, without
    /// taking a step of epoch 2.
    func testAStopDuringTheEvaluationStopsAfterTheEpochCheckpoint() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        let straight = try train(smallConfiguration(data: data.path, out: out.file("straight")))
        var c = smallConfiguration(data: data.path, out: out.file("run"))
        c.checkpointEvery = 3
        let trainer = try Trainer(configuration: c)
        stopping(trainer) { _, polls in polls > 8 }
        let stopped = try trainer.run()
        XCTAssertTrue(stopped.interrupted)
        XCTAssertEqual(stopped.metrics.map(\.epoch), [1])
        XCTAssertEqual(stopped.lastCheckpoint, c.out + "/checkpoints/epoch-0001.safetensors")
        XCTAssertEqual(checkpointFiles(c.out).filter { !$0.contains(".state.") },
                       Set(["step-00000003.safetensors", "step-00000006.safetensors", "epoch-0001.safetensors"]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stopped.modelPath))
        let resumed = try Trainer(configuration: c, resume: c.out).run()
        assertSameBytes(resumed.modelPath, straight.modelPath)
        XCTAssertEqual(untimed(resumed.metrics), untimed(straight.metrics))
    }

    /// A resumed run removes the temporary files that a killed writer left (`.<name>.tmp-<pid>-<random>`, of a
    /// process that no longer exists) and keeps those of a live one.
    func testResumeRemovesTemporaryFilesOfDeadWriters() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        let c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 1)
        let trainer = try Trainer(configuration: c)
        stopping(trainer) { steps, _ in steps == 3 }
        _ = try trainer.run()
        let dead = 2_147_483_646  // above any pid_max
        let stale = [c.out + "/checkpoints/.step-00000006.safetensors.tmp-\(dead)-1f2e", c.out + "/.config.json.tmp-\(dead)-7"]
        let live = c.out + "/checkpoints/.epoch-0001.safetensors.tmp-\(getpid())-3c"
        for path in stale + [live] { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))) }
        _ = try Trainer(configuration: c, resume: c.out).run()
        for path in stale { XCTAssertFalse(FileManager.default.fileExists(atPath: path), path) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live process's temporary file is left alone")
    }

    /// A fresh run pointed at another run's directory refuses before writing anything.
    func testAFreshRunNeverOverwritesAnotherRun() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        let c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 1)
        let first = try train(c)
        let before = [first.modelPath, c.out + "/config.json", c.out + "/metrics.jsonl"].map(fileBytes)
        var other = c
        other.lr = 0.01
        assertThrows(try Trainer(configuration: other), as: RunError.self, mentions: [c.out, "--resume"]) {
            XCTAssertEqual($0, .runExists(c.out))
        }
        XCTAssertEqual([first.modelPath, c.out + "/config.json", c.out + "/metrics.jsonl"].map(fileBytes), before)
    }

    // MARK: Divergence

    /// The step schedule multiplies the rate by 10^8 after epoch 1: epoch 2 diverges. The run stops at once,
    /// says to lower --lr and names epoch-0001, which is still there, loads, and holds finite weights; nothing
    /// of epoch 2 is written.
    func testDivergenceKeepsTheLastGoodCheckpoint() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 3)
        c.schedule = .step
        c.stepGamma = 1e8
        c.warmupSteps = 0
        let good = c.out + "/checkpoints/epoch-0001.safetensors"
        assertThrows(try train(c), as: RunError.self, mentions: ["diverged", "epoch 2", "--lr", good]) {
            guard case let .diverged(epoch, step, _, checkpoint) = $0 else { return XCTFail("got \($0)") }
            XCTAssertEqual(epoch, 2)
            XCTAssertGreaterThan(step, 8)
            XCTAssertEqual(checkpoint, good)
        }
        XCTAssertEqual(checkpointFiles(c.out), ["epoch-0001.safetensors", "epoch-0001.state.safetensors"])
        let kept = try Checkpoint.read(contentsOf: good)
        XCTAssertTrue(kept.network.parameters.allSatisfy { $0.value.scalars.allSatisfy(\.isFinite) })
        XCTAssertNoThrow(try TrainingState.read(contentsOf: c.out + "/checkpoints/epoch-0001.state.safetensors",
                                                shapes: kept.network.parameters.map(\.value.shape)))
        XCTAssertEqual(MetricsLog(directory: c.out).rows().map(\.epoch), [1])
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.out + "/model.safetensors"))
    }

    /// A rate that is infinite in Float makes the weights non-finite in the first step, whose loss was still
    /// finite: the step checkpoint due then is refused, so no checkpoint ever holds NaN or infinity.
    func testNonFiniteWeightsAreNeverCheckpointed() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        var c = smallConfiguration(data: data.path, out: out.file("run"), lr: 1e39)
        c.checkpointEvery = 1
        c.warmupSteps = 0
        c.schedule = .constant
        assertThrows(try train(c), as: RunError.self, mentions: ["diverged", "--lr"]) {
            guard case let .diverged(epoch, step, _, checkpoint) = $0 else { return XCTFail("got \($0)") }
            XCTAssertEqual(epoch, 1)
            XCTAssertEqual(step, 1)
            XCTAssertNil(checkpoint)
        }
        XCTAssertEqual(checkpointFiles(c.out), [])
    }

    // MARK: A full disk

    /// The file-size limit (RLIMIT_FSIZE, writes fail with EFBIG) stands in for a full disk. It is lowered once
    /// epoch-0001 is written, so epoch 2's checkpoint fails: the error names the file, no temporary file is left,
    /// epoch-0001 still loads, the metrics still parse, and resuming (with room again) ends as a straight run.
    func testAFullDiskKeepsThePreviousCheckpoint() throws {
        let data = try syntheticData(), out = try TemporaryDirectory("ReliabilityTests-run")
        let straight = try train(smallConfiguration(data: data.path, out: out.file("straight")))
        let c = smallConfiguration(data: data.path, out: out.file("run"))
        let trainer = try Trainer(configuration: c)
        let limit = FileSizeLimit()
        defer { limit.restore() }
        trainer.onEvent = { event in
            if case let .checkpointWritten(path) = event, path.hasSuffix("epoch-0001.safetensors") { limit.lower(to: 3000) }
        }
        XCTAssertThrowsError(try trainer.run()) { error in
            limit.restore()
            let message = (error as? LocalizedError)?.errorDescription ?? ""
            print("  \(message)")
            guard case let .writeFailed(file, reason)? = error as? SafeTensorsError else { return XCTFail("got \(error)") }
            XCTAssertEqual(file, c.out + "/checkpoints/epoch-0002.state.safetensors")
            XCTAssertTrue(reason.contains("File too large"), reason)
            XCTAssertFalse(message.contains("\n"))
        }
        limit.restore()
        XCTAssertEqual(checkpointFiles(c.out), ["epoch-0001.safetensors", "epoch-0001.state.safetensors"], "no temporary file left")
        XCTAssertNoThrow(try Checkpoint.read(contentsOf: c.out + "/checkpoints/epoch-0001.safetensors"))
        XCTAssertEqual(MetricsLog(directory: c.out).rows().map(\.epoch), [1, 2], "epoch 2's row was logged before its checkpoint")
        let resumed = try Trainer(configuration: c, resume: c.out).run()
        assertSameBytes(resumed.modelPath, straight.modelPath)
        XCTAssertEqual(untimedLogLines(c.out), untimedLogLines(straight.directory))
    }

    /// A log line that does not fit is cut back off: the file keeps its old bytes and never ends in half a line.
    func testAppendLineNeverLeavesHalfALine() throws {
        let dir = try TemporaryDirectory("ReliabilityTests-log")
        let path = dir.file("metrics.jsonl")
        try AtomicWrite.appendLine("{\"epoch\":1}", to: path)
        let before = fileBytes(path)
        let limit = FileSizeLimit()
        defer { limit.restore() }
        limit.lower(to: before.count + 5)
        assertThrows(try AtomicWrite.appendLine("{\"epoch\":2,\"step\":1234567}", to: path), as: RunError.self,
                     mentions: [path, "File too large"]) {
            guard case .cannotWrite = $0 else { return XCTFail("got \($0)") }
        }
        limit.restore()
        XCTAssertEqual(fileBytes(path), before)
        try AtomicWrite.appendLine("{\"epoch\":2}", to: path)
        XCTAssertEqual(String(decoding: fileBytes(path), as: UTF8.self), "{\"epoch\":1}\n{\"epoch\":2}\n")
    }

    // MARK: Hostile checkpoints

    /// A checkpoint for `specs` on `input`, with the architecture metadata replaced by `architecture` when given.
    func hostileCheckpoint(_ architecture: String, input: String = #"{"channels":1,"height":28,"width":28,"mean":0.1,"std":0.3}"#,
                           tensors: [TensorEntry]) throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory("ReliabilityTests-checkpoint")
        let path = dir.file("hostile.safetensors")
        try SafeTensorsFile(tensors: tensors, metadata: ["architecture": architecture, "input": input,
                                                         "crc32": checksumString(tensors)]).write(to: path)
        return (dir, path)
    }

    /// A few bytes of metadata must not make evaluation allocate gigabytes: a padding of 2^24 around a 1×1
    /// convolution would make every image 2^25 × 2^25 values; an input of 4096×65536×65536 likewise.
    func testHostileSizesInTheMetadataAreRefusedBeforeAnythingIsAllocated() throws {
        let conv = [TensorEntry(name: "0.weight", floats: [1], shape: [1, 1, 1, 1]), TensorEntry(name: "0.bias", floats: [0], shape: [1])]
        let (dir, path) = try hostileCheckpoint(
            #"[{"type":"conv2d","in_channels":1,"out_channels":1,"kernel_size":1,"stride":1,"padding":16777216},{"type":"flatten"},{"type":"linear","in_features":1,"out_features":10}]"#,
            tensors: conv)
        _ = dir
        assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, "layer 0", "limit"]) {
            guard case .badMetadata = $0 else { return XCTFail("got \($0)") }
        }
        let (dir2, path2) = try hostileCheckpoint(#"[{"type":"flatten"},{"type":"linear","in_features":1,"out_features":10}]"#,
                                                  input: #"{"channels":4096,"height":65536,"width":65536,"mean":0.1,"std":0.3}"#, tensors: [])
        _ = dir2
        assertThrows(try Checkpoint.read(contentsOf: path2), as: CheckpointError.self, mentions: [path2, "4096×65536×65536"]) {
            guard case .badMetadata = $0 else { return XCTFail("got \($0)") }
        }
        // A linear layer of 2^24 × 784 weights named by a file that holds none: refused, not allocated.
        let (dir3, path3) = try hostileCheckpoint(#"[{"type":"flatten"},{"type":"linear","in_features":784,"out_features":16777216}]"#, tensors: [])
        _ = dir3
        assertThrows(try Checkpoint.read(contentsOf: path3), as: CheckpointError.self, mentions: [path3, "1.weight"]) {
            XCTAssertEqual($0, .missingTensor(path3, "1.weight"))
        }
        XCTAssertLessThan(peakResidentMegabytes(), 4096, "no huge allocation happened")
    }
}

/// Lowers RLIMIT_FSIZE (with SIGXFSZ ignored, so writes fail with EFBIG instead of killing the process), and
/// puts both back.
final class FileSizeLimit {
    private var saved = rlimit()
    private var savedHandler: (@convention(c) (Int32) -> Void)?
    private var lowered = false

    func lower(to bytes: Int) {
        guard !lowered else { return }
        XCTAssertEqual(getrlimit(resourceFileSize, &saved), 0)
        savedHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = saved
        limit.rlim_cur = rlim_t(bytes)
        XCTAssertEqual(setrlimit(resourceFileSize, &limit), 0)
        lowered = true
    }

    func restore() {
        guard lowered else { return }
        var limit = saved
        XCTAssertEqual(setrlimit(resourceFileSize, &limit), 0)
        signal(SIGXFSZ, savedHandler)
        lowered = false
    }
}

/// The process's peak resident set so far, in MiB.
func peakResidentMegabytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
}

#if canImport(Glibc)
private let resourceFileSize = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#else
private let resourceFileSize = RLIMIT_FSIZE
#endif
