//  Reference+Pooling.swift
//
//  Max and average pooling (PyTorch's nn.MaxPool2d / nn.AvgPool2d without padding), forward and backward,
//  as plain loops. Square windows of K × K, the same stride along both axes.
//
//  Dimensions in the module's letters (Sources/CNN/README.md, "Dimension legend"):
//    N batch, C channels, H×W input, F filters, HH×WW kernel, S stride, P padding, Ho×Wo output;
//    K   window size (HH = WW = K); pooling has no filters (F) and no padding (P = 0), and keeps the channels.
//
//  Output size (floor mode, no padding):
//    Ho = 1 + ⌊(H − K) / S⌋        Wo = 1 + ⌊(W − K) / S⌋
//
//  Window (i, j) covers input rows i·S ..< i·S + K and columns j·S ..< j·S + K. When S < K the windows
//  overlap and an input position receives gradient from each window that covers it (accumulated with +=).

import RealModule

extension Reference {
    /// The output extent of a pooling window along one axis: `1 + ⌊(input − kernel) / stride⌋`.
    ///
    /// Floor mode, no padding, like PyTorch's default. Returns a value ≤ 0 when the window is larger than the input.
    public static func pool2DOutputSize(input: Int, kernel: Int, stride: Int) -> Int {
        conv2DOutputSize(input: input, kernel: kernel, stride: stride, padding: 0)
    }

    /// The output shape (N, C, Ho, Wo) of pooling an input of shape (N, C, H, W), checking that the window fits.
    private static func pool2DOutputShape(_ inputShape: [Int], kernel K: Int, stride S: Int, _ caller: String) -> [Int] {
        precondition(inputShape.count == 4, "\(caller) expects an input (N, C, H, W), got shape \(inputShape)")
        let Ho = pool2DOutputSize(input: inputShape[2], kernel: K, stride: S)
        let Wo = pool2DOutputSize(input: inputShape[3], kernel: K, stride: S)
        precondition(Ho > 0 && Wo > 0,
                     "\(caller): a \(K)×\(K) window does not fit input \(inputShape) (stride \(S))")
        return [inputShape[0], inputShape[1], Ho, Wo]
    }

    // MARK: - Max pooling

    /// The position (h, w) of the first maximum of window (i, j) of plane (n, c), scanning the window in
    /// row-major order with a strict `>`, so a tie goes to the earliest position (as PyTorch). A NaN is larger
    /// than everything: the first NaN of the window wins it wherever it is (PyTorch too picks a NaN).
    private static func maxPool2DArgmax<T: TensorScalar>(
        _ x: Tensor<T>, n: Int, c: Int, i: Int, j: Int, kernel K: Int, stride S: Int
    ) -> (h: Int, w: Int) {
        var best = (h: i * S, w: j * S)
        for k in 0..<K {
            for l in 0..<K {
                let h = i * S + k, w = j * S + l
                let v = x[n, c, h, w], b = x[n, c, best.h, best.w]
                if v > b || (v.isNaN && !b.isNaN) { best = (h, w) }
            }
        }
        return best
    }

    /// Max pooling forward pass.
    ///
    ///     y[n, c, i, j] = max over k, l in 0..<K of x[n, c, i·S + k, j·S + l]
    ///
    /// - Parameters:
    ///   - input: x, shape (N, C, H, W).
    ///   - kernel: K, the window is K × K.
    ///   - stride: S, > 0.
    /// - Returns: y, shape (N, C, Ho, Wo).
    /// - Precondition: the window fits the input (K ≤ H and K ≤ W).
    public static func maxPool2DForward<T: TensorScalar>(input x: Tensor<T>, kernel K: Int, stride S: Int) -> Tensor<T> {
        let outputShape = pool2DOutputShape(x.shape, kernel: K, stride: S, "maxPool2DForward")
        let (N, C, Ho, Wo) = (outputShape[0], outputShape[1], outputShape[2], outputShape[3])
        var y = Tensor<T>(shape: outputShape)
        for n in 0..<N {
            for c in 0..<C {
                for i in 0..<Ho {
                    for j in 0..<Wo {
                        let (h, w) = maxPool2DArgmax(x, n: n, c: c, i: i, j: j, kernel: K, stride: S)
                        y[n, c, i, j] = x[n, c, h, w]
                    }
                }
            }
        }
        return y
    }

    /// Max pooling backward pass.
    ///
    /// The whole gradient of window (i, j) goes to one position: its first maximum in row-major order
    /// (h*, w*), the one the forward pass selected (ties go to the earliest, as PyTorch):
    ///
    ///     dx[n, c, h*, w*] += dy[n, c, i, j]
    ///
    /// Every other position of the window gets nothing from it. Overlapping windows (S < K) accumulate.
    ///
    /// - Parameters:
    ///   - dOutput: dy, shape (N, C, Ho, Wo).
    ///   - input: x from the forward pass, shape (N, C, H, W).
    ///   - kernel: K, as in the forward pass.
    ///   - stride: S, as in the forward pass.
    /// - Returns: dx, shape (N, C, H, W).
    public static func maxPool2DBackward<T: TensorScalar>(
        dOutput dy: Tensor<T>, input x: Tensor<T>, kernel K: Int, stride S: Int
    ) -> Tensor<T> {
        let outputShape = pool2DOutputShape(x.shape, kernel: K, stride: S, "maxPool2DBackward")
        precondition(dy.shape == outputShape,
                     "maxPool2DBackward: dOutput \(dy.shape) does not match the forward output \(outputShape) of input \(x.shape)")
        let (N, C, Ho, Wo) = (outputShape[0], outputShape[1], outputShape[2], outputShape[3])
        var dx = Tensor<T>(shape: x.shape)
        for n in 0..<N {
            for c in 0..<C {
                for i in 0..<Ho {
                    for j in 0..<Wo {
                        let (h, w) = maxPool2DArgmax(x, n: n, c: c, i: i, j: j, kernel: K, stride: S)
                        dx[n, c, h, w] += dy[n, c, i, j]
                    }
                }
            }
        }
        return dx
    }

    // MARK: - Average pooling

    /// Average pooling forward pass.
    ///
    ///     y[n, c, i, j] = (1 / K²) · Σ_k Σ_l x[n, c, i·S + k, j·S + l]
    ///
    /// - Parameters:
    ///   - input: x, shape (N, C, H, W).
    ///   - kernel: K, the window is K × K.
    ///   - stride: S, > 0.
    /// - Returns: y, shape (N, C, Ho, Wo).
    /// - Precondition: the window fits the input (K ≤ H and K ≤ W).
    public static func avgPool2DForward<T: TensorScalar>(input x: Tensor<T>, kernel K: Int, stride S: Int) -> Tensor<T> {
        let outputShape = pool2DOutputShape(x.shape, kernel: K, stride: S, "avgPool2DForward")
        let (N, C, Ho, Wo) = (outputShape[0], outputShape[1], outputShape[2], outputShape[3])
        let scale = 1 / T(K * K)
        var y = Tensor<T>(shape: outputShape)
        for n in 0..<N {
            for c in 0..<C {
                for i in 0..<Ho {
                    for j in 0..<Wo {
                        var sum: T = 0
                        for k in 0..<K {
                            for l in 0..<K {
                                sum += x[n, c, i * S + k, j * S + l]
                            }
                        }
                        y[n, c, i, j] = sum * scale
                    }
                }
            }
        }
        return y
    }

    /// Average pooling backward pass: every position of window (i, j) gets an equal share,
    ///
    ///     dx[n, c, i·S + k, j·S + l] += dy[n, c, i, j] / K²       for k, l in 0..<K
    ///
    /// Overlapping windows (S < K) accumulate; input rows and columns no window reaches get 0.
    ///
    /// - Parameters:
    ///   - dOutput: dy, shape (N, C, Ho, Wo).
    ///   - inputShape: the shape (N, C, H, W) of the forward pass's input (its values are not needed).
    ///   - kernel: K, as in the forward pass.
    ///   - stride: S, as in the forward pass.
    /// - Returns: dx, shape `inputShape`.
    public static func avgPool2DBackward<T: TensorScalar>(
        dOutput dy: Tensor<T>, inputShape: [Int], kernel K: Int, stride S: Int
    ) -> Tensor<T> {
        let outputShape = pool2DOutputShape(inputShape, kernel: K, stride: S, "avgPool2DBackward")
        precondition(dy.shape == outputShape,
                     "avgPool2DBackward: dOutput \(dy.shape) does not match the forward output \(outputShape) of input shape \(inputShape)")
        let (N, C, Ho, Wo) = (outputShape[0], outputShape[1], outputShape[2], outputShape[3])
        let scale = 1 / T(K * K)
        var dx = Tensor<T>(shape: inputShape)
        for n in 0..<N {
            for c in 0..<C {
                for i in 0..<Ho {
                    for j in 0..<Wo {
                        let g = dy[n, c, i, j] * scale
                        for k in 0..<K {
                            for l in 0..<K {
                                dx[n, c, i * S + k, j * S + l] += g
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
