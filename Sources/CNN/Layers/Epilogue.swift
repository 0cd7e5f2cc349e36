//  Epilogue.swift
//
//  What a convolution or batch norm applies to its own output when the network is rewritten to fuse the
//  layers after it (see Sequential's execution steps):
//      relu:   r = relu(y)                                  (ReLU → it)
//      pool:   out = max over each K×K window, stride S, of r  (ReLU → MaxPool2D → it; needs relu)
//  Backward takes the gradient of what forward returned: dOut → dy through the pooling's winners and [r > 0].

/// A fused ReLU, and max pooling after it, that a layer applies to its output image by image, in cache.
public struct Epilogue: Equatable, Sendable, CustomStringConvertible {
    public let relu: Bool
    /// (K, S) of the fused max pooling, or nil.
    public let pool: (kernel: Int, stride: Int)?

    public init(relu: Bool, pool: (kernel: Int, stride: Int)? = nil) {
        precondition(relu || pool == nil, "a fused pooling needs the fused ReLU before it")
        self.relu = relu
        self.pool = pool
    }

    /// The layer's output as it is.
    public static let none = Epilogue(relu: false)

    public static func == (a: Epilogue, b: Epilogue) -> Bool {
        a.relu == b.relu && a.pool?.kernel == b.pool?.kernel && a.pool?.stride == b.pool?.stride
    }

    /// Whether the pooling is the common 2×2, stride-2 one (which some kernels apply to whole output tiles).
    var pools2x2: Bool { pool.map { $0.kernel == 2 && $0.stride == 2 } ?? false }

    /// "+ relu + maxpool2d(k2, s2)", "+ relu", or "".
    public var description: String {
        (relu ? " + relu" : "") + (pool.map { " + maxpool2d(k\($0.kernel), s\($0.stride))" } ?? "")
    }
}

/// A layer that can apply an `Epilogue` to its output itself: Conv2D and BatchNorm2D.
///
/// `forward(x, mode:, epilogue:)` returns the epilogue's output, and the `backward` that follows takes its
/// gradient; the layer records the epilogue with the rest of what its forward keeps for backward.
/// `forward(x, mode:)` is the same with `.none`.
public protocol EpilogueFusing: Layer {
    func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue) -> Tensor<Float>
}
