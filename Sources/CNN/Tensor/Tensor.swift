//  Tensor.swift
//
//  The module's dimension letters (N batch, C channels, H×W, F filters, HH×WW kernel, …) are defined once,
//  in Sources/CNN/README.md ("Dimension legend"); every comment in the module uses them.
//  Images are NCHW, row-major: element (n, c, h, w) lives at ((n·C + c)·H + h)·W + w.

import RealModule

/// The scalar types the reference kernels are generic over: `Float` for training, `Double` for gradient checks.
public typealias TensorScalar = BinaryFloatingPoint & Real

/// A dense array: a shape and contiguous row-major storage.
///
/// A value type backed by one Swift array. Layers keep their outputs and workspaces as stored tensors and
/// write into them in place, so a steady-state training step does not allocate.
public struct Tensor<Scalar: BinaryFloatingPoint>: Equatable {
    /// The extent of each dimension, outermost first, e.g. `[N, C, H, W]`.
    public var shape: [Int]
    /// `shape.reduce(1, *)` scalars in row-major order.
    public var scalars: [Scalar]

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Scalar = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.scalars = Array(repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor over existing scalars; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Scalar]) {
        precondition(scalars.count == shape.reduce(1, *),
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// The number of scalars.
    @inlinable public var count: Int { scalars.count }

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// The same scalars under another shape with the same count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Sets every scalar to zero, keeping the storage.
    public mutating func zero() {
        scalars.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Makes this tensor have `newShape`, reusing the storage when the count already fits.
    /// The contents are unspecified afterwards unless the count was unchanged.
    public mutating func resize(to newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if scalars.count != n { scalars = Array(repeating: 0, count: n) }
        shape = newShape
    }

    /// Converts every scalar to another floating-point type.
    public func converted<T: BinaryFloatingPoint>(to: T.Type = T.self) -> Tensor<T> {
        Tensor<T>(shape: shape, scalars: scalars.map { T($0) })
    }
}

extension Tensor {
    /// The four dimensions of an NCHW tensor.
    @inlinable public var nchw: (n: Int, c: Int, h: Int, w: Int) {
        precondition(shape.count == 4, "expected an NCHW tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }

    /// Element (n, c, h, w) of an NCHW tensor. For reference code and tests, not hot loops.
    @inlinable public subscript(n: Int, c: Int, h: Int, w: Int) -> Scalar {
        get { scalars[((n * shape[1] + c) * shape[2] + h) * shape[3] + w] }
        set { scalars[((n * shape[1] + c) * shape[2] + h) * shape[3] + w] = newValue }
    }

    /// Element (i, j) of a matrix. For reference code and tests, not hot loops.
    @inlinable public subscript(i: Int, j: Int) -> Scalar {
        get { scalars[i * shape[1] + j] }
        set { scalars[i * shape[1] + j] = newValue }
    }
}
