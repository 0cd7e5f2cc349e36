//  ArchitectureJSON.swift
//
//  The "architecture" and "input" metadata of a checkpoint: one JSON object per layer, its "type" and
//  PyTorch's constructor argument names. Written by Foundation's JSONEncoder with sorted keys, so the bytes
//  depend on the values alone, e.g. {"in_channels":1,"kernel_size":5,"out_channels":32,"padding":2,
//  "stride":1,"type":"conv2d"}; read with JSONSerialization.

import CNN
import Foundation

public enum ArchitectureJSON {
    /// `value` as JSON text from `JSONLine`'s encoder (keys sorted, so the bytes depend on the values alone).
    static func text<T: Encodable>(_ value: T) -> String {
        // The values encoded here are integers, numbers (non-finite ones as strings) and strings: encoding
        // cannot fail.
        guard let line = try? JSONLine.text(value) else { preconditionFailure("JSONEncoder failed on \(T.self)") }
        return line
    }

    static func encode(_ specs: [LayerSpec]) -> String {
        text(specs.map(LayerObject.init))
    }

    public static func encode(_ spec: LayerSpec) -> String {
        text(LayerObject(spec))
    }

    static func encode(_ input: InputDescriptor) -> String {
        text(InputObject(input))
    }

    /// One layer's object: "type" and PyTorch's constructor arguments.
    struct LayerObject: Encodable {
        let spec: LayerSpec
        init(_ spec: LayerSpec) { self.spec = spec }

        struct Key: CodingKey {
            let stringValue: String
            init(_ name: String) { stringValue = name }
            init?(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: Encoder) throws {
            var object = encoder.container(keyedBy: Key.self)
            try object.encode(spec.typeName, forKey: Key("type"))
            switch spec {
            case let .conv2d(c, f, k, s, p):
                for (name, value) in [("in_channels", c), ("out_channels", f), ("kernel_size", k), ("stride", s), ("padding", p)] {
                    try object.encode(value, forKey: Key(name))
                }
            case .relu, .flatten:
                break
            case let .maxPool2d(k, s), let .avgPool2d(k, s):
                try object.encode(k, forKey: Key("kernel_size"))
                try object.encode(s, forKey: Key("stride"))
            case let .batchNorm2d(n, eps, m):
                try object.encode(n, forKey: Key("num_features"))
                try object.encode(eps, forKey: Key("eps"))
                try object.encode(m, forKey: Key("momentum"))
            case let .dropout(p):
                try object.encode(p, forKey: Key("p"))
            case let .linear(d, m):
                try object.encode(d, forKey: Key("in_features"))
                try object.encode(m, forKey: Key("out_features"))
            }
        }
    }

    /// The "input" object: the image's channels, height and width, and the normalisation.
    struct InputObject: Encodable {
        let channels, height, width: Int
        let mean, std: Double
        init(_ input: InputDescriptor) {
            (channels, height, width, mean, std) = (input.channels, input.height, input.width, input.mean, input.std)
        }
    }

    /// Parses the architecture array; the error says which layer is malformed.
    static func decodeLayers(_ text: String) throws(ArchitectureJSONError) -> [LayerSpec] {
        guard let data = text.data(using: .utf8),
              let array = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw .notAnArray
        }
        var specs: [LayerSpec] = []
        for (index, element) in array.enumerated() {
            guard let object = element as? [String: Any], let type = object["type"] as? String else {
                throw .badLayer(index, "not an object with a \"type\"")
            }
            func int(_ key: String, min: Int = 1) throws(ArchitectureJSONError) -> Int {
                guard let n = object[key] as? NSNumber,
                      let v = Int(exactly: n.doubleValue), v >= min, v <= 1 << 24 else {
                    throw .badLayer(index, "\(type) needs an integer \"\(key)\" ≥ \(min)")
                }
                return v
            }
            func double(_ key: String, range: ClosedRange<Double>) throws(ArchitectureJSONError) -> Double {
                guard let n = object[key] as? NSNumber, range.contains(n.doubleValue) else {
                    throw .badLayer(index, "\(type) needs a number \"\(key)\" in \(range)")
                }
                return n.doubleValue
            }
            switch type {
            case "conv2d":
                specs.append(.conv2d(inChannels: try int("in_channels"), outChannels: try int("out_channels"),
                                     kernelSize: try int("kernel_size"), stride: try int("stride"), padding: try int("padding", min: 0)))
            case "relu": specs.append(.relu)
            case "flatten": specs.append(.flatten)
            case "maxpool2d": specs.append(.maxPool2d(kernelSize: try int("kernel_size"), stride: try int("stride")))
            case "avgpool2d": specs.append(.avgPool2d(kernelSize: try int("kernel_size"), stride: try int("stride")))
            case "batchnorm2d":
                specs.append(.batchNorm2d(numFeatures: try int("num_features"), eps: try double("eps", range: 0...1),
                                          momentum: try double("momentum", range: 0...1)))
            case "dropout": specs.append(.dropout(p: try double("p", range: 0...0.999_999)))
            case "linear": specs.append(.linear(inFeatures: try int("in_features"), outFeatures: try int("out_features")))
            default: throw .badLayer(index, "unknown layer type \"\(type)\"")
            }
        }
        return specs
    }

    static func decodeInput(_ text: String) throws(ArchitectureJSONError) -> InputDescriptor {
        guard let data = text.data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let c = (object["channels"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
              let h = (object["height"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
              let w = (object["width"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
              let mean = (object["mean"] as? NSNumber)?.doubleValue,
              let std = (object["std"] as? NSNumber)?.doubleValue,
              (1...4096).contains(c), (1...65536).contains(h), (1...65536).contains(w), std > 0, mean.isFinite
        else { throw .badInput }
        return InputDescriptor(channels: c, height: h, width: w, mean: mean, std: std)
    }
}

enum ArchitectureJSONError: Error {
    case notAnArray
    case badLayer(Int, String)
    case badInput

    var reason: String {
        switch self {
        case .notAnArray: return "the \"architecture\" metadata is not a JSON array"
        case let .badLayer(i, why): return "layer \(i) of the \"architecture\" metadata is malformed: \(why)"
        case .badInput: return "the \"input\" metadata is not {\"channels\",\"height\",\"width\",\"mean\",\"std\"} with sane values"
        }
    }
}
