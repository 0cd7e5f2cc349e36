//  BenchCommand.swift
//
//  cnn-bench: training and evaluation throughput on real MNIST batches; the last line is one JSON object.

import ArgumentParser
import BuildInfo
import Foundation
import Training

/// `cnn-bench --arch NAME`: images per second, useful GFLOP/s and peak memory.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-bench",
        abstract: "Measure training and evaluation throughput on real MNIST batches.",
        discussion: "Runs a warm-up, then timed steps of forward, backward and SGD with momentum; then evaluates the test set at batch 1000. The last line printed is one JSON object.",
        version: BuildInfo.versionLine(tool: "cnn-bench"))

    @Option(name: .long, help: "A preset name or a layer spec.")
    public var arch = "default"

    @OptionGroup public var dataOptions: DataOptions
    public var data: String { dataOptions.data }

    @OptionGroup public var batchOptions: BatchSizeOptions
    public var batchSize: Int { batchOptions.batchSize ?? 64 }

    @OptionGroup public var threadOptions: ThreadOptions
    public var threads: Int { threadOptions.count }

    @Option(name: .long, help: "Timed steps.")
    public var steps = 200

    @Option(name: .long, help: "Untimed warm-up steps.")
    public var warmup = 20

    @OptionGroup public var augmentationOptions: AugmentationOptions

    @Flag(name: .long, help: "Also print a table of forward and backward time per layer (fused layers as one), with each convolution's algorithm.")
    public var layers = false

    @Flag(name: .long, help: "Also measure sgemm on 2048×2048 matrices with the same threads (sgemm_gflops).")
    public var sgemmPeak = false

    public init() {}

    /// Like ArgumentParser's, but every error is one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-bench") }

    public func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1 (got \(steps))") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0 (got \(warmup))") }
    }

    public func run() throws {
        do {
            var r = try Benchmark.run(arch: arch, data: data, batchSize: batchSize, threads: threads, steps: steps,
                                      warmup: warmup, perLayer: layers, augmentation: augmentationOptions.augmentation())
            if sgemmPeak { r.sgemmGFLOPS = Benchmark.sgemmPeak(threads: threads) }
            if layers {
                func row(_ name: String, _ plan: String) -> String {
                    name.padding(toLength: 60, withPad: " ", startingAt: 0) + plan.padding(toLength: 34, withPad: " ", startingAt: 0)
                }
                print(row("layer", "plan") + "forward ms  backward ms")
                for l in r.layers {
                    print(row(l.name, l.plan) + String(format: "%10.3f  %11.3f", l.forward, l.backward))
                }
                let f = r.layers.reduce(0) { $0 + $1.forward }, b = r.layers.reduce(0) { $0 + $1.backward }
                print(row("total", "") + String(format: "%10.3f  %11.3f", f, b))
            }
            print(r.json)
        } catch {
            throw report(error, command: "cnn-bench")
        }
    }
}
