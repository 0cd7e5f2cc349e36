//  SpecPropertyTests.swift
//
//  A property of the spec grammar: every spec either trains a step or is refused with one line, and none
//  traps. Random specs cover every token kind (conv with strides and paddings, relu, pool/maxpool and
//  avgpool with strides, bn, drop, flatten, fc) and the motifs that fuse (conv–relu, conv–relu–pool,
//  conv–bn–relu–pool, bn–relu), on 14×14 images in batches of 1, 7 and 64 and 28×28 ones in batches of 1
//  and 7, on one and two threads.
//  A spec that trains is run fused and unfused (`Sequential(layers, fusing: false)`, the same seed): one
//  training step's logits, input gradient and parameter gradients, and an evaluation forward, agree within
//  the fast path's documented tolerance (|a − b| ≤ 1e-5·max(1, max |b|) + 1e-4·|b|, Tests/CNNTests/
//  BackendComparison.swift; bitwise except where the direct convolution adds in another order).
//
//  Seeded, so a failure repeats: SPEC_FUZZ_SEED (default 15) and SPEC_FUZZ_COUNT (default 300) choose the
//  specs; scripts/spec-fuzz.sh runs many more. A failing spec is printed with its image size, batch and threads.

import CNN
import Foundation
import TestSupport
import Training
import XCTest

final class SpecPropertyTests: XCTestCase {
    private static let environment = ProcessInfo.processInfo.environment
    private static let count = environment["SPEC_FUZZ_COUNT"].flatMap(Int.init) ?? 300
    private static let seed = environment["SPEC_FUZZ_SEED"].flatMap(UInt64.init) ?? 15

    /// One random spec; most fit a 28×28 image, many a 14×14 one.
    static func randomSpec(_ g: inout RandomGenerator) -> String {
        func pick<T>(_ options: [T]) -> T { options[Int(g.next() % UInt64(options.count))] }
        func chance(_ p: Float) -> Bool { g.nextUniform() < p }
        func conv() -> String {
            let k = pick([1, 2, 3, 3, 3, 5]), f = pick([1, 2, 3, 4, 8, 16, 16])
            var token = "conv\(f)k\(k)"
            if chance(0.2) { token += "s\(pick([1, 2, 3]))" }
            if chance(0.4) { token += "p\(Int(g.next() % UInt64(k + 1)))" }
            return token
        }
        func pool() -> String {
            let k = pick([2, 2, 2, 3])
            let name = chance(0.15) ? "avgpool" : pick(["pool", "maxpool"])
            return name + "\(k)" + (chance(0.25) ? "s\(pick([1, 2, 3]))" : "")
        }
        var tokens: [String] = []
        for _ in 0..<(1 + Int(g.next() % 3)) {
            switch g.next() % 9 {
            case 0: tokens += [conv()]
            case 1: tokens += [conv(), "relu"]
            case 2, 3: tokens += [conv(), "relu", pool()]
            case 4, 5: tokens += [conv(), "bn", "relu", pool()]
            case 6: tokens += [conv(), "bn", "relu"]
            case 7: tokens += ["bn", "relu", pool()]
            default: tokens += [pick(["relu", pool(), "bn", "drop0.25"])]
            }
        }
        if chance(0.3) { tokens.append("flatten") }
        if chance(0.4) { tokens += ["fc\(pick([8, 16, 32]))", "relu"] + (chance(0.3) ? ["drop0.5"] : []) }
        tokens.append("fc10")
        return tokens.joined(separator: "-")
    }

    func testRandomSpecsTrainOrAreRefusedWithOneLine() throws {
        var g = RandomGenerator(seed: Self.seed)
        var trained = 0, refused = 0
        var fusedKinds: Set<String> = []
        let loss = SoftmaxCrossEntropy()
        defer { Parallel.setThreads(1) }
        for i in 0..<Self.count {
            let spec = Self.randomSpec(&g)
            let size = g.next() % 2 == 0 ? 14 : 28
            // Batches of 64 on 14×14 images only, which keeps the run to seconds.
            let batch = size == 14 ? [1, 7, 64][Int(g.next() % 3)] : [1, 7][Int(g.next() % 2)]
            let threads = 1 + Int(g.next() % 2)
            let label = "spec \(i) '\(spec)' on \(size)×\(size), batch \(batch), \(threads) thread(s)"
            let input = InputDescriptor(height: size, width: size)
            let specs: [LayerSpec]
            do {
                specs = try Architecture.resolve(spec, input: input)
                try Architecture.checkTrainable(specs, input: input, examples: batch, batchSize: batch)
            } catch let error as ArchitectureError {
                let message = error.errorDescription ?? ""
                XCTAssertFalse(message.isEmpty || message.contains("\n"), "\(label): refused with '\(message)'")
                refused += 1
                continue
            }
            Parallel.setThreads(threads)
            var g1 = RandomGenerator(seed: UInt64(i)), g2 = RandomGenerator(seed: UInt64(i))
            let fused = Sequential(specs: specs, generator: &g1)
            let separate = Sequential(Sequential(specs: specs, generator: &g2).layers, fusing: false)
            for step in fused.steps where step.epilogue != nil { fusedKinds.insert(step.description.components(separatedBy: "(").first! + (step.epilogue?.pool == nil ? "+relu" : "+relu+pool")) }
            var data = RandomGenerator(seed: UInt64(i) &+ 1000)
            let x = Tensor<Float>(shape: [batch, 1, size, size], scalars: (0..<(batch * size * size)).map { _ in data.nextNormal() })
            let labels = (0..<batch).map { $0 % 10 }
            let y1 = fused.forward(x, mode: .training), y2 = separate.forward(x, mode: .training)
            XCTAssertEqual(y1.shape, [batch, 10], label)
            agree(y1, y2, "\(label): logits")
            let d1 = fused.backward(loss(logits: y1, labels: labels).dLogits)
            let d2 = separate.backward(loss(logits: y2, labels: labels).dLogits)
            agree(d1, d2, "\(label): input gradient")
            for (p, q) in zip(fused.parameters, separate.parameters) { agree(p.gradient, q.gradient, "\(label): gradient") }
            agree(fused.forward(x, mode: .evaluation), separate.forward(x, mode: .evaluation), "\(label): evaluation")
            trained += 1
        }
        print("  \(Self.count) specs (seed \(Self.seed)): \(trained) trained, \(refused) refused; fused steps seen: \(fusedKinds.sorted())")
        XCTAssertGreaterThan(trained, Self.count / 4, "most specs should train")
        XCTAssertGreaterThan(refused, 0, "some specs should be refused")
        if Self.count >= 100 {
            XCTAssertEqual(fusedKinds, ["conv2d+relu", "conv2d+relu+pool", "batchnorm2d+relu", "batchnorm2d+relu+pool"])
        }
    }

    /// The fast path's tolerance (see the file header), shapes first.
    private func agree(_ a: Tensor<Float>, _ b: Tensor<Float>, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let scale = max(1, b.scalars.lazy.map { abs($0) }.max() ?? 0)
        assertClose(a, b, rtol: 1e-4, atol: 1e-5 * scale, what, file: file, line: line)
    }
}
