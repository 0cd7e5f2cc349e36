//  Reference+Linear.swift
//
//  The fully connected layer (PyTorch's nn.Linear), forward and backward, as plain loops.
//
//  Dimensions in the module's letters (Sources/CNN/README.md, "Dimension legend"):
//    N batch, C channels, H×W input, F filters, HH×WW kernel, S stride, P padding, Ho×Wo output;
//    D   input features (C·H·W after flattening)          M   output features
//  A linear layer sees matrices; its weight is stored as PyTorch does, out × in: (M, D).

import RealModule

import RealModule

extension Reference {
    // MARK: - Forward

    /// Linear forward pass: `y = x · wᵀ + b`, i.e.
    ///
    ///     y[n, i] = b[i] + Σ_d x[n, d] · w[i, d]
    ///
    /// - Parameters:
    ///   - input: x, shape (N, D).
    ///   - weight: w, shape (M, D) (out × in, as PyTorch).
    ///   - bias: b, shape (M).
    /// - Returns: y, shape (N, M).
    public static func linearForward<T: TensorScalar>(
        input x: Tensor<T>, weight w: Tensor<T>, bias b: Tensor<T>
    ) -> Tensor<T> {
        precondition(x.rank == 2 && w.rank == 2 && x.shape[1] == w.shape[1],
                     "linearForward expects input (N, D) and weight (M, D), got input \(x.shape) and weight \(w.shape)")
        let (N, D, M) = (x.shape[0], x.shape[1], w.shape[0])
        precondition(b.shape == [M], "linearForward: bias \(b.shape) does not match weight \(w.shape); expected [\(M)]")
        var y = Tensor<T>(shape: [N, M])
        for n in 0..<N {
            for i in 0..<M {
                var sum = b.scalars[i]
                for d in 0..<D {
                    sum += x[n, d] * w[i, d]
                }
                y[n, i] = sum
            }
        }
        return y
    }

    // MARK: - Backward

    /// Linear backward pass.
    ///
    ///     dx[n, d] = Σ_i dy[n, i] · w[i, d]        (dx = dy · w)
    ///     dw[i, d] = Σ_n dy[n, i] · x[n, d]        (dw = dyᵀ · x)
    ///     db[i]    = Σ_n dy[n, i]
    ///
    /// - Parameters:
    ///   - dOutput: dy, shape (N, M).
    ///   - input: x from the forward pass, shape (N, D).
    ///   - weight: w from the forward pass, shape (M, D).
    /// - Returns: dInput (N, D), dWeight (M, D), dBias (M).
    public static func linearBackward<T: TensorScalar>(
        dOutput dy: Tensor<T>, input x: Tensor<T>, weight w: Tensor<T>
    ) -> (dInput: Tensor<T>, dWeight: Tensor<T>, dBias: Tensor<T>) {
        precondition(x.rank == 2 && w.rank == 2 && x.shape[1] == w.shape[1],
                     "linearBackward expects input (N, D) and weight (M, D), got input \(x.shape) and weight \(w.shape)")
        let (N, D, M) = (x.shape[0], x.shape[1], w.shape[0])
        precondition(dy.shape == [N, M],
                     "linearBackward: dOutput \(dy.shape) does not match the forward output [\(N), \(M)] of input \(x.shape) and weight \(w.shape)")
        var dx = Tensor<T>(shape: [N, D])
        var dw = Tensor<T>(shape: [M, D])
        var db = Tensor<T>(shape: [M])
        for n in 0..<N {
            for i in 0..<M {
                let g = dy[n, i]
                db.scalars[i] += g
                for d in 0..<D {
                    dx[n, d] += g * w[i, d]
                    dw[i, d] += g * x[n, d]
                }
            }
        }
        return (dx, dw, db)
    }
}
