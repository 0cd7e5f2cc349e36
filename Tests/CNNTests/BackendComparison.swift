//  BackendComparison.swift
//
//  The harness behind every "fast agrees with reference" test: build one layer with `backend: .fast` and one
//  with `backend: .reference`, give them identical parameters, feed both the same seeded random input and
//  upstream gradient, and compare forward output, dInput, accumulated parameter gradients and buffers.
//
//  Tolerance (Float):   |fast − reference| ≤ atol · scale + rtol · |reference|,   rtol = 1e-4, atol = 1e-5,
//  where scale = max(1, max |reference|) over the tensor being compared.
//    Why not exact: sgemm (and the blocked loops) sum the same products in a different order, with FMAs, so each
//    term is rounded differently; Float rounding is ~6e-8 relative per operation and a sum of K terms drifts by
//    ~1e-6 relative to the magnitude of its terms for the sizes used here. rtol = 1e-4 leaves two orders of
//    magnitude of headroom; an indexing bug is wrong by the size of a whole term (≥ 1e-2 relative).
//    Why atol is scaled: an element that cancels to nearly zero keeps the absolute rounding error of its terms,
//    which is proportional to their magnitude, not to its own, so the floor is taken relative to the largest
//    value in the tensor.

import CNN
import RealModule
import TestSupport
import XCTest

/// The tolerances of every fast-against-reference comparison; see the file header for why.
enum BackendTolerance {
    static let rtol: Float = 1e-4
    static let atol: Float = 1e-5
}

/// Asserts that a fast-path tensor matches the reference within `BackendTolerance` (shapes first).
func assertAgree(
    _ fast: Tensor<Float>, _ reference: Tensor<Float>, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    let scale = max(1, reference.scalars.lazy.map { abs($0) }.max() ?? 0)
    assertClose(fast, reference, rtol: BackendTolerance.rtol, atol: BackendTolerance.atol * scale, what,
                file: file, line: line)
}

/// `t` with every scalar multiplied by `factor`.
func scaled(_ t: Tensor<Float>, by factor: Float) -> Tensor<Float> {
    Tensor(shape: t.shape, scalars: t.scalars.map { $0 * factor })
}

/// A fast layer and a reference layer with identical parameters.
struct BackendPair<L: Layer> {
    let fast: L
    let reference: L

    /// Builds both layers with `make` and fills the fast layer's parameters with N(0, 0.5²) samples
    /// (or `initialize` when given), copying them into the reference layer.
    init(_ make: (Backend) -> L, generator: inout RandomGenerator,
         initialize: ((Parameter, inout RandomGenerator) -> Void)? = nil) {
        fast = make(.fast)
        reference = make(.reference)
        for (f, r) in zip(fast.parameters, reference.parameters) {
            if let initialize {
                initialize(f, &generator)
            } else {
                f.value = randomNormalTensor(f.value.shape, scale: 0.5, using: &generator)
            }
            r.value = f.value
        }
    }

    func zeroGradients() {
        for p in fast.parameters + reference.parameters { p.gradient.zero() }
    }
}

/// Runs training forward and backward through both layers of `pair` for each shape of `inputShapes` in turn
/// (so a later, different batch size exercises the fast path's workspace resizing) and asserts agreement of:
///   1. the forward output and dInput;
///   2. every parameter gradient, after one backward;
///   3. every parameter gradient after a second, identical forward/backward: backward accumulates (+=), so the
///      fast gradients are twice those of step 2 and still match the reference;
///   4. every buffer (batch norm's running statistics), which both backends update;
///   5. when `evaluation`, the evaluation-mode forward output.
///
/// - Parameters:
///   - makeInput: draws an input of the given shape; N(0, 1) samples by default.
func assertBackendsAgree<L: Layer>(
    _ label: String, pair: BackendPair<L>, inputShapes: [[Int]], evaluation: Bool = true,
    generator: inout RandomGenerator,
    makeInput: (([Int], inout RandomGenerator) -> Tensor<Float>)? = nil,
    file: StaticString = #filePath, line: UInt = #line
) {
    for shape in inputShapes {
        let what = "\(label), input \(shape)"
        guard let outShape = pair.fast.outputShape(for: shape) else {
            XCTFail("\(what): the layer cannot take this input", file: file, line: line)
            return
        }
        let x: Tensor<Float> = makeInput?(shape, &generator) ?? randomNormalTensor(shape, using: &generator)
        let dy: Tensor<Float> = randomNormalTensor(outShape, using: &generator)
        pair.zeroGradients()

        // 1. forward and dInput
        let yFast = pair.fast.forward(x, mode: .training)
        let yReference = pair.reference.forward(x, mode: .training)
        assertAgree(yFast, yReference, "\(what): forward output", file: file, line: line)
        let dxFast = pair.fast.backward(dy)
        let dxReference = pair.reference.backward(dy)
        assertAgree(dxFast, dxReference, "\(what): dInput", file: file, line: line)

        // 2. parameter gradients after one backward
        let once = pair.fast.parameters.map(\.gradient)
        for (f, r) in zip(pair.fast.parameters, pair.reference.parameters) {
            assertAgree(f.gradient, r.gradient, "\(what): d\(f.name)", file: file, line: line)
        }

        // 3. a second pass accumulates
        let yFast2 = pair.fast.forward(x, mode: .training)
        let yReference2 = pair.reference.forward(x, mode: .training)
        assertAgree(yFast2, yReference2, "\(what): forward output of a second pass", file: file, line: line)
        let dxFast2 = pair.fast.backward(dy)
        let dxReference2 = pair.reference.backward(dy)
        assertAgree(dxFast2, dxReference2, "\(what): dInput of a second pass", file: file, line: line)
        for (index, (f, r)) in zip(pair.fast.parameters, pair.reference.parameters).enumerated() {
            assertAgree(f.gradient, scaled(once[index], by: 2), "\(what): d\(f.name) after two backward passes is 2× one",
                        file: file, line: line)
            assertAgree(f.gradient, r.gradient, "\(what): d\(f.name) after two backward passes", file: file, line: line)
        }

        // 4. buffers
        for (f, r) in zip(pair.fast.buffers, pair.reference.buffers) {
            assertAgree(f.get(), r.get(), "\(what): \(f.name)", file: file, line: line)
        }

        // 5. evaluation mode
        if evaluation {
            let eFast = pair.fast.forward(x, mode: .evaluation)
            let eReference = pair.reference.forward(x, mode: .evaluation)
            assertAgree(eFast, eReference, "\(what): evaluation forward", file: file, line: line)
        }
    }
}

/// Runs `body` with the fast kernels split over `threads` threads, restoring the previous count afterwards;
/// returns what `body` returns.
@discardableResult
func withThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
    let previous = Parallel.threads
    Parallel.setThreads(threads)
    defer { Parallel.setThreads(previous) }
    return try body()
}

/// A network of `specs` (weights from `seed`) after three SGD training steps on random batches of 8 (so that
/// batch norm's running statistics and every weight have moved), and a batch of `n` images of shape `image`
/// (data from `seed + 1`).
func trainedNetwork(_ specs: [LayerSpec], image: [Int], n: Int, seed: UInt64) -> (Sequential, Tensor<Float>) {
    var g = RandomGenerator(seed: seed)
    let net = Sequential(specs: specs, generator: &g)
    let sgd = SGD(parameters: net.parameters, learningRate: 0.05, momentum: 0.9)
    let loss = SoftmaxCrossEntropy()
    var data = RandomGenerator(seed: seed + 1)
    for step in 0..<3 {
        let x: Tensor<Float> = randomNormalTensor([8] + image, using: &data)
        let y = net.forward(x, mode: .training)
        net.backward(loss(logits: y, labels: (0..<8).map { ($0 + step) % (y.count / 8) }).dLogits)
        sgd.step()
    }
    return (net, randomNormalTensor([n] + image, using: &data))
}
