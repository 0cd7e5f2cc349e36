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
