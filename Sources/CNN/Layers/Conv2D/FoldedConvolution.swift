//  FoldedConvolution.swift
//
//  A Conv2D and the BatchNorm2D after it, evaluated as one convolution (Sequential's evaluation steps).
//  Dimensions (the module's legend, Sources/CNN/README.md): F filters, C input channels, HH×WW kernel.
//
//  With s[f] = γ[f] / √(running_var[f] + ε) and t[f] = β[f] − running_mean[f]·s[f] (batch norm's evaluation
//  scale and shift):
//      w'[f, c, k, l] = w[f, c, k, l] · s[f]
//      b'[f]          = b[f] · s[f] + t[f]
//  so conv(x; w', b') = s·conv(x; w, b) + t, the batch norm's evaluation output, exactly in real arithmetic;
//  in Float the two differ by rounding, since s multiplies each product instead of their sum
//  (FoldingTests holds them to rtol 1e-5 and atol 1e-5 of the largest output). The folded weights are
//  computed from the live parameters and running statistics at every forward, so nothing needs
//  refreshing after training steps, and the two layers themselves are never changed.

/// `conv` then `batchNorm` in evaluation mode, as one fast convolution with folded weights, which applies
/// the batch norm's ReLU and pooling epilogue itself. Evaluation only: it has no backward.
public final class FoldedConvolution: EpilogueFusing, ChannelsLastConvolution {
    public let convolution: Conv2D
    public let batchNorm: BatchNorm2D
    /// The convolution with w' and b'; chooses its own plan (for the epilogue it is given).
    private let folded: Conv2D

    public init(_ convolution: Conv2D, _ batchNorm: BatchNorm2D) {
        precondition(batchNorm.numFeatures == convolution.outChannels,
                     "FoldedConvolution: \(convolution.outChannels) filters, batch norm of \(batchNorm.numFeatures)")
        self.convolution = convolution
        self.batchNorm = batchNorm
        folded = Conv2D(inChannels: convolution.inChannels, outChannels: convolution.outChannels,
                        kernelSize: convolution.kernelSize, stride: convolution.stride, padding: convolution.padding,
                        backend: .fast)
    }

    public var spec: LayerSpec { convolution.spec }

    /// Always `.fast`; Sequential folds only fast layers.
    public var backend: Backend {
        get { .fast }
        set { precondition(newValue == .fast, "FoldedConvolution runs on the fast backend only") }
    }

    public func outputShape(for inputShape: [Int]) -> [Int]? { convolution.outputShape(for: inputShape) }

    /// The plan the folded convolution chose for its last forward.
    public var plan: Conv2D.Plan? { folded.plan }

    public func forward(_ x: Tensor<Float>, mode: Mode) -> Tensor<Float> { forward(x, mode: mode, epilogue: .none) }

    /// x (N, C, H, W) → the epilogue of batchNorm(conv(x)) in evaluation mode.
    public func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue) -> Tensor<Float> {
        forward(x, mode: mode, epilogue: epilogue, layout: .channelsFirst, into: nil)
    }

    /// The same with x and the output in `layout` (ActivationLayout.swift), or the output written into
    /// `destination` (see Conv2D's).
    func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue, layout: StepLayout,
                 into destination: UnsafeMutablePointer<Float>?) -> Tensor<Float> {
        precondition(mode == .evaluation, "FoldedConvolution is for evaluation only")
        fold()
        return folded.forward(x, mode: .evaluation, epilogue: epilogue, layout: layout, into: destination)
    }

    /// The plan the folded convolution takes for an input of `shape` with `epilogue`.
    func evaluationPlan(forInput shape: [Int], epilogue: Epilogue) -> Conv2D.Plan? {
        folded.evaluationPlan(forInput: shape, epilogue: epilogue)
    }

    public func backward(_ dOutput: Tensor<Float>) -> Tensor<Float> {
        preconditionFailure("FoldedConvolution is for evaluation only; it has no backward")
    }

    /// Writes w' and b' (see the top of the file) into `folded`.
    private func fold() {
        let F = convolution.outChannels, perFilter = convolution.weight.value.count / F
        let gamma = batchNorm.weight.value.scalars, beta = batchNorm.bias.value.scalars
        let mean = batchNorm.runningMean.scalars, variance = batchNorm.runningVariance.scalars, eps = batchNorm.eps
        let w = convolution.weight.value.scalars, b = convolution.bias.value.scalars
        folded.weight.value.scalars.withUnsafeMutableBufferPointer { fw in
            folded.bias.value.scalars.withUnsafeMutableBufferPointer { fb in
                for f in 0..<F {
                    let s = gamma[f] / (variance[f] + eps).squareRoot(), t = beta[f] - mean[f] * s
                    for i in (f * perFilter)..<((f + 1) * perFilter) { fw[i] = w[i] * s }
                    fb[f] = b[f] * s + t
                }
            }
        }
    }
}
