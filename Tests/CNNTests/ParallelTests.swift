//  ParallelTests.swift
//
//  Parallel's regions: every index visited exactly once and chunk t is count·t/k ..< count·(t + 1)/k for every
//  thread count; a body that itself starts a region, and two threads starting regions at once, still visit
//  everything once; many short regions in a row (the pool's workers spinning, sleeping and waking) lose nothing;
//  background items run exactly once, between regions or in `finish`.

import CNN
import Dispatch
import XCTest

final class ParallelTests: XCTestCase {
    override func tearDown() {
        Parallel.setThreads(1)
        super.tearDown()
    }

    func testEveryIndexOnceAndTheChunksOfTheFormula() {
        for threads in 1...5 {
            Parallel.setThreads(threads)
            for count in [0, 1, 2, 3, 5, 7, 64, 1001] {
                var visits = [Int](repeating: 0, count: count)
                visits.withUnsafeMutableBufferPointer { v in Parallel.forEach(count) { v[$0] += 1 } }
                XCTAssertEqual(visits, [Int](repeating: 1, count: count), "forEach, \(threads) threads, count \(count)")

                let k = max(1, min(threads, count))
                var ranges = [Range<Int>?](repeating: nil, count: k)
                ranges.withUnsafeMutableBufferPointer { r in
                    Parallel.forEachChunk(count, threads: threads) { t, range in r[t] = range }
                }
                let expected = (0..<k).map { t in (count * t / k)..<(count * (t + 1) / k) }
                XCTAssertEqual(ranges.compactMap { $0 }, expected, "forEachChunk, \(threads) threads, count \(count)")
            }
        }
    }

    func testARegionInsideARegionVisitsEverythingOnce() {
        for threads in [2, 3] {
            Parallel.setThreads(threads)
            var out = [Int](repeating: 0, count: 9 * 100)
            out.withUnsafeMutableBufferPointer { o in
                Parallel.forEach(9) { i in
                    Parallel.forEach(100) { j in o[i * 100 + j] += i * j + 1 }
                    Parallel.forEachChunk(100, threads: threads) { _, range in
                        for j in range { o[i * 100 + j] += 1 }
                    }
                }
            }
            XCTAssertEqual(out, (0..<900).map { ($0 / 100) * ($0 % 100) + 2 }, "\(threads) threads")
        }
    }

    func testTwoCallingThreadsAtOnce() {
        Parallel.setThreads(2)
        let rounds = 300, count = 257
        var results = [[Int]](repeating: [], count: 2)
        results.withUnsafeMutableBufferPointer { res in
            DispatchQueue.concurrentPerform(iterations: 2) { caller in
                var sums = [Int](repeating: 0, count: count)
                for round in 0..<rounds {
                    sums.withUnsafeMutableBufferPointer { s in Parallel.forEach(count) { s[$0] += round + caller } }
                }
                res[caller] = sums
            }
        }
        for caller in 0..<2 {
            let each = (0..<rounds).reduce(0) { $0 + $1 + caller }
            XCTAssertEqual(results[caller], [Int](repeating: each, count: count), "caller \(caller)")
        }
    }

    /// Short regions back to back, with pauses long enough for the workers to go to sleep between some of them.
    func testManyShortRegions() {
        Parallel.setThreads(2)
        var total = [Int](repeating: 0, count: 2)
        for region in 0..<20_000 {
            if region % 2_000 == 0 { usleep(2_000) }
            total.withUnsafeMutableBufferPointer { t in
                Parallel.forEachChunk(2, threads: 2) { c, range in t[c] += range.count * (region % 7) }
            }
        }
        let expected = (0..<20_000).reduce(0) { $0 + $1 % 7 }
        XCTAssertEqual(total, [expected, expected])
    }

    func testBackgroundItemsRunOnceBetweenRegions() {
        Parallel.setThreads(1)
        XCTAssertNil(BackgroundWork(count: 4) { _ in }, "one thread: no pool to run them")
        Parallel.setThreads(2)
        for count in [0, 1, 5, 300] {
            var runs = [Int](repeating: 0, count: count)
            runs.withUnsafeMutableBufferPointer { r in
                let base = r.baseAddress!
                guard let work = BackgroundWork(count: count, { base[$0] += 1 }) else { return XCTFail("not started") }
                XCTAssertNil(BackgroundWork(count: 1) { _ in }, "a second set while the first is unfinished")
                var sums = [Int](repeating: 0, count: 64)
                sums.withUnsafeMutableBufferPointer { s in
                    for _ in 0..<20 { Parallel.forEach(64) { s[$0] += $0 } }
                }
                XCTAssertEqual(sums, (0..<64).map { 20 * $0 })
                work.finish()
                work.finish()
            }
            XCTAssertEqual(runs, [Int](repeating: 1, count: count), "count \(count)")
        }
        // After the workers have gone to sleep, new items still run.
        usleep(5_000)
        var late = [Int](repeating: 0, count: 50)
        late.withUnsafeMutableBufferPointer { r in
            let base = r.baseAddress!
            let work = BackgroundWork(count: 50) { base[$0] += $0 }
            XCTAssertNotNil(work)
            work?.finish()
        }
        XCTAssertEqual(late, Array(0..<50))
    }
}
