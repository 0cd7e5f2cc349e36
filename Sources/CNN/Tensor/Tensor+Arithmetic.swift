//  Tensor+Arithmetic.swift
//
//  The few whole-tensor operations layers and optimizers need.

import RealModule

extension Tensor {
    /// self += other, elementwise; the shapes must match.
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "add: shapes \(shape) and \(other.shape) differ")
        scalars.withUnsafeMutableBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }
}
