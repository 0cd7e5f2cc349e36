//  Reference+SoftmaxCrossEntropy.swift
//
//  Softmax followed by the cross-entropy loss (PyTorch's nn.CrossEntropyLoss with mean reduction),
//  value and gradient, as plain loops.
//
//  Dimensions in the module's letters (Sources/CNN/README.md, "Dimension legend"):
//    N batch, C channels, H×W input, F filters, HH×WW kernel, S stride, P padding, Ho×Wo output;
//    M   classes (10 for MNIST); the logits are a matrix (N, M).
//
//  For row n with logits z, label y_n, and the row maximum z_max:
//    log Σ_k exp(z_k) = z_max + log Σ_k exp(z_k − z_max)        (log-sum-exp; no exp of a large number)
//    softmax_k        = exp(z_k − z_max) / Σ_j exp(z_j − z_max)
//    loss_n           = log Σ_k exp(z_k) − z_{y_n}                (= −log softmax_{y_n})

import RealModule

extension Reference {
    /// Mean softmax cross-entropy over a batch, and its gradient with respect to the logits.
    ///
    ///     loss          = (1/N) Σ_n ( log Σ_k exp(z[n, k]) − z[n, label_n] )
    ///     dLogits[n, k] = (softmax(z[n])_k − [k == label_n]) / N
    ///
    /// Numerically stable: each row's maximum is subtracted before exponentiating, so logits such as
    /// ±1000 give a finite loss (even in Float).
    ///
    /// - Parameters:
    ///   - logits: z, shape (N, M), N ≥ 1.
    ///   - labels: N class indices, each in 0..<M.
    /// - Returns: the mean loss and dLogits, shape (N, M).
    public static func softmaxCrossEntropy<T: TensorScalar>(
        logits z: Tensor<T>, labels: [Int]
    ) -> (loss: T, dLogits: Tensor<T>) {
        precondition(z.rank == 2 && z.shape[0] > 0 && z.shape[1] > 0,
                     "softmaxCrossEntropy expects logits (N, M) with N, M ≥ 1, got shape \(z.shape)")
        let (N, M) = (z.shape[0], z.shape[1])
        precondition(labels.count == N,
                     "softmaxCrossEntropy: \(labels.count) labels for logits \(z.shape); expected \(N)")
        var loss: T = 0
        var dz = Tensor<T>(shape: [N, M])
        for n in 0..<N {
            let label = labels[n]
            precondition(label >= 0 && label < M,
                         "softmaxCrossEntropy: label \(label) of row \(n) is outside 0..<\(M) for logits \(z.shape)")
            var rowMax = z[n, 0]
            for k in 1..<M where z[n, k] > rowMax {
                rowMax = z[n, k]
            }
            var sumExp: T = 0
            for k in 0..<M {
                sumExp += T.exp(z[n, k] - rowMax)
            }
            let logSumExp = rowMax + T.log(sumExp)
            loss += logSumExp - z[n, label]
            for k in 0..<M {
                let p = T.exp(z[n, k] - rowMax) / sumExp
                dz[n, k] = (p - (k == label ? 1 : 0)) / T(N)
            }
        }
        return (loss / T(N), dz)
    }
}
