//  RunTimingsTests.swift
//
//  `RunTimings`: every moment belongs to one phase, `measure` nests and restores, the phases add up to the
//  total, the process start time is read from the system, and a real run fills every phase.

import Foundation
import Training
import XCTest

final class RunTimingsTests: XCTestCase {
    /// A clock the test moves by hand.
    final class FakeClock {
        var t = 0.0
        func read() -> Double { t }
    }

    func testPhasesAddUpAndMeasureRestoresThePhase() throws {
        let clock = FakeClock()
        clock.t = 10
        let timings = RunTimings(processStart: 7, now: clock.read)
        XCTAssertEqual(timings.phase, .startUp)
        clock.t = 10.5                                  // 3.5 s of start-up since the process started at 7
        let loaded: Int = timings.measure(.dataLoad) {
            clock.t = 11.75                             // 1.25 s of data load
            return 42
        }
        XCTAssertEqual(loaded, 42)
        XCTAssertEqual(timings.phase, .startUp, "measure returns to the phase it found")
        XCTAssertEqual(timings.enter(.training), .startUp)
        clock.t = 15                                    // 3.25 s of training, then a nested evaluation and write
        timings.measure(.evaluation) {
            clock.t = 16
            timings.measure(.writing) { clock.t = 16.5 }
            XCTAssertEqual(timings.phase, .evaluation)
            clock.t = 17
        }
        XCTAssertThrowsError(try timings.measure(.writing) { () throws -> Void in
            clock.t = 17.25
            throw CocoaError(.fileWriteUnknown)
        })
        XCTAssertEqual(timings.phase, .training, "a throwing body restores the phase too")
        clock.t = 18                                    // 0.75 s more training, still running
        let seconds = Dictionary(uniqueKeysWithValues: timings.seconds.map { ($0.phase, $0.seconds) })
        XCTAssertEqual(timings.seconds.map(\.phase), RunTimings.Phase.allCases)
        XCTAssertEqual(seconds[.startUp]!, 3.5, accuracy: 1e-12)
        XCTAssertEqual(seconds[.dataLoad]!, 1.25, accuracy: 1e-12)
        XCTAssertEqual(seconds[.training]!, 3.25 + 0.75, accuracy: 1e-12)
        XCTAssertEqual(seconds[.evaluation]!, 1.5, accuracy: 1e-12)
        XCTAssertEqual(seconds[.writing]!, 0.5 + 0.25, accuracy: 1e-12)
        XCTAssertEqual(timings.total, 11, accuracy: 1e-12)
        XCTAssertEqual(timings.seconds.reduce(0) { $0 + $1.seconds }, timings.total, accuracy: 1e-12, "the phases add up")

        let report = timings.report.split(separator: "\n").map(String.init)
        XCTAssertEqual(report.count, 7, report.joined(separator: "\n"))
        XCTAssertEqual(report[1], "  start-up      3.500 s  31.8%")
        XCTAssertEqual(report[6], "  total        11.000 s")
        XCTAssertEqual(timings.json, #"{"timings":{"start_up":3.500,"data_load":1.250,"training":4.000,"evaluation":1.500,"writing":0.750,"total":11.000}}"#)
    }

    func testProcessStartIsReadFromTheSystem() throws {
        let timings = RunTimings()
        let now = RunTimings.clock()
        // This test process started before now, and (on Linux, from /proc/self/stat) not in the future.
        XCTAssertLessThanOrEqual(timings.processStart, now)
        #if os(Linux)
        XCTAssertLessThan(timings.processStart, now - 0.001, "the start is the process's, not this object's")
        XCTAssertGreaterThan(timings.processStart, now - 24 * 3600)
        #endif
        XCTAssertGreaterThanOrEqual(timings.seconds.first { $0.phase == .startUp }!.seconds, 0)
    }

    func testARunFillsEveryPhase() throws {
        let data = try TemporaryDirectory("RunTimingsTests-data"), out = try TemporaryDirectory("RunTimingsTests-run")
        try writeDataset(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 100, seed: 2), to: data.path)
        var c = TrainingConfiguration()
        c.data = data.path
        c.out = out.path + "/run"
        c.arch = "conv4k3-relu-pool2-fc10"
        c.epochs = 2
        c.batchSize = 32
        c.threads = 1
        let trainer = try Trainer(configuration: c)
        XCTAssertEqual(trainer.timings.phase, .startUp, "after loading, start-up again until the first step")
        _ = try trainer.run()
        XCTAssertEqual(trainer.timings.phase, .writing, "after the loop, writing (the final model) until the end")
        let t = trainer.timings.seconds
        for (phase, seconds) in t {
            XCTAssertGreaterThan(seconds, 0, "\(phase.rawValue) took some time")
        }
        XCTAssertEqual(t.reduce(0) { $0 + $1.seconds }, trainer.timings.total, accuracy: 1e-3)
    }
}
