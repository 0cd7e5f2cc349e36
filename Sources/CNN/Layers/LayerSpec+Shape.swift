//  LayerSpec+Shape.swift
//
//  Output shapes, written out once for every layer:
//    conv2d:     (N, C, H, W) → (N, F, 1 + (H + 2P − K) / S, 1 + (W + 2P − K) / S)   (rounded down)
//    pooling:    (N, C, H, W) → (N, C, 1 + (H − K) / S, 1 + (W − K) / S)
//    flatten:    (N, C, H, W) → (N, C·H·W)
//    linear:     (N, D) → (N, M)
//    relu, dropout: unchanged;  batchnorm2d: unchanged, C must match

extension LayerSpec {
    /// The output shape for an input of `s`, or `nil` if that input does not fit this layer.
    public func outputShape(for s: [Int]) -> [Int]? {
        switch self {
        case let .conv2d(c, f, k, stride, p):
            guard s.count == 4, s[1] == c, s[2] + 2 * p >= k, s[3] + 2 * p >= k else { return nil }
            return [s[0], f, (s[2] + 2 * p - k) / stride + 1, (s[3] + 2 * p - k) / stride + 1]
        case let .maxPool2d(k, stride), let .avgPool2d(k, stride):
            guard s.count == 4, s[2] >= k, s[3] >= k else { return nil }
            return [s[0], s[1], (s[2] - k) / stride + 1, (s[3] - k) / stride + 1]
        case let .batchNorm2d(c, _, _):
            return s.count == 4 && s[1] == c ? s : nil
        case .relu, .dropout:
            return s.isEmpty ? nil : s
        case .flatten:
            return s.count >= 2 ? [s[0], s.dropFirst().reduce(1, *)] : nil
        case let .linear(d, m):
            return s.count == 2 && s[1] == d ? [s[0], m] : nil
        }
    }
}

extension LayerSpec {
    /// The checkpoint tensors this layer owns, by PyTorch name, with their shapes (all F32 but
    /// `num_batches_tracked`, an I64 scalar). Lets a reader check a file before allocating anything.
    public var stateShapes: [(name: String, shape: [Int])] {
        switch self {
        case let .conv2d(c, f, k, _, _):
            return [("weight", [f, c, k, k]), ("bias", [f])]
        case let .batchNorm2d(n, _, _):
            return [("weight", [n]), ("bias", [n]), ("running_mean", [n]), ("running_var", [n]), ("num_batches_tracked", [])]
        case let .linear(d, m):
            return [("weight", [m, d]), ("bias", [m])]
        case .relu, .maxPool2d, .avgPool2d, .dropout, .flatten:
            return []
        }
    }
}

extension LayerSpec {
    /// Why this layer cannot train on an input of `s` that it fits, or nil: batch norm needs more than one
    /// value per channel for its batch statistics (PyTorch refuses one too), so a batch of 1 of 1×1 maps fails.
    public func trainingProblem(for s: [Int]) -> String? {
        switch self {
        case .batchNorm2d:
            guard s.count == 4, s[0] * s[2] * s[3] <= 1 else { return nil }
            return "expected more than one value per channel in training, got input \(s.map(String.init).joined(separator: "×"))"
        case .conv2d, .relu, .maxPool2d, .avgPool2d, .dropout, .flatten, .linear:
            return nil
        }
    }
}
