//  LayerSpec.swift
//
//  A layer described by PyTorch's constructor arguments. This is what a checkpoint's "architecture" metadata
//  stores, one JSON object per layer, and what `Sequential(specs:)` builds a network from.

import RealModule

/// A layer, described by the arguments PyTorch's constructor takes.
public enum LayerSpec: Equatable, Sendable {
    /// `nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding)`; square kernels.
    case conv2d(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int)
    /// `nn.ReLU()`.
    case relu
    /// `nn.MaxPool2d(kernelSize, stride)`.
    case maxPool2d(kernelSize: Int, stride: Int)
    /// `nn.AvgPool2d(kernelSize, stride)`.
    case avgPool2d(kernelSize: Int, stride: Int)
    /// `nn.BatchNorm2d(numFeatures, eps, momentum)`.
    case batchNorm2d(numFeatures: Int, eps: Double, momentum: Double)
    /// `nn.Dropout(p)`.
    case dropout(p: Double)
    /// `nn.Flatten()`: (N, C, H, W) → (N, C·H·W).
    case flatten
    /// `nn.Linear(inFeatures, outFeatures)`.
    case linear(inFeatures: Int, outFeatures: Int)

    /// The PyTorch module type in lower case, as written in checkpoint metadata.
    public var typeName: String {
        switch self {
        case .conv2d: return "conv2d"
        case .relu: return "relu"
        case .maxPool2d: return "maxpool2d"
        case .avgPool2d: return "avgpool2d"
        case .batchNorm2d: return "batchnorm2d"
        case .dropout: return "dropout"
        case .flatten: return "flatten"
        case .linear: return "linear"
        }
    }
}

extension LayerSpec: CustomStringConvertible {
    /// A short form for tables, e.g. "conv2d(1→6, k5, s1, p2)", "maxpool2d(k2, s2)", "linear(400→120)".
    public var description: String {
        switch self {
        case let .conv2d(c, f, k, s, p): return "conv2d(\(c)→\(f), k\(k), s\(s), p\(p))"
        case .relu: return "relu"
        case let .maxPool2d(k, s): return "maxpool2d(k\(k), s\(s))"
        case let .avgPool2d(k, s): return "avgpool2d(k\(k), s\(s))"
        case let .batchNorm2d(n, _, _): return "batchnorm2d(\(n))"
        case let .dropout(p): return "dropout(\(p))"
        case .flatten: return "flatten"
        case let .linear(d, m): return "linear(\(d)→\(m))"
        }
    }
}
