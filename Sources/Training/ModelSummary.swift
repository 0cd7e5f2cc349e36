//  ModelSummary.swift
//
//  A network layer by layer, as Keras' model.summary() and torchinfo print it: each layer's output shape
//  (per image), its parameter count, its forward FLOPs per image, counted as Benchmark counts useful work
//  (a convolution 2·F·Ho·Wo·C·HH·WW, a linear layer 2·D·M, everything else 0), and for a convolution the
//  algorithm its plan chose (`Conv2D.Plan`, from one training-mode forward pass over a batch of zeros,
//  the batch size given), with the layers a fused step absorbs named; then the totals.

import CNN
import Foundation

/// The rows and totals of a network's summary.
public struct ModelSummary {
    public struct Row {
        public var index: Int
        public var layer: String
        public var outputShape: [Int]
        public var parameters: Int
        public var flops: Double
        /// The convolution's plan, or "fused into layer k" for a layer a fused step absorbs, or "".
        public var algorithm: String
    }

    public var input: InputDescriptor
    public var rows: [Row]
    public var parameters: Int { rows.reduce(0) { $0 + $1.parameters } }
    public var flops: Double { rows.reduce(0) { $0 + $1.flops } }

    /// The summary of `specs` on `input`, its plans as chosen for batches of `batchSize` in training.
    public static func make(_ specs: [LayerSpec], input: InputDescriptor, batchSize: Int) -> ModelSummary {
        var generator = RandomGenerator(seed: 0)
        let network = Sequential(specs: specs, generator: &generator)
        network.needsInputGradient = false
        _ = network.forward(Tensor<Float>(shape: [batchSize, input.channels, input.height, input.width]), mode: .training)
        var absorbedBy: [Int: Int] = [:]
        for step in network.steps where step.layers.count > 1 {
            for i in step.layers.dropFirst() { absorbedBy[i] = step.layers.lowerBound }
        }
        var shape = [1, input.channels, input.height, input.width]
        var rows: [Row] = []
        for (i, spec) in specs.enumerated() {
            let next = spec.outputShape(for: shape) ?? shape
            var flops = 0.0
            switch spec {
            case let .conv2d(c, f, k, _, _): flops = 2 * Double(f * next[2] * next[3]) * Double(c * k * k)
            case let .linear(d, m): flops = 2 * Double(d * m)
            default: break
            }
            var algorithm = (network.layers[i] as? Conv2D)?.plan?.description ?? ""
            if let head = absorbedBy[i] { algorithm = "fused into layer \(head)" }
            rows.append(Row(index: i, layer: spec.description, outputShape: Array(next.dropFirst()),
                            parameters: network.layers[i].parameters.reduce(0) { $0 + $1.value.count },
                            flops: flops, algorithm: algorithm))
            shape = next
        }
        return ModelSummary(input: input, rows: rows)
    }

    /// The table and the totals, as `--summary` prints them.
    public var text: String {
        func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }
        func grouped(_ n: Int) -> String {
            var digits = Array(String(n)), out = ""
            while digits.count > 3 { out = "," + String(digits.suffix(3)) + out; digits.removeLast(3) }
            return String(digits) + out
        }
        let header = ["#", "layer", "output", "parameters", "forward FLOPs", "algorithm"]
        let body = rows.map { [String($0.index), $0.layer, shape($0.outputShape), grouped($0.parameters),
                               grouped(Int($0.flops)), $0.algorithm] }
        let widths = (0..<header.count).map { c in ([header] + body).map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                c == 2 || c == 3 || c == 4 ? String(repeating: " ", count: widths[c] - cell.count) + cell
                    : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var out = ["input: \(input.channels)×\(input.height)×\(input.width)", line(header)]
        out += body.map(line)
        out.append("total: \(grouped(parameters)) parameters (\(grouped(4 * parameters)) bytes as float32), "
                   + "\(grouped(Int(flops))) forward FLOPs per image")
        return out.joined(separator: "\n")
    }
}
