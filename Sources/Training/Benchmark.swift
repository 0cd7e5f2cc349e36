//  Benchmark.swift
//
//  Training and evaluation throughput on real batches, and the useful floating-point work behind it.
//
//  Counting rule (per image): a convolution's forward pass is 2·F·Ho·Wo·C·HH·WW FLOPs, a linear layer's
//  2·D·M (one multiply and one add per weight use). A training step counts three times that: the forward
//  product and the two backward products (dInput and dWeight). Bias, activation, pooling, batch norm and
//  the loss are not counted; they are memory-bound and small.

import CNN
import Foundation
import IDX
#if canImport(Glibc)
import Glibc
#endif

/// One benchmark's figures.
public struct BenchmarkResult {
    public var arch: String
    public var batchSize: Int
    public var threads: Int
    public var steps: Int
    public var trainImagesPerSecond: Double
    public var evalImagesPerSecond: Double
    /// Useful training FLOPs per second (see the counting rule above), in units of 10⁹.
    public var gflops: Double
    public var peakRSSMegabytes: Double
    /// Per execution step (a layer, or one with its fused ReLU and pooling): (description, the convolution's
    /// plan or "", forward ms per step, backward ms per step); empty unless asked for.
    public var layers: [(name: String, plan: String, forward: Double, backward: Double)]
    /// sgemm on large square matrices with the same threads, in GFLOP/s, measured after the rest (so that its
    /// matrices count in no peak memory); nil unless asked for.
    public var sgemmGFLOPS: Double? = nil
    /// With augmentation: training images per second with the warped batches, timed in blocks of 10 steps
    /// alternating with the plain ones (whose rate is then `trainImagesPerSecond`), so both see the same machine.
    public var augmentedTrainImagesPerSecond: Double? = nil

    /// The one-line JSON summary (keys sorted; rates to 0.1, GFLOP/s to 0.01, the augmented ratio to 0.001;
    /// the sgemm and augmentation fields only when measured).
    public var json: String {
        ArchitectureJSON.text(Summary(self))
    }

    private struct Summary: Encodable {
        let arch: String
        let batchSize, threads, steps: Int
        let trainImagesPerSecond, evalImagesPerSecond, gflops, peakRssMb: Double
        let sgemmGflops, augmentedTrainImagesPerSecond, augmentedRatio: Double?

        init(_ r: BenchmarkResult) {
            func rounded(_ x: Double, _ places: Double) -> Double { (x * places).rounded() / places }
            (arch, batchSize, threads, steps) = (r.arch, r.batchSize, r.threads, r.steps)
            trainImagesPerSecond = rounded(r.trainImagesPerSecond, 10)
            evalImagesPerSecond = rounded(r.evalImagesPerSecond, 10)
            gflops = rounded(r.gflops, 100)
            peakRssMb = rounded(r.peakRSSMegabytes, 10)
            sgemmGflops = r.sgemmGFLOPS.map { rounded($0, 100) }
            augmentedTrainImagesPerSecond = r.augmentedTrainImagesPerSecond.map { rounded($0, 10) }
            augmentedRatio = r.augmentedTrainImagesPerSecond.map { rounded($0 / r.trainImagesPerSecond, 1000) }
        }

        enum CodingKeys: String, CodingKey {
            case arch, threads, steps, gflops
            case batchSize = "batch_size", trainImagesPerSecond = "train_images_per_second"
            case evalImagesPerSecond = "eval_images_per_second", peakRssMb = "peak_rss_mb", sgemmGflops = "sgemm_gflops"
            case augmentedTrainImagesPerSecond = "augmented_train_images_per_second", augmentedRatio = "augmented_ratio"
        }
    }
}

public enum Benchmark {
    /// Forward FLOPs per image of a network on `input` (see the counting rule at the top of this file).
    public static func forwardFLOPs(_ specs: [LayerSpec], input: InputDescriptor) -> Double {
        var shape = [1, input.channels, input.height, input.width]
        var flops = 0.0
        for spec in specs {
            guard let next = spec.outputShape(for: shape) else { break }
            switch spec {
            case let .conv2d(c, f, k, _, _):
                flops += 2 * Double(f * next[2] * next[3]) * Double(c * k * k)
            case let .linear(d, m):
                flops += 2 * Double(d * m)
            default: break
            }
            shape = next
        }
        return flops
    }

    /// Trains `steps` timed steps (after `warmup`) of SGD with momentum on consecutive real batches, then
    /// evaluates the whole test set at batch 1000.
    public static func run(arch: String, data: String, batchSize: Int, threads: Int, steps: Int, warmup: Int = 20,
                           perLayer: Bool = false, augmentation: Augmentation = Augmentation()) throws -> BenchmarkResult {
        Parallel.setThreads(threads)
        let source = DataSource(directory: data)
        let train = try source.load(.train), test = try source.load(.test)
        let specs = try Architecture.resolve(arch, input: train.input)
        var generator = RandomGenerator(seed: 0)
        let network = Sequential(specs: specs, generator: &generator)
        network.needsInputGradient = false
        let sgd = SGD(parameters: network.parameters, learningRate: 0.01, momentum: 0.9)
        let loss = SoftmaxCrossEntropy()
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        var forwardTimes = [Double](repeating: 0, count: network.steps.count)
        var backwardTimes = forwardTimes

        let pipeline = augmentation.isIdentity ? nil : BatchPipeline(dataset: train, augmentation: augmentation, seed: 0)
        let order = Array(0..<train.count)
        func step(_ i: Int, timed: Bool, augmented: Bool = false) {
            let start = (i * batchSize) % max(1, train.count - batchSize)
            if augmented, let p = pipeline {
                p.batch(epoch: 1, order: order, start: start, count: batchSize, into: &x, labels: &y)
            } else {
                train.batch(start..<(start + batchSize), into: &x, labels: &y)
            }
            if perLayer && timed {
                var h = x
                let layouts = network.trainingLayouts(forInput: x.shape)
                for l in network.steps.indices {
                    let t = DispatchTime.now().uptimeNanoseconds
                    h = network.forward(step: l, h, mode: .training, layout: layouts[l])
                    forwardTimes[l] += Double(DispatchTime.now().uptimeNanoseconds - t)
                }
                var d = loss(logits: h, labels: y).dLogits
                for l in network.steps.indices.reversed() {
                    let t = DispatchTime.now().uptimeNanoseconds
                    d = network.backward(step: l, d)
                    backwardTimes[l] += Double(DispatchTime.now().uptimeNanoseconds - t)
                }
            } else {
                let r = loss(logits: network.forward(x, mode: .training), labels: y)
                network.backward(r.dLogits)
            }
            sgd.step()
        }

        for i in 0..<warmup { step(i, timed: false, augmented: pipeline != nil && i % 2 == 1) }
        var trainSeconds = 0.0, augmentedSeconds = 0.0
        var i = warmup, done = 0
        while done < steps {
            let block = min(10, steps - done)
            for augmented in pipeline == nil ? [false] : [false, true] {
                let t0 = DispatchTime.now().uptimeNanoseconds
                for k in 0..<block { step(i + k, timed: true, augmented: augmented) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if augmented { augmentedSeconds += seconds } else { trainSeconds += seconds }
            }
            i += block
            done += block
        }
        let trainIPS = Double(steps * batchSize) / trainSeconds

        let evalBatch = min(1000, test.count)
        test.batch(0..<evalBatch, into: &x, labels: &y)
        _ = network.forward(x, mode: .evaluation)
        let t1 = DispatchTime.now().uptimeNanoseconds
        var start = 0
        while start < test.count {
            let end = min(test.count, start + evalBatch)
            test.batch(start..<end, into: &x, labels: &y)
            _ = network.forward(x, mode: .evaluation)
            start = end
        }
        let evalIPS = Double(test.count) / (Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9)

        let layers = perLayer
            ? zip(network.steps, zip(forwardTimes, backwardTimes)).map { step, t in
                (step.description, (network.layers[step.layers.lowerBound] as? Conv2D)?.plan?.description ?? "",
                 t.0 / Double(steps) / 1e6, t.1 / Double(steps) / 1e6) }
            : []
        var result = BenchmarkResult(arch: arch, batchSize: batchSize, threads: threads, steps: steps,
                                     trainImagesPerSecond: trainIPS, evalImagesPerSecond: evalIPS,
                                     gflops: 3 * forwardFLOPs(specs, input: train.input) * trainIPS / 1e9,
                                     peakRSSMegabytes: peakRSSMegabytes(), layers: layers)
        if pipeline != nil { result.augmentedTrainImagesPerSecond = Double(steps * batchSize) / augmentedSeconds }
        return result
    }

    /// The machine's sgemm speed at this moment: the best of `repeats` products of two n×n matrices, with BLAS
    /// on `threads` threads (set back to one after). The reference for "useful GFLOP/s as a share of the
    /// peak", measured in the same run as the network, since this machine's speed drifts.
    public static func sgemmPeak(threads: Int, size n: Int = 2048, repeats: Int = 5) -> Double {
        BLAS.setThreads(threads)
        defer { BLAS.setThreads(1) }
        let a = (0..<(n * n)).map { Float($0 % 17) / 17 - 0.5 }
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        a.withUnsafeBufferPointer { ap in
            c.withUnsafeMutableBufferPointer { cp in
                for _ in 0..<repeats {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    BLAS.sgemm(transposeA: false, transposeB: false, m: n, n: n, k: n, a: ap.baseAddress!, lda: n,
                               b: ap.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
            }
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }

    /// The process's peak resident set size so far.
    public static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_maxrss) / 1024   // kilobytes on Linux
    }
}
