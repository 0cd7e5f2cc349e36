//  BenchmarkTests.swift
//
//  cnn-bench's figures that do not depend on the machine's speed: the JSON line's fields, and the sgemm
//  reference product's arithmetic.

@testable import Training
import XCTest

final class BenchmarkTests: XCTestCase {
    func testJSONCarriesTheSgemmFigureOnlyWhenMeasured() throws {
        var r = BenchmarkResult(arch: "lenet5", batchSize: 64, threads: 2, steps: 10, trainImagesPerSecond: 100,
                                evalImagesPerSecond: 200, gflops: 1.5, peakRSSMegabytes: 250, layers: [])
        XCTAssertFalse(r.json.contains("sgemm_gflops"))
        r.sgemmGFLOPS = 140.25
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.json.utf8)) as? [String: Any])
        XCTAssertEqual(object["sgemm_gflops"] as? Double, 140.25)
        XCTAssertEqual(object["gflops"] as? Double, 1.5)
        XCTAssertEqual(object["arch"] as? String, "lenet5")
    }

    /// A small product still runs and reports a positive, finite speed.
    func testSgemmPeakIsAPositiveSpeed() {
        let g = Benchmark.sgemmPeak(threads: 1, size: 64, repeats: 2)
        XCTAssertTrue(g.isFinite && g > 0, "\(g)")
    }
}
