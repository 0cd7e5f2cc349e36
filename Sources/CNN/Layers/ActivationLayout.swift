//  ActivationLayout.swift
//
//  How an activation passed from one execution step to the next lays out each image:
//      channelsFirst   (N, C, H, W)   what every layer takes and gives, and all the network's callers see
//      channelsLast    (N, H, W, C)   what the F(4×4, 3×3) kernels compute on (Winograd6.swift)
//  Between two evaluation steps that both run F(4×4), the producer leaves its output channels last (its
//  tiles' outputs (Ho, Wo, F), or their 2×2 pooling (Hp, Wp, F), without transposing them) and the
//  consumer pads it by copying rows (instead of transposing it in `Winograd6.padInput`). Only the data
//  moves, so every value keeps its bits.
//
//  In training, channels last flows from an F(4×4) convolution step's output through the batch norm step
//  after it (BatchNorm2D+ChannelsLast.swift) into the next F(4×4) convolution step's input, and the backward
//  runs on the same layouts: each step's dy in its output's layout, its dx in its input's.
//  `Sequential.trainingLayouts` decides it, from the plans the steps take for the batch's shapes.
//
//  Two functions decide each step's layouts, and nothing else does (Sequential+Layouts.swift):
//  `Sequential.evaluationLayouts` for the evaluation steps and `Sequential.trainingLayouts` for the training
//  steps, from the plans the steps take for the shapes they will see. A convolution whose plan at run time
//  is another (an input holding a NaN or an infinity leaves the Winograd algorithms)
//  transposes a channels-last input to channels first before it, and its output to channels last after it
//  when it must give that (`ActivationLayout.transpose`), so a step never computes on a layout it does not
//  take.

/// The order of an activation's axes after the batch axis (see the top of this file).
public enum ActivationLayout: Hashable, Sendable, CustomStringConvertible {
    /// (N, C, H, W)
    case channelsFirst
    /// (N, H, W, C)
    case channelsLast

    /// The (N, C, H, W) shape of an activation of `shape` in this layout.
    public func channelsFirstShape(_ shape: [Int]) -> [Int] {
        switch self {
        case .channelsFirst: return shape
        case .channelsLast:
            precondition(shape.count == 4, "a channels-last activation has shape (N, H, W, C), not \(shape)")
            return [shape[0], shape[3], shape[1], shape[2]]
        }
    }

    /// The shape in this layout of an activation of shape (N, C, H, W).
    public func shape(ofChannelsFirst shape: [Int]) -> [Int] {
        switch self {
        case .channelsFirst: return shape
        case .channelsLast:
            precondition(shape.count == 4, "a channels-last activation needs (N, C, H, W), not \(shape)")
            return [shape[0], shape[2], shape[3], shape[1]]
        }
    }

    /// "channels first" or "channels last".
    public var description: String { self == .channelsFirst ? "channels first" : "channels last" }

    /// x in layout `from` → the same activation in layout `to`, in `buffer` (x itself when they are the same):
    /// per image one blocked transposition, (C, H·W) → (H·W, C) or back. The values keep their bits.
    static func transpose(_ x: Tensor<Float>, from: ActivationLayout, to: ActivationLayout,
                          into buffer: inout Tensor<Float>) -> Tensor<Float> {
        guard from != to else { return x }
        let (n, c, h, w) = { s in (s[0], s[1], s[2], s[3]) }(from.channelsFirstShape(x.shape))
        buffer.resize(to: to.shape(ofChannelsFirst: [n, c, h, w]))
        let (rows, cols) = from == .channelsFirst ? (c, h * w) : (h * w, c)
        x.scalars.withUnsafeBufferPointer { s in
            buffer.scalars.withUnsafeMutableBufferPointer { d in
                for i in 0..<n {
                    Transpose.matrix(s.baseAddress! + i * c * h * w, rows: rows, cols: cols, into: d.baseAddress! + i * c * h * w)
                }
            }
        }
        return buffer
    }
}

/// The layouts of one execution step's input and output (evaluation or training).
public struct StepLayout: Hashable, Sendable, CustomStringConvertible {
    public let input, output: ActivationLayout

    public init(input: ActivationLayout, output: ActivationLayout) {
        self.input = input; self.output = output
    }

    /// Channels first in and out: every step but those between F(4×4) convolutions.
    public static let channelsFirst = StepLayout(input: .channelsFirst, output: .channelsFirst)

    /// e.g. "channels last → channels first".
    public var description: String { "\(input) → \(output)" }
}

/// The evaluation forward of a fast convolution step's head (Conv2D, FoldedConvolution), which can take its
/// input and give its output channels last and write its output into a given place. (Conv2D's training
/// forward takes layouts too: `Conv2D.forward(_:mode:epilogue:layout:into:)`.)
protocol ChannelsLastConvolution: EpilogueFusing {
    /// The plan an evaluation forward on a finite input of `shape` (N, C, H, W) with `epilogue` takes; nil
    /// when it takes none (another backend, or a forced algorithm that cannot compute it).
    func evaluationPlan(forInput shape: [Int], epilogue: Epilogue) -> Conv2D.Plan?
    /// x in `layout.input` → the epilogue of the layer's evaluation output, in `layout.output`; or, given
    /// `destination`, that output (channels first) written there and an empty tensor returned.
    func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue, layout: StepLayout,
                 into destination: UnsafeMutablePointer<Float>?) -> Tensor<Float>
}
