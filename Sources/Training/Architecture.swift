//  Architecture.swift
//
//  Named presets and the spec syntax for everything else.
//
//  Spec syntax: layers joined by "-", e.g. "conv32k5p2-relu-pool2-fc100-relu-fc10".
//    conv<F>k<K>[s<S>][p<P>]   Conv2d with F filters of K×K, stride S (default 1), padding P (default 0)
//    relu                      ReLU
//    pool<K>[s<S>]             MaxPool2d, kernel K, stride S (default K); also maxpool<K>[s<S>]
//    avgpool<K>[s<S>]          AvgPool2d
//    bn                        BatchNorm2d over the current channels (eps 1e-5, momentum 0.1)
//    drop<P>                   Dropout with probability P, e.g. drop0.5
//    flatten                   Flatten; inserted automatically before the first fc
//    fc<M>                     Linear with M outputs; its input size comes from the previous layer
//  Channel counts and the first fc's input size are worked out from the data's image size.

import CNN
import Foundation

/// The shape and normalisation of one input image.
public struct InputDescriptor: Equatable, Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// Pixels are scaled to [0, 1], then normalised as (x − mean) / std.
    public var mean: Double
    public var std: Double

    public init(channels: Int = 1, height: Int = 28, width: Int = 28, mean: Double = 0.1307, std: Double = 0.3081) {
        self.channels = channels; self.height = height; self.width = width; self.mean = mean; self.std = std
    }
}

/// Network descriptions: presets and the spec language.
public enum Architecture {
    /// The presets, by name: cs231n, lenet5 and pytorch-example are the PyTorch benchmark script's nets; speedrun and
    /// record are the recipes' nets.
    public static let presets: [(name: String, spec: String, summary: String)] = [
        ("default", "conv16k5-bn-relu-pool2-conv32k5-bn-relu-pool2-fc100-relu-fc10",
         "two conv-bn-relu-pool blocks and a two-layer classifier; the no-flag run"),
        ("cs231n", "conv32k7p3-relu-pool2-flatten-fc100-relu-fc10",
         "the CS231n three-layer convnet"),
        ("lenet5", "conv6k5p2-relu-pool2-conv16k5-relu-pool2-flatten-fc120-relu-fc84-relu-fc10",
         "LeCun et al. 1998, with ReLU and max pooling"),
        ("pytorch-example", "conv32k3-relu-conv64k3-relu-pool2-flatten-fc128-relu-fc10",
         "the PyTorch MNIST example without dropout"),
        ("speedrun", "conv8k5-relu-pool2-bn-conv32k5-relu-pool2-bn-fc128-relu-fc10",
         "the speedrun recipes' net: two direct-path convolutions, batch norm after the pooling"),
        ("record", "conv48k3p1-bn-relu-conv48k3p1-bn-relu-pool2-conv96k3p1-bn-relu-conv96k3p1-bn-relu-pool2-conv192k3p1-bn-relu-pool2-fc256-relu-drop0.3-fc10",
         "the record recipe's net: two conv-bn-relu pairs per stage in the first two stages, one in the third, pooling after each stage, a classifier with dropout"),
    ]

    /// The spec string of a preset, or the text itself if it is not a preset name.
    public static func specString(for nameOrSpec: String) -> String {
        presets.first { $0.name == nameOrSpec }?.spec ?? nameOrSpec
    }

    /// The number of classes: what labels are checked against and what a network must end in.
    public static let classes = 10

    /// Resolves a preset name or a spec into layers for `input`, ending in `classes` outputs.
    ///
    /// Throws `ArchitectureError` naming the offending token when the text is malformed, a layer does not fit
    /// the shape it receives, or the network does not end in (N, classes).
    public static func resolve(_ nameOrSpec: String, input: InputDescriptor, classes: Int = Architecture.classes) throws -> [LayerSpec] {
        // Normalise before the preset lookup, so " CS231N " names the preset as "CONV8K3-FC10" is a spec.
        let text = specString(for: nameOrSpec.trimmingCharacters(in: .whitespaces).lowercased())
        guard !text.isEmpty else { throw ArchitectureError.empty }
        var shape = [1, input.channels, input.height, input.width]
        var specs: [LayerSpec] = []

        func append(_ spec: LayerSpec, token: String) throws {
            guard let next = spec.outputShape(for: shape) else {
                throw ArchitectureError.doesNotFit(token: token, shape: Array(shape.dropFirst()))
            }
            specs.append(spec)
            shape = next
        }

        for token in text.split(separator: "-", omittingEmptySubsequences: false).map(String.init) {
            guard let layer = try parse(token: token) else { throw ArchitectureError.unknownToken(token) }
            switch layer {
            case let .conv(f, k, s, p):
                guard shape.count == 4 else { throw ArchitectureError.doesNotFit(token: token, shape: Array(shape.dropFirst())) }
                try append(.conv2d(inChannels: shape[1], outChannels: f,
                                   kernelSize: k, stride: s, padding: p), token: token)
            case .relu: try append(.relu, token: token)
            case let .maxPool(k, s): try append(.maxPool2d(kernelSize: k, stride: s), token: token)
            case let .avgPool(k, s): try append(.avgPool2d(kernelSize: k, stride: s), token: token)
            case .batchNorm:
                guard shape.count == 4 else { throw ArchitectureError.doesNotFit(token: token, shape: Array(shape.dropFirst())) }
                try append(.batchNorm2d(numFeatures: shape[1], eps: 1e-5, momentum: 0.1), token: token)
            case let .dropout(p): try append(.dropout(p: p), token: token)
            case .flatten: try append(.flatten, token: token)
            case let .fc(m):
                if shape.count != 2 { try append(.flatten, token: "flatten") }
                try append(.linear(inFeatures: shape[1], outFeatures: m), token: token)
            }
        }
        guard shape == [1, classes] else {
            throw ArchitectureError.wrongOutput(shape: Array(shape.dropFirst()), classes: classes)
        }
        return specs
    }

    /// Throws `ArchitectureError.cannotTrain` naming the first layer that cannot train on the batches a run of
    /// `examples` images in batches of `batchSize` gives it: full batches and the epoch's last, partial one.
    public static func checkTrainable(_ specs: [LayerSpec], input: InputDescriptor, examples: Int, batchSize: Int) throws {
        var batches = [min(batchSize, examples)]
        if examples > batchSize, examples % batchSize != 0 { batches.append(examples % batchSize) }
        for (k, n) in batches.enumerated() where n > 0 {
            guard let (layer, problem) = Sequential.trainingProblem(specs, input: [n, input.channels, input.height, input.width])
            else { continue }
            throw ArchitectureError.cannotTrain(layer: layer, type: specs[layer].typeName, batch: n, problem: problem,
                                                lastBatchOf: k == 0 ? nil : examples, batchSize: batchSize)
        }
    }

    fileprivate enum Token {
        case conv(Int, Int, Int, Int), relu, maxPool(Int, Int), avgPool(Int, Int), batchNorm
        case dropout(Double), flatten, fc(Int)
    }

    /// One token, or nil if it is not one of the forms above.
    fileprivate static func parse(token: String) throws -> Token? {
        switch token {
        case "relu": return .relu
        case "bn": return .batchNorm
        case "flatten": return .flatten
        default: break
        }
        if let rest = token.dropPrefix("conv") {
            guard let (f, fields) = numberAndFields(rest, allowed: ["k", "s", "p"]), let k = fields["k"] else { return nil }
            let s = fields["s"] ?? 1, p = fields["p"] ?? 0
            guard f > 0, k > 0, s > 0, p >= 0, p <= k else { throw ArchitectureError.badValue(token) }
            return .conv(f, k, s, p)
        }
        for (prefix, isMax) in [("maxpool", true), ("avgpool", false), ("pool", true)] {
            if let rest = token.dropPrefix(prefix) {
                guard let (k, fields) = numberAndFields(rest, allowed: ["s"]) else { return nil }
                let s = fields["s"] ?? k
                guard k > 0, s > 0 else { throw ArchitectureError.badValue(token) }
                return isMax ? .maxPool(k, s) : .avgPool(k, s)
            }
        }
        if let rest = token.dropPrefix("dropout") ?? token.dropPrefix("drop") {
            guard let p = Double(rest) else { return nil }
            guard p >= 0, p < 1 else { throw ArchitectureError.badValue(token) }
            return .dropout(p)
        }
        if let rest = token.dropPrefix("fc") {
            guard let m = Int(rest) else { return nil }
            guard m > 0 else { throw ArchitectureError.badValue(token) }
            return .fc(m)
        }
        return nil
    }

    /// "32k5s1p2" → (32, ["k": 5, "s": 1, "p": 2]); nil if malformed.
    private static func numberAndFields(_ text: Substring, allowed: Set<Character>) -> (Int, [Character: Int])? {
        var fields: [Character: Int] = [:]
        var key: Character? = nil, digits = "", first: Int? = nil
        func flush() -> Bool {
            guard !digits.isEmpty, let v = Int(digits), v < 1_000_000 else { return false }
            if let k = key {
                guard fields[k] == nil else { return false }
                fields[k] = v
            } else {
                first = v
            }
            digits = ""
            return true
        }
        for ch in text {
            if ch.isASCII, ch.isNumber { digits.append(ch); continue }
            guard allowed.contains(ch), flush() else { return nil }
            key = ch
        }
        guard flush(), let number = first else { return nil }
        return (number, fields)
    }
}

/// Why a preset name or spec could not be turned into a network.
public enum ArchitectureError: Error, LocalizedError, Equatable {
    case empty
    case unknownToken(String)
    case badValue(String)
    case doesNotFit(token: String, shape: [Int])
    case wrongOutput(shape: [Int], classes: Int)
    /// A layer fits but cannot train on a batch of `batch` images (`lastBatchOf`: the epoch's last batch, of that
    /// many images in batches of `batchSize`).
    case cannotTrain(layer: Int, type: String, batch: Int, problem: String, lastBatchOf: Int?, batchSize: Int)

    public var errorDescription: String? {
        let presets = Architecture.presets.map(\.name).joined(separator: ", ")
        switch self {
        case .empty:
            return "empty architecture; HINT: give a preset (\(presets)) or a spec such as conv32k5p2-relu-pool2-fc10"
        case let .unknownToken(t):
            let hint = Self.suggestion(for: t).map { "did you mean '\($0)'? " } ?? ""
            return "unknown architecture or layer '\(t)'; HINT: \(hint)presets are \(presets), and spec layers are conv<F>k<K>[s<S>][p<P>], relu, pool<K>[s<S>], avgpool<K>[s<S>], bn, drop<P>, flatten, fc<M>"
        case let .badValue(t):
            return "layer '\(t)' has an impossible value (sizes must be positive, padding at most the kernel, dropout in [0, 1))"
        case let .doesNotFit(t, s):
            let reason = Architecture.fitProblem(token: t, shape: s).map { ": \($0)" } ?? ""
            return "layer '\(t)' cannot take an input of shape \(s.map(String.init).joined(separator: "×"))\(reason)"
        case let .wrongOutput(s, c):
            return "the network ends in shape \(s.map(String.init).joined(separator: "×")), but must end in \(c) class scores; HINT: end it with fc\(c)"
        case let .cannotTrain(layer, type, batch, problem, examples, batchSize):
            let which = examples.map { "the epoch's last batch of \(batch) (\($0) images in batches of \(batchSize))" }
                ?? "a batch of \(batch)"
            return "layer \(layer) (\(type)) cannot train on \(which): \(problem); HINT: choose a --batch-size (or --limit) that gives no such batch"
        }
    }
}

extension ArchitectureError {
    /// The preset or layer token a mistyped `token` probably meant: a preset or keyword close to it, or, when only
    /// its leading letters are wrong (`cnv8k3`), the token with those corrected (`conv8k3`).
    static func suggestion(for token: String) -> String? {
        let words = Architecture.presets.map(\.name) + ["relu", "bn", "flatten"]
        if let word = Suggestion.closest(to: token, among: words) { return word }
        let letters = String(token.prefix { $0.isLetter })
        guard !letters.isEmpty, letters.count < token.count,
              let prefix = Suggestion.closest(to: letters, among: ["conv", "pool", "maxpool", "avgpool", "drop", "fc"]),
              prefix != letters else { return nil }
        return prefix + token.dropFirst(letters.count)
    }
}

extension Architecture {
    /// Why the layer `token` cannot take an input of `shape` (C, H, W or a flat count), in words, when it is
    /// because its window is larger than the (padded) image or because it needs an image and gets a flat vector.
    static func fitProblem(token: String, shape: [Int]) -> String? {
        guard let layer = try? parse(token: token) else { return nil }
        let window: (kernel: Int, padding: Int, name: String)
        switch layer {
        case let .conv(_, k, _, p): window = (k, p, "kernel")
        case let .maxPool(k, _), let .avgPool(k, _): window = (k, 0, "pooling window")
        case .batchNorm:
            return shape.count == 3 ? nil : "batch norm needs channels (C×H×W), and after a fully connected layer the input is flat"
        default: return nil
        }
        guard shape.count == 3 else {
            return "a \(window.name == "kernel" ? "convolution" : "pooling") needs an image (C×H×W), and after a fully connected layer the input is flat"
        }
        let (h, w) = (shape[1] + 2 * window.padding, shape[2] + 2 * window.padding)
        guard window.kernel > min(h, w) else { return nil }
        let padded = window.padding > 0 ? " (\(shape[1])×\(shape[2]) with padding \(window.padding))" : ""
        return "its \(window.kernel)-wide \(window.name) does not fit the \(h)×\(w) input\(padded)"
    }
}

extension String {
    fileprivate func dropPrefix(_ prefix: String) -> Substring? {
        hasPrefix(prefix) ? dropFirst(prefix.count) : nil
    }
}
