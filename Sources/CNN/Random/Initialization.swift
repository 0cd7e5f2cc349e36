//  Initialization.swift
//
//  Weight initialisation. fan_in = C·HH·WW for a convolution, D for a linear layer.
//    PyTorch default (Kaiming-uniform with a = √5):  w ~ U(−b, b), b = gain·√(3 / fan_in),
//        gain = √(2 / (1 + a²)) = √(1/3), so b = 1/√fan_in;   bias ~ U(−1/√fan_in, 1/√fan_in)
//    He-normal:  w ~ N(0, 2 / fan_in),  bias = 0

import RealModule

/// How a layer's weight and bias are drawn.
public enum Initialization: String, CaseIterable, Sendable {
    /// PyTorch's default for `nn.Conv2d` and `nn.Linear`.
    case pytorchDefault = "pytorch"
    /// He et al. (2015), normal, for ReLU networks.
    case heNormal = "he"

    /// Fills `weight` then `bias`, in row-major order, from `generator`.
    public func initialize(weight: Parameter, bias: Parameter, fanIn: Int, generator: inout RandomGenerator) {
        let n = Float(fanIn)
        switch self {
        case .pytorchDefault:
            let bound = 1 / n.squareRoot()
            for i in 0..<weight.value.count { weight.value.scalars[i] = generator.nextUniform(-bound, bound) }
            for i in 0..<bias.value.count { bias.value.scalars[i] = generator.nextUniform(-bound, bound) }
        case .heNormal:
            let std = (2 / n).squareRoot()
            for i in 0..<weight.value.count { weight.value.scalars[i] = std * generator.nextNormal() }
            bias.value.zero()
        }
    }
}
