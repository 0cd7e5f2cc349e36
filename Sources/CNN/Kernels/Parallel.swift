//  Parallel.swift
//
//  Splitting loops across threads for the fast kernels.

import Dispatch
import RealModule

/// The number of threads the fast kernels use, set once from `--threads` before training.
public enum Parallel {
    /// Threads for `forEach` and for BLAS. Set through `setThreads`.
    public nonisolated(unsafe) private(set) static var threads = 1

    /// Uses `count` threads in the kernels and in BLAS.
    public static func setThreads(_ count: Int) {
        threads = max(1, count)
        BLAS.setThreads(threads)
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
}
