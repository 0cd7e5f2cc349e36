//  Parallel.swift
//
//  Splitting loops across threads for the fast kernels.
//
//  A region splits 0..<count into k = min(threads, count) contiguous chunks, chunk t being
//  count·t/k ..< count·(t + 1)/k. The chunks depend only on count and k, never on which thread runs them.
//  On Linux the chunks run on a persistent pool (`WorkerPool`): the calling thread and the pool's workers
//  claim chunks one at a time, so a worker that is slow to wake only means the caller runs more of them.
//  A region started while another is running (a body that itself calls `forEach`, or a second calling
//  thread) runs its chunks in order on its own thread. Elsewhere the chunks go to
//  DispatchQueue.concurrentPerform.
//  `BackgroundWork` hands the pool's workers items to run while they have no chunk to run (the next
//  training batch's warps); whoever finishes it runs the items no worker has claimed.

import Dispatch
import RealModule
#if os(Linux)
import Glibc
import Synchronization
#endif

/// The number of threads the fast kernels use, set once from `--threads` before training.
public enum Parallel {
    /// Threads for `forEach` and for BLAS. Set through `setThreads`.
    public nonisolated(unsafe) private(set) static var threads = 1

    /// Uses `count` threads in the kernels. BLAS itself is kept single-threaded: the kernels split their
    /// work across threads and call sgemm from each, which keeps every product's operands in cache.
    public static func setThreads(_ count: Int) {
        threads = max(1, count)
        BLAS.setThreads(1)
        #if os(Linux)
        if threads > 1 { WorkerPool.shared.ensureWorkers(threads - 1) }
        #endif
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
        run(chunks: workers) { w in
            let start = count * w / workers, end = count * (w + 1) / workers
            for i in start..<end { body(i) }
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
        run(chunks: workers) { t in
            body(t, (count * t / workers)..<(count * (t + 1) / workers))
        }
    }

    /// Runs `chunk(t)` once for every t in 0..<k, on the pool or in order on this thread; returns when all have run.
    @usableFromInline
    static func run(chunks k: Int, _ chunk: (Int) -> Void) {
        #if os(Linux)
        withoutActuallyEscaping(chunk) { chunk in
            if !WorkerPool.shared.run(chunks: k, chunk) {
                for t in 0..<k { chunk(t) }
            }
        }
        #else
        withoutActuallyEscaping(chunk) { chunk in
            DispatchQueue.concurrentPerform(iterations: k) { t in chunk(t) }
        }
        #endif
    }
}

/// Items 0..<count of `body`, run one at a time by the pool's workers while they have no chunk of a region to
/// run; `finish` runs on the calling thread the items no worker has claimed and waits for the others. Each item
/// runs exactly once, on some thread; bodies must write disjoint memory.
public final class BackgroundWork {
    #if os(Linux)
    private var running = true
    #endif

    /// Starts the items on the pool; nil (nothing started) with one thread, without a pool (not Linux), or while
    /// another `BackgroundWork` is unfinished.
    public init?(count: Int, _ body: @escaping (Int) -> Void) {
        #if os(Linux)
        guard Parallel.threads > 1, WorkerPool.shared.startBackground(count: count, body) else { return nil }
        #else
        return nil
        #endif
    }

    /// Runs the unclaimed items here and returns when every item has run. Later calls do nothing.
    public func finish() {
        #if os(Linux)
        if running { WorkerPool.shared.finishBackground(); running = false }
        #endif
    }

    deinit { finish() }
}

#if os(Linux)
/// Worker threads that stay alive between regions, spinning briefly before they sleep.
///
/// The region being run is one word, `ticket` = generation·2¹⁶ + k·2⁸ + claimed (k ≤ 255 chunks). A thread
/// claims chunk `claimed` by a compare-and-swap of the word to claimed + 1, so each chunk runs exactly once;
/// after running it, the thread adds 1 to `done`, and the caller returns when done = k. The body is read only
/// after a successful claim and the caller clears it only after done = k, so no thread reads a body that is
/// being replaced. A worker finding nothing to claim spins for `spinNanoseconds`, then sleeps
/// on `work`; a caller that sees sleeping workers wakes them after publishing a region. A caller whose
/// claimed chunks are still running elsewhere spins, then sleeps on `finished` until the last one ends.
/// Sleeping and waking follow the same rule both ways: the sleeper registers (sequentially consistent)
/// and then re-reads the condition under the mutex; the waker changes the condition (sequentially
/// consistent) and then reads the registration, taking the mutex to signal.
/// Background items use a second word of the same form, `items` = generation·2⁴⁰ + count·2²⁰ + claimed, with
/// `itemsDone`; a worker with no chunk to claim claims an item instead, and sleeps only when neither is left.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// How long a thread spins on the ticket (or on `done`) before it sleeps, in nanoseconds.
    static let spinNanoseconds: UInt64 = 100_000

    /// A monotonic clock in nanoseconds.
    @inline(__always) private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// A spin of `spinNanoseconds` that reads the clock every 256 calls of `expired`.
    private struct Spin {
        var calls = 0
        var deadline: UInt64 = 0
        @inline(__always) mutating func expired() -> Bool {
            calls &+= 1
            guard calls & 0xFF == 0 else { return false }
            let t = WorkerPool.now()
            if deadline == 0 { deadline = t &+ WorkerPool.spinNanoseconds; return false }
            return t >= deadline
        }
    }

    private let ticket = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let callerWaiting = Atomic<Bool>(false)
    /// True while a region runs on the pool; a region started meanwhile runs on its own thread.
    private let busy = Atomic<Bool>(false)
    private let workerCount = Atomic<Int>(0)
    private let items = Atomic<Int>(0)
    private let itemsDone = Atomic<Int>(0)
    /// True from `startBackground` until `finishBackground` has returned.
    private let itemsBusy = Atomic<Bool>(false)
    /// The background items' body; written before `items` is published, cleared after every item has run.
    private nonisolated(unsafe) var itemBody: ((Int) -> Void)?
    /// The running region's chunk body; written by the caller before it publishes the ticket, cleared after done = k.
    private nonisolated(unsafe) var body: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let work: UnsafeMutablePointer<pthread_cond_t>
    private let finished: UnsafeMutablePointer<pthread_cond_t>

    private init() {
        mutex = .allocate(capacity: 1)
        work = .allocate(capacity: 1)
        finished = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(work, nil)
        pthread_cond_init(finished, nil)
    }

    /// Starts workers until there are at least `n`; they live as long as the process.
    func ensureWorkers(_ n: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while workerCount.load(ordering: .relaxed) < n {
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { pool in
                Unmanaged<WorkerPool>.fromOpaque(pool!).takeUnretainedValue().workerLoop()
                return nil
            }, Unmanaged.passUnretained(self).toOpaque())
            guard started == 0 else { return }  // no more threads: the callers run the chunks themselves
            pthread_detach(thread)
            workerCount.wrappingAdd(1, ordering: .relaxed)
        }
    }

    @inline(__always) private static func chunks(_ t: Int) -> Int { (t >> 8) & 0xFF }
    @inline(__always) private static func claimable(_ t: Int) -> Bool { t & 0xFF < chunks(t) }
    @inline(__always) private static func itemCount(_ w: Int) -> Int { (w >> 20) & 0xF_FFFF }
    @inline(__always) private static func itemLeft(_ w: Int) -> Bool { w & 0xF_FFFF < itemCount(w) }

    /// Publishes items 0..<count of `body` to the workers; false when another set is unfinished or count
    /// does not fit the word.
    func startBackground(count: Int, _ body: @escaping (Int) -> Void) -> Bool {
        guard count < 0xF_FFFF, itemsBusy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        itemBody = body
        itemsDone.store(0, ordering: .relaxed)
        let generation = (items.load(ordering: .relaxed) >> 40) &+ 1
        items.store(generation << 40 | count << 20, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(work)
            pthread_mutex_unlock(mutex)
        }
        return true
    }

    /// Runs the unclaimed background items on this thread, waits for the claimed ones, and clears the body.
    func finishBackground() {
        while runItem() {}
        let count = Self.itemCount(items.load(ordering: .relaxed))
        // A claimed item is running on a worker, which took it only while it had no chunk to run: it ends
        // within one item's time.
        while itemsDone.load(ordering: .acquiring) < count { sched_yield() }
        itemBody = nil
        itemsBusy.store(false, ordering: .releasing)
    }

    /// Claims and runs one background item; false when none is left.
    private func runItem() -> Bool {
        var w = items.load(ordering: .acquiring)
        while Self.itemLeft(w) {
            let (claimed, now) = items.compareExchange(expected: w, desired: w &+ 1, ordering: .acquiring)
            guard claimed else { w = now; continue }
            runItemBody(w & 0xF_FFFF)
            itemsDone.wrappingAdd(1, ordering: .releasing)
            return true
        }
        return false
    }

    /// Runs item `i` of the current background body (not inlined, so its reference ends before the item is counted).
    @inline(never)
    private func runItemBody(_ i: Int) {
        itemBody.unsafelyUnwrapped(i)
    }

    /// Runs `chunk(t)` for t in 0..<k on this thread and the workers; false (nothing run) when another
    /// region is running or k does not fit the ticket.
    func run(chunks k: Int, _ chunk: @escaping (Int) -> Void) -> Bool {
        guard k <= 0xFF, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        body = chunk
        done.store(0, ordering: .relaxed)
        let generation = (ticket.load(ordering: .relaxed) >> 16) &+ 1
        let t = generation << 16 | k << 8
        ticket.store(t, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(work)
            pthread_mutex_unlock(mutex)
        }
        drain(from: t)
        var spin = Spin()
        while done.load(ordering: .acquiring) < k {
            if !spin.expired() { continue }
            pthread_mutex_lock(mutex)
            callerWaiting.store(true, ordering: .sequentiallyConsistent)
            while done.load(ordering: .sequentiallyConsistent) < k { pthread_cond_wait(finished, mutex) }
            callerWaiting.store(false, ordering: .relaxed)
            pthread_mutex_unlock(mutex)
        }
        body = nil
        busy.store(false, ordering: .releasing)
        return true
    }

    /// Claims and runs chunks while the ticket (first read as `t`) has any left.
    private func drain(from first: Int) {
        var t = first
        while Self.claimable(t) {
            let (claimed, now) = ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .acquiring)
            guard claimed else { t = now; continue }
            runChunk(t & 0xFF)
            let k = Self.chunks(t)
            if done.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue == k,
               callerWaiting.load(ordering: .sequentiallyConsistent) {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(finished)
                pthread_mutex_unlock(mutex)
            }
            t = ticket.load(ordering: .acquiring)
        }
    }

    /// Runs chunk `c` of the current body. Not inlined, so the body's reference ends before `done` is counted
    /// (the caller's `withoutActuallyEscaping` checks that no reference outlives the region).
    @inline(never)
    private func runChunk(_ c: Int) {
        body.unsafelyUnwrapped(c)
    }

    private func workerLoop() -> Never {
        while true {
            var t = ticket.load(ordering: .acquiring), spin = Spin()
            while !Self.claimable(t) {
                if runItem() {
                    spin = Spin()
                } else if spin.expired() {
                    break
                }
                t = ticket.load(ordering: .acquiring)
            }
            if !Self.claimable(t) {
                pthread_mutex_lock(mutex)
                sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                t = ticket.load(ordering: .sequentiallyConsistent)
                while !Self.claimable(t) && !Self.itemLeft(items.load(ordering: .sequentiallyConsistent)) {
                    pthread_cond_wait(work, mutex)
                    t = ticket.load(ordering: .sequentiallyConsistent)
                }
                sleepers.wrappingSubtract(1, ordering: .relaxed)
                pthread_mutex_unlock(mutex)
            }
            drain(from: t)
        }
    }
}
#endif
