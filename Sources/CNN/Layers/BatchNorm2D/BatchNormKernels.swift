//  BatchNormKernels.swift
//
//  The per-plane loops of batch norm's fast training path, sixteen lanes at a time. A plane is the
//  count = H·W values of one (n, c); μ, s = 1/√(σ² + ε), γ and β are channel c's, m = N·H·W.
//
//  Forward:   x̂ = (x − μ)·s,   y = γ·x̂ + β;   in evaluation mode y = x·a + b from the running statistics
//  Backward:  Σ dy and Σ dy·x̂ over the plane, x̂ recomputed from x by the forward's two Float operations;
//             dx = k·(m·dy − Σdy − x̂·Σdy·x̂),   k = γ·s/m
//
//  Each value goes through the same Float operations, in the same order, as the scalar formula (lane by
//  lane, no fused multiply-add), and the sums accumulate as `Reductions.sum` and `Reductions.dot` do
//  (sixteen lanes, reduced by `SIMD16.sum()`, then the tail in order): the results are the scalar loops'
//  bits, and x̂ recomputed is the x̂ the forward used.
//
//  Wrapping arithmetic: `&+` on indices below the plane's count, which is the count of a buffer that exists.

enum BatchNormKernels {
    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// y[i] = γ·((x[i] − μ)·s) + β for i < count.
    @inline(__always)
    static func normalize(_ x: UnsafePointer<Float>, count n: Int, mean: Float, inverseStd s: Float,
                          gamma g: Float, beta b: Float, into y: UnsafeMutablePointer<Float>) {
        let mv = SIMD16<Float>(repeating: mean), sv = SIMD16<Float>(repeating: s)
        let gv = SIMD16<Float>(repeating: g), bv = SIMD16<Float>(repeating: b)
        var i = 0
        while i &+ 16 <= n {
            let h = (load(x + i) - mv) * sv
            store(gv * h + bv, y + i)
            i &+= 16
        }
        while i < n {
            let h = (x[i] - mean) * s
            y[i] = g * h + b
            i &+= 1
        }
    }

    /// y[i] = x[i]·a + b for i < count: evaluation mode's y = γ·(x − running_mean)/√(running_var + ε) + β with
    /// a = γ/√(running_var + ε), b = β − running_mean·a. One multiply, then one add, per value.
    @inline(__always)
    static func affine(_ x: UnsafePointer<Float>, count n: Int, scale a: Float, shift b: Float,
                       into y: UnsafeMutablePointer<Float>) {
        let av = SIMD16<Float>(repeating: a), bv = SIMD16<Float>(repeating: b)
        var i = 0
        while i &+ 16 <= n {
            store(load(x + i) * av + bv, y + i)
            i &+= 16
        }
        while i < n {
            y[i] = x[i] * a + b
            i &+= 1
        }
    }

    /// (Σ dy[i], Σ dy[i]·x̂[i]) for i < count, x̂[i] = (x[i] − μ)·s: the bits of `Reductions.sum(dy, count)` and
    /// `Reductions.dot(dy, x̂, count)`.
    @inline(__always)
    static func sums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int, mean: Float,
                     inverseStd s: Float) -> (dy: Float, dyXHat: Float) {
        let mv = SIMD16<Float>(repeating: mean), sv = SIMD16<Float>(repeating: s)
        var sumDy = SIMD16<Float>(repeating: 0), sumDyXHat = SIMD16<Float>(repeating: 0)
        var i = 0
        while i &+ 16 <= n {
            let d = load(dy + i), h = (load(x + i) - mv) * sv
            sumDy += d
            sumDyXHat += d * h
            i &+= 16
        }
        var a = sumDy.sum(), b = sumDyXHat.sum()
        while i < n {
            let h = (x[i] - mean) * s
            a += dy[i]
            b += dy[i] * h
            i &+= 1
        }
        return (a, b)
    }

    /// dx[i] = k·(m·dy[i] − Σdy − x̂[i]·Σdy·x̂) for i < count, x̂[i] = (x[i] − μ)·s. dx may be dy itself.
    @inline(__always)
    static func inputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int, mean: Float,
                              inverseStd s: Float, k: Float, m: Float, sumDy: Float, sumDyXHat: Float,
                              into dx: UnsafeMutablePointer<Float>) {
        let mv = SIMD16<Float>(repeating: mean), sv = SIMD16<Float>(repeating: s)
        let kv = SIMD16<Float>(repeating: k), mm = SIMD16<Float>(repeating: m)
        let a = SIMD16<Float>(repeating: sumDy), b = SIMD16<Float>(repeating: sumDyXHat)
        var i = 0
        while i &+ 16 <= n {
            let h = (load(x + i) - mv) * sv
            store(kv * (mm * load(dy + i) - a - h * b), dx + i)
            i &+= 16
        }
        while i < n {
            let h = (x[i] - mean) * s
            dx[i] = k * (m * dy[i] - sumDy - h * sumDyXHat)
            i &+= 1
        }
    }
}
