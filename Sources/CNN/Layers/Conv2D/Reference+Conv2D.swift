//  Reference+Conv2D.swift
//
//  2-D convolution (cross-correlation, as PyTorch's nn.Conv2d), forward and backward, as plain loops.
//
//  Dimensions in the module's letters (Sources/CNN/README.md, "Dimension legend"):
//    N batch, C channels, H×W input, F filters, HH×WW kernel, S stride, P padding, Ho×Wo output.
//
//  Output size (PyTorch, rounding down):
//    Ho = 1 + ⌊(H + 2P − HH) / S⌋        Wo = 1 + ⌊(W + 2P − WW) / S⌋
//
//  Padding is implicit: an input position (h, w) outside 0..<H × 0..<W reads as zero and receives no gradient.

import RealModule

import RealModule

extension Reference {
    /// The output extent of a convolution along one axis: `1 + ⌊(input + 2·padding − kernel) / stride⌋`.
    ///
    /// Rounds down like PyTorch, so input rows the last window cannot reach are ignored. Returns a value ≤ 0
    /// when the kernel does not fit in the padded input.
    public static func conv2DOutputSize(input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        precondition(input >= 0 && kernel > 0 && stride > 0 && padding >= 0,
                     "invalid convolution geometry: input \(input), kernel \(kernel), stride \(stride), padding \(padding)")
        let span = input + 2 * padding - kernel
        // Floor division, also for a negative span (Swift's `/` truncates toward zero).
        let steps = span >= 0 ? span / stride : -((-span + stride - 1) / stride)
        return 1 + steps
    }

    // MARK: - Forward

    /// Convolution forward pass.
    ///
    ///     y[n, f, i, j] = b[f] + Σ_c Σ_k Σ_l w[f, c, k, l] · x[n, c, i·S − P + k, j·S − P + l]
    ///
    /// with `x` read as zero outside the image (zero padding).
    ///
    /// - Parameters:
    ///   - x: input, shape (N, C, H, W).
    ///   - w: weight, shape (F, C, HH, WW); HH and WW may differ.
    ///   - b: bias, shape (F).
    ///   - stride: S, the same along both axes, > 0.
    ///   - padding: P, zeros added on every side, ≥ 0.
    /// - Returns: y, shape (N, F, Ho, Wo).
    /// - Precondition: the channel counts agree, `b` has F scalars and the kernel fits (Ho, Wo ≥ 1).
    public static func conv2DForward<T: TensorScalar>(
        input x: Tensor<T>, weight w: Tensor<T>, bias b: Tensor<T>, stride: Int, padding: Int
    ) -> Tensor<T> {
        precondition(x.rank == 4 && w.rank == 4,
                     "conv2DForward expects input (N, C, H, W) and weight (F, C, HH, WW), got input \(x.shape) and weight \(w.shape)")
        let (N, C, H, W) = x.nchw
        let (F, wC, HH, WW) = w.nchw
        precondition(wC == C, "conv2DForward: input \(x.shape) has \(C) channels but weight \(w.shape) expects \(wC)")
        precondition(b.shape == [F], "conv2DForward: bias \(b.shape) does not match weight \(w.shape); expected [\(F)]")
        let S = stride, P = padding
        let Ho = conv2DOutputSize(input: H, kernel: HH, stride: S, padding: P)
        let Wo = conv2DOutputSize(input: W, kernel: WW, stride: S, padding: P)
        precondition(Ho > 0 && Wo > 0,
                     "conv2DForward: weight \(w.shape) does not fit input \(x.shape) with stride \(S), padding \(P)")

        var y = Tensor<T>(shape: [N, F, Ho, Wo])
        for n in 0..<N {
            for f in 0..<F {
                for i in 0..<Ho {
                    for j in 0..<Wo {
                        var sum = b.scalars[f]
                        for c in 0..<C {
                            for k in 0..<HH {
                                let h = i * S - P + k
                                if h < 0 || h >= H { continue }   // zero padding
                                for l in 0..<WW {
                                    let v = j * S - P + l
                                    if v < 0 || v >= W { continue }
                                    sum += w[f, c, k, l] * x[n, c, h, v]
                                }
                            }
                        }
                        y[n, f, i, j] = sum
                    }
                }
            }
        }
        return y
    }

    // MARK: - Backward

    /// Convolution backward pass: the gradients of the loss with respect to the input, weight and bias.
    ///
    /// Each output element y[n, f, i, j] used w[f, c, k, l] and x[n, c, i·S − P + k, j·S − P + l], so
    ///
    ///     dx[n, c, i·S − P + k, j·S − P + l] += w[f, c, k, l] · dy[n, f, i, j]     (padding positions dropped)
    ///     dw[f, c, k, l]                     += x[n, c, i·S − P + k, j·S − P + l] · dy[n, f, i, j]
    ///     db[f]                              += dy[n, f, i, j]
    ///
    /// summed over every n, f, i, j (and c, k, l).
    ///
    /// - Parameters:
    ///   - dOutput: dy, shape (N, F, Ho, Wo).
    ///   - input: x from the forward pass, shape (N, C, H, W).
    ///   - weight: w from the forward pass, shape (F, C, HH, WW).
    ///   - stride: S, as in the forward pass.
    ///   - padding: P, as in the forward pass.
    /// - Returns: dInput (N, C, H, W), dWeight (F, C, HH, WW), dBias (F).
    /// - Precondition: `dOutput` has the shape the forward pass produces for `input` and `weight`.
    public static func conv2DBackward<T: TensorScalar>(
        dOutput dy: Tensor<T>, input x: Tensor<T>, weight w: Tensor<T>, stride: Int, padding: Int
    ) -> (dInput: Tensor<T>, dWeight: Tensor<T>, dBias: Tensor<T>) {
        precondition(x.rank == 4 && w.rank == 4,
                     "conv2DBackward expects input (N, C, H, W) and weight (F, C, HH, WW), got input \(x.shape) and weight \(w.shape)")
        let (N, C, H, W) = x.nchw
        let (F, wC, HH, WW) = w.nchw
        precondition(wC == C, "conv2DBackward: input \(x.shape) has \(C) channels but weight \(w.shape) expects \(wC)")
        let S = stride, P = padding
        let Ho = conv2DOutputSize(input: H, kernel: HH, stride: S, padding: P)
        let Wo = conv2DOutputSize(input: W, kernel: WW, stride: S, padding: P)
        precondition(dy.shape == [N, F, Ho, Wo],
                     "conv2DBackward: dOutput \(dy.shape) does not match the forward output [\(N), \(F), \(Ho), \(Wo)] of input \(x.shape) and weight \(w.shape)")

        var dx = Tensor<T>(shape: x.shape)
        var dw = Tensor<T>(shape: w.shape)
        var db = Tensor<T>(shape: [F])
        for n in 0..<N {
            for f in 0..<F {
                for i in 0..<Ho {
                    for j in 0..<Wo {
                        let g = dy[n, f, i, j]
                        db.scalars[f] += g
                        for c in 0..<C {
                            for k in 0..<HH {
                                let h = i * S - P + k
                                if h < 0 || h >= H { continue }   // padding: no input, no gradient
                                for l in 0..<WW {
                                    let v = j * S - P + l
                                    if v < 0 || v >= W { continue }
                                    dx[n, c, h, v] += w[f, c, k, l] * g
                                    dw[f, c, k, l] += x[n, c, h, v] * g
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw, db)
    }
}
