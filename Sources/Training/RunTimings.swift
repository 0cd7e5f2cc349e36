//  RunTimings.swift
//
//  Where a run's wall time went, for `cnn-train --timings`. The clock starts when the process was started
//  (Linux: /proc/self/stat's start time, in clock ticks since boot, against CLOCK_BOOTTIME; elsewhere: when
//  the first RunTimings was made) and every moment since belongs to exactly one phase, so the phases add
//  up to the total:
//    start-up     exec to the first training step, less the phases below (runtime start, flags, network)
//    data load    reading, inflating and decoding the IDX files
//    training     the steps: batch copy, forward, backward, optimizer
//    evaluation   the test set after each epoch
//    writing      config.json, metrics lines, checkpoints, model.safetensors (waiting for them included)

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall time split into phases; `measure` moves the clock into a phase for the length of a call.
public final class RunTimings {
    public enum Phase: String, CaseIterable, Sendable {
        case startUp = "start-up"
        case dataLoad = "data load"
        case training
        case evaluation
        case writing
    }

    /// Seconds since boot (monotonic, counting suspension) of the process's start.
    public let processStart: Double
    private var spent: [Phase: Double] = [:]
    private var current = Phase.startUp
    private var since: Double
    private let lock = NSLock()

    /// `now` gives seconds on the process-start clock; `processStart` is read from the system when nil.
    public init(processStart: Double? = nil, now: @escaping () -> Double = RunTimings.clock) {
        self.now = now
        let start = processStart ?? RunTimings.processStartTime() ?? now()
        self.processStart = start
        self.since = start
    }

    private let now: () -> Double

    /// The phase the clock is in.
    public var phase: Phase { lock.lock(); defer { lock.unlock() }; return current }

    /// Moves the clock into `phase`; returns the phase it leaves.
    @discardableResult
    public func enter(_ phase: Phase) -> Phase {
        lock.lock(); defer { lock.unlock() }
        let t = now()
        spent[current, default: 0] += t - since
        since = t
        let previous = current
        current = phase
        return previous
    }

    /// Runs `body` with the clock in `phase`, then returns the clock to the phase it was in.
    public func measure<T>(_ phase: Phase, _ body: () throws -> T) rethrows -> T {
        let previous = enter(phase)
        defer { enter(previous) }
        return try body()
    }

    /// Seconds spent in each phase up to now (the current phase's running time included), in `Phase` order.
    public var seconds: [(phase: Phase, seconds: Double)] {
        lock.lock(); defer { lock.unlock() }
        let t = now()
        return Phase.allCases.map { p in (p, (spent[p] ?? 0) + (p == current ? t - since : 0)) }
    }

    /// Seconds from the process's start to now.
    public var total: Double { now() - processStart }

    /// One line per phase (seconds and share of the total), then the total; for `--timings`.
    public var report: String {
        let parts = seconds, sum = total
        var lines = ["timings (wall, exec to this line):"]
        func label(_ name: String) -> String { "  " + name + String(repeating: " ", count: max(1, 12 - name.count)) }
        for (p, s) in parts {
            lines.append(label(p.rawValue) + String(format: "%7.3f s %5.1f%%", s, sum > 0 ? 100 * s / sum : 0))
        }
        lines.append(label("total") + String(format: "%7.3f s", sum))
        return lines.joined(separator: "\n")
    }

    /// The same as one JSON object, seconds with millisecond precision: {"start_up": ..., ..., "total": ...}.
    public var json: String {
        let fields = seconds.map { "\"\($0.phase.rawValue.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_"))\":\(String(format: "%.3f", $0.seconds))" }
        return "{\"timings\":{" + (fields + ["\"total\":" + String(format: "%.3f", total)]).joined(separator: ",") + "}}"
    }

    /// Seconds since boot on a clock comparable with the process start time.
    public static func clock() -> Double {
        var ts = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_BOOTTIME, &ts)
        #else
        clock_gettime(CLOCK_MONOTONIC, &ts)
        #endif
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// When this process started, in seconds since boot: field 22 of /proc/self/stat (clock ticks), which
    /// counts from boot on the same clock as CLOCK_BOOTTIME. Nil where there is no /proc.
    static func processStartTime() -> Double? {
        #if os(Linux)
        guard let bytes = AtomicWrite.contents(of: "/proc/self/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After ')': field 3 is fields[0], so field 22 is fields[19].
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return hz > 0 ? ticks / hz : nil
        #else
        return nil
        #endif
    }
}
