//  AssertClose.swift
//
//  Shared test helpers: approximate tensor comparison, relative error, central-difference gradients and
//  seeded random tensors. Used by every test target that compares tensors.

import CNN
import RealModule
import XCTest

// MARK: - Approximate equality

/// Asserts that `a` and `b` have the same shape and that every scalar satisfies
///
///     |a[t] − b[t]| ≤ atol + rtol · |b[t]|
///
/// (NumPy's `allclose` convention: `b` is the expected value). A NaN on either side fails.
///
/// On failure it reports the shapes if they differ; otherwise how many scalars are out of tolerance, and the
/// largest difference with its flat index and both values there.
public func assertClose<T: TensorScalar>(
    _ a: Tensor<T>, _ b: Tensor<T>, rtol: T, atol: T, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let prefix = message.isEmpty ? "" : "\(message): "
    guard a.shape == b.shape else {
        XCTFail("\(prefix)shapes differ: \(a.shape) vs \(b.shape)", file: file, line: line)
        return
    }
    var failures = 0
    var worstIndex = -1
    var worstExcess: T = 0   // |a − b| − tolerance at the worst index; +∞ for a NaN
    for t in 0..<a.count {
        let difference = abs(a.scalars[t] - b.scalars[t])
        let tolerance = atol + rtol * abs(b.scalars[t])
        if difference <= tolerance { continue }   // false for NaN, so a NaN counts as a failure
        failures += 1
        let excess = difference.isNaN ? T.infinity : difference - tolerance
        if worstIndex < 0 || excess > worstExcess {
            worstIndex = t
            worstExcess = excess
        }
    }
    if failures > 0 {
        let x = a.scalars[worstIndex], y = b.scalars[worstIndex]
        XCTFail("""
            \(prefix)\(failures) of \(a.count) scalars differ (shape \(a.shape), rtol \(rtol), atol \(atol)); \
            largest difference \(abs(x - y)) at flat index \(worstIndex): \(x) vs \(y)
            """, file: file, line: line)
    }
}

/// The relative error of `a` against `b` in the maximum norm:
///
///     relativeError(a, b) = max_t |a[t] − b[t]|  /  max(1e-12, max_t |a[t]|, max_t |b[t]|)
///
/// i.e. the largest elementwise difference measured against the largest magnitude in either tensor (with a
/// floor of 1e-12 so two all-zero tensors give 0, not NaN). This is the criterion of the gradient checks:
/// central differences in Double with h = 1e-5 agree with a correct analytic gradient to about 1e-9 or
/// better in this measure, while an indexing bug (a wrong, missing or doubled term) is of the order of the
/// gradient's own entries and gives an error near 1e-2 … 1. Unlike the per-element ratio
/// |a − b| / max(|a|, |b|), it does not blow up on entries that are zero or cancel (dead ReLU units, a bias
/// gradient that sums to nearly zero), where the numerical estimate is pure round-off.
///
/// Returns NaN if either tensor contains a NaN. - Precondition: the shapes are equal.
public func relativeError<T: TensorScalar>(_ a: Tensor<T>, _ b: Tensor<T>) -> T {
    precondition(a.shape == b.shape, "relativeError: shapes differ: \(a.shape) vs \(b.shape)")
    var maxDifference: T = 0
    var maxMagnitude: T = 1e-12
    for t in 0..<a.count {
        let x = a.scalars[t], y = b.scalars[t]
        if x.isNaN || y.isNaN { return .nan }
        maxDifference = max(maxDifference, abs(x - y))
        maxMagnitude = max(maxMagnitude, abs(x), abs(y))
    }
    return maxDifference / maxMagnitude
}

// MARK: - Numerical gradients

/// The gradient of a scalar function `f` at `x` by central differences:
///
///     grad[t] = (f(x + h·e_t) − f(x − h·e_t)) / 2h
///
/// Calls `f` 2·x.count times. The truncation error is O(h²) and the round-off O(ε·|f|/h); h = 1e-5 in
/// Double balances the two at roughly 1e-10 relative to the gradient.
public func numericalGradient(
    of f: (Tensor<Double>) -> Double, at x: Tensor<Double>, h: Double = 1e-5
) -> Tensor<Double> {
    var gradient = Tensor<Double>(shape: x.shape)
    var probe = x
    for t in 0..<x.count {
        let original = probe.scalars[t]
        probe.scalars[t] = original + h
        let plus = f(probe)
        probe.scalars[t] = original - h
        let minus = f(probe)
        probe.scalars[t] = original
        gradient.scalars[t] = (plus - minus) / (2 * h)
    }
    return gradient
}

/// The gradient at `x` of `loss(x) = Σ_t forward(x)[t] · upstream[t]`, by central differences.
///
/// This is the common case of a gradient check: for a fixed (random) upstream gradient dy, the derivative of
/// this loss with respect to the input is exactly what a backward pass returns for `dOutput: dy`, so
/// `backward(upstream)` can be compared with this directly. To check a parameter gradient, close over the
/// input and let `forward` take the parameter.
///
/// - Precondition: `forward(x)` has the shape of `upstream`.
public func numericalGradient(
    of forward: (Tensor<Double>) -> Tensor<Double>, at x: Tensor<Double>, upstream: Tensor<Double>,
    h: Double = 1e-5
) -> Tensor<Double> {
    numericalGradient(of: { sumOfProducts(forward($0), upstream) }, at: x, h: h)
}

/// Σ_t a[t] · b[t], the loss whose gradient with respect to `a` is `b`.
///
/// - Precondition: the shapes are equal.
public func sumOfProducts<T: TensorScalar>(_ a: Tensor<T>, _ b: Tensor<T>) -> T {
    precondition(a.shape == b.shape, "sumOfProducts: shapes differ: \(a.shape) vs \(b.shape)")
    var sum: T = 0
    for t in 0..<a.count {
        sum += a.scalars[t] * b.scalars[t]
    }
    return sum
}

// MARK: - Seeded random tensors

/// A tensor of independent normal samples with mean 0 and standard deviation `scale`.
///
/// The samples come from `RandomGenerator.nextNormal()` (Float), converted to `T`; one seeded generator makes
/// a test repeat exactly.
public func randomNormalTensor<T: TensorScalar>(
    _ shape: [Int], scale: T = 1, using generator: inout RandomGenerator
) -> Tensor<T> {
    var tensor = Tensor<T>(shape: shape)
    for t in 0..<tensor.count {
        tensor.scalars[t] = scale * T(generator.nextNormal())
    }
    return tensor
}

/// A tensor of independent uniform samples in [low, high).
public func randomUniformTensor<T: TensorScalar>(
    _ shape: [Int], low: T, high: T, using generator: inout RandomGenerator
) -> Tensor<T> {
    var tensor = Tensor<T>(shape: shape)
    for t in 0..<tensor.count {
        tensor.scalars[t] = low + (high - low) * T(generator.nextUniform())
    }
    return tensor
}

/// A tensor whose scalars are all distinct and at least `spacing` apart: a random permutation of
/// `spacing · (t − count/2)` for t in 0..<count.
///
/// For max pooling gradient checks: with `spacing` much larger than the finite-difference step, perturbing
/// one input never changes which position is a window's maximum, and there are no ties.
public func randomDistinctTensor<T: TensorScalar>(
    _ shape: [Int], spacing: T = 0.01, using generator: inout RandomGenerator
) -> Tensor<T> {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { spacing * T($0 - count / 2) }
    return Tensor(shape: shape, scalars: values.shuffled(using: &generator))
}

/// A tensor whose scalars are at least `margin` away from zero: normal samples pushed outward,
/// `sign(z) · (margin + |z|)`. For ReLU gradient checks, where the function has a kink at 0.
public func randomAwayFromZeroTensor<T: TensorScalar>(
    _ shape: [Int], margin: T = 0.1, using generator: inout RandomGenerator
) -> Tensor<T> {
    var tensor: Tensor<T> = randomNormalTensor(shape, using: &generator)
    for t in 0..<tensor.count {
        let z = tensor.scalars[t]
        tensor.scalars[t] = z < 0 ? z - margin : z + margin
    }
    return tensor
}
