//  Parallel.swift
//
//  Splitting loops across threads for the fast kernels.

import Dispatch
import RealModule

/// The number of threads the fast kernels use, set once from `--threads` before training.
public enum Parallel {
    /// Threads for `forEach` and for BLAS. Set through `setThreads`.
    public nonisolated(unsafe) private(set) static var threads = 1

    /// Uses `count` threads in the kernels. BLAS itself is kept single-threaded: the kernels split their
    /// work across threads and call sgemm from each, which keeps every product's operands in cache.
    public static func setThreads(_ count: Int) {
        threads = max(1, count)
        BLAS.setThreads(1)
    }

    /// Runs `body(i)` for i in 0..<count, split into contiguous chunks over `threads` threads.
    ///
    /// Each index is visited exactly once; bodies must write disjoint memory. With one thread, or fewer
    /// than two items, it runs inline.
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let start = count * w / workers, end = count * (w + 1) / workers
                for i in start..<end { body(i) }
            }
        }
    }

    /// Splits 0..<count into `threads` contiguous ranges and runs `body(t, range)` for each, concurrently.
    ///
    /// Thread t always gets the same range for the same count and thread number, so per-thread partial
    /// results combined in t order are reproducible.
    @inlinable
    public static func forEachChunk(_ count: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { t in
                body(t, (count * t / workers)..<(count * (t + 1) / workers))
            }
        }
    }
}
