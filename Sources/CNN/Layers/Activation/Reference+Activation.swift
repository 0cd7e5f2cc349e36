//  Reference+Activation.swift
//
//  Elementwise layers, forward and backward, as plain loops: ReLU and (inverted) dropout.
//
//  Dimensions in the module's letters (Sources/CNN/README.md, "Dimension legend"):
//    N batch, C channels, H×W input, F filters, HH×WW kernel, S stride, P padding, Ho×Wo output.
//
//  These ops are elementwise, so they accept a tensor of any shape, typically (N, C, H, W) or (N, D);
//  index t below runs over every scalar in row-major order.

import RealModule

extension Reference {
    // MARK: - ReLU

    /// ReLU forward pass: `y[t] = 0` where `x[t] < 0`, else `x[t]`: a NaN stays NaN and −0 stays −0, as PyTorch.
    ///
    /// - Parameter input: x, any shape.
    /// - Returns: y, the shape of `input`.
    public static func reluForward<T: TensorScalar>(input x: Tensor<T>) -> Tensor<T> {
        var y = Tensor<T>(shape: x.shape)
        for t in 0..<x.count {
            y.scalars[t] = x.scalars[t] < 0 ? 0 : x.scalars[t]
        }
        return y
    }

    /// ReLU backward pass: `dx[t] = dy[t]` where `x[t] > 0`, else 0.
    ///
    /// At `x[t] == 0` the gradient is 0, like PyTorch.
    ///
    /// - Parameters:
    ///   - dOutput: dy, the shape of `input`.
    ///   - input: x from the forward pass, any shape.
    /// - Returns: dx, the shape of `input`.
    public static func reluBackward<T: TensorScalar>(dOutput dy: Tensor<T>, input x: Tensor<T>) -> Tensor<T> {
        precondition(dy.shape == x.shape, "reluBackward: dOutput \(dy.shape) does not match input \(x.shape)")
        var dx = Tensor<T>(shape: x.shape)
        for t in 0..<x.count {
            dx.scalars[t] = x.scalars[t] > 0 ? dy.scalars[t] : 0
        }
        return dx
    }

    // MARK: - Dropout

    /// Inverted dropout forward pass: `y[t] = x[t] · mask[t]`.
    ///
    /// The caller draws the mask: each scalar is 0 (dropped, probability p) or 1/(1 − p) (kept), so the
    /// expected value of y equals x and evaluation needs no rescaling.
    ///
    /// - Parameters:
    ///   - input: x, any shape.
    ///   - mask: the shape of `input`, scalars 0 or 1/(1 − p).
    /// - Returns: y, the shape of `input`.
    public static func dropoutForward<T: TensorScalar>(input x: Tensor<T>, mask: Tensor<T>) -> Tensor<T> {
        precondition(mask.shape == x.shape, "dropoutForward: mask \(mask.shape) does not match input \(x.shape)")
        var y = Tensor<T>(shape: x.shape)
        for t in 0..<x.count {
            y.scalars[t] = x.scalars[t] * mask.scalars[t]
        }
        return y
    }

    /// Inverted dropout backward pass: `dx[t] = dy[t] · mask[t]`, with the mask of the forward pass.
    ///
    /// - Parameters:
    ///   - dOutput: dy, the shape of `mask`.
    ///   - mask: the mask used in the forward pass, scalars 0 or 1/(1 − p).
    /// - Returns: dx, the shape of `mask`.
    public static func dropoutBackward<T: TensorScalar>(dOutput dy: Tensor<T>, mask: Tensor<T>) -> Tensor<T> {
        precondition(dy.shape == mask.shape, "dropoutBackward: dOutput \(dy.shape) does not match mask \(mask.shape)")
        var dx = Tensor<T>(shape: mask.shape)
        for t in 0..<mask.count {
            dx.scalars[t] = dy.scalars[t] * mask.scalars[t]
        }
        return dx
    }
}
