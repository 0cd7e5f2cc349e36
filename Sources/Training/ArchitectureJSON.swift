//  ArchitectureJSON.swift
//
//  The "architecture" and "input" metadata of a checkpoint: one JSON object per layer, with PyTorch's
//  constructor argument names, e.g. {"type":"conv2d","in_channels":1,"out_channels":32,"kernel_size":5,
//  "stride":1,"padding":2}. Written by hand so the bytes are stable; read with JSONSerialization.

import CNN
import Foundation

public enum ArchitectureJSON {
    static func encode(_ specs: [LayerSpec]) -> String {
        "[" + specs.map(encode).joined(separator: ",") + "]"
    }

    public static func encode(_ spec: LayerSpec) -> String {
        let fields: [(String, String)]
        switch spec {
        case let .conv2d(c, f, k, s, p):
            fields = [("in_channels", "\(c)"), ("out_channels", "\(f)"), ("kernel_size", "\(k)"), ("stride", "\(s)"), ("padding", "\(p)")]
        case .relu, .flatten:
            fields = []
        case let .maxPool2d(k, s), let .avgPool2d(k, s):
            fields = [("kernel_size", "\(k)"), ("stride", "\(s)")]
        case let .batchNorm2d(n, eps, m):
            fields = [("num_features", "\(n)"), ("eps", "\(eps)"), ("momentum", "\(m)")]
        case let .dropout(p):
            fields = [("p", "\(p)")]
        case let .linear(d, m):
            fields = [("in_features", "\(d)"), ("out_features", "\(m)")]
        }
        return "{" + ([("type", "\"\(spec.typeName)\"")] + fields).map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func encode(_ input: InputDescriptor) -> String {
        "{\"channels\":\(input.channels),\"height\":\(input.height),\"width\":\(input.width),\"mean\":\(input.mean),\"std\":\(input.std)}"
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
