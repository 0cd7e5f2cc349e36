//  SoftmaxCrossEntropy.swift
//
//  Dimensions (the module's legend, Sources/CNN/README.md): N batch, M classes; logits z (N, M), labels y (N).
//
//  p[n,k] = exp(z[n,k] − max_k z[n,:]) / Σ_k exp(z[n,k] − max_k z[n,:])      (stable: no overflow)
//  loss   = (1/N) Σ_n −log p[n, y[n]]  =  (1/N) Σ_n (log Σ_k exp(z[n,k] − zmax) − (z[n,y[n]] − zmax))
//  dz     = (p − onehot(y)) / N
//
//  With label smoothing ε (PyTorch's `label_smoothing`), the target is q = (1 − ε)·onehot(y) + ε/M:
//  loss   = (1/N) Σ_n Σ_k −q[n,k] log p[n,k]
//         = (1/N) Σ_n ((1 − ε)(lse − z'[n,y]) + (ε/M) Σ_k (lse − z'[n,k])),   z' = z − zmax, lse = log Σ_k exp z'
//  dz     = (p − q) / N

import RealModule

/// Softmax followed by cross-entropy, fused: `nn.CrossEntropyLoss()` with mean reduction.
public final class SoftmaxCrossEntropy {
    /// ε in [0, 1): the share of the target spread evenly over the M classes. 0 is plain cross-entropy.
    public let labelSmoothing: Float
    private var dLogits = Tensor<Float>(shape: [0])

    public init(labelSmoothing: Float = 0) {
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing \(labelSmoothing) outside [0, 1)")
        self.labelSmoothing = labelSmoothing
    }

    /// The mean loss, dLoss/dLogits, and how many rows have their label as the (first) largest logit.
    ///
    /// logits (N, M), labels N values in 0..<M.
    public func callAsFunction(logits: Tensor<Float>, labels: [Int]) -> (loss: Float, dLogits: Tensor<Float>, correct: Int) {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "SoftmaxCrossEntropy: logits \(logits.shape) for \(labels.count) labels")
        let (N, M) = (logits.shape[0], logits.shape[1])
        dLogits.resize(to: logits.shape)
        var total: Double = 0
        var correct = 0
        let invN = 1 / Float(N)
        let eps = labelSmoothing, spread = eps / Float(M) * invN, keep = (1 - eps) * invN
        logits.scalars.withUnsafeBufferPointer { zp in
            dLogits.scalars.withUnsafeMutableBufferPointer { dp in
                for n in 0..<N {
                    let z = zp.baseAddress! + n * M, d = dp.baseAddress! + n * M
                    let label = labels[n]
                    precondition(label >= 0 && label < M, "label \(label) outside 0..<\(M)")
                    var zmax = z[0], argmax = 0
                    for k in 1..<M where z[k] > zmax { zmax = z[k]; argmax = k }
                    if argmax == label { correct += 1 }
                    var sum: Float = 0
                    for k in 0..<M { let e = Float.exp(z[k] - zmax); d[k] = e; sum += e }
                    let lse = Float.log(sum)
                    let scale = invN / sum
                    for k in 0..<M { d[k] *= scale }
                    if eps == 0 {
                        total += Double(lse - (z[label] - zmax))
                        d[label] -= invN
                    } else {
                        var uniform: Float = 0
                        for k in 0..<M { uniform += lse - (z[k] - zmax); d[k] -= spread }
                        total += Double((1 - eps) * (lse - (z[label] - zmax)) + eps / Float(M) * uniform)
                        d[label] -= keep
                    }
                }
            }
        }
        return (Float(total / Double(N)), dLogits, correct)
    }
}
