//  BatchNormKernels+ChannelsLast.swift
//
//  Batch norm's per-image training and evaluation loops on channels-last activations. One image is (H, W, C):
//  position p = h·W + w, channel c at p·C + c. Every loop takes one block of sixteen channels, c0 ..< c0 + 16
//  (C a multiple of 16; the pointers point at channel c0 of position 0), as one SIMD16 vector per position, so
//  lane ℓ computes channel c0 + ℓ. μ, s = 1/√(σ² + ε), γ, β, a, b and k are vectors of the block's channels.
//
//  Every value gets the bits the channels-first loops (BatchNormKernels.swift, Reductions.swift,
//  ReLUPoolEpilogue.swift) give it on its channel's (H, W) plane:
//  - the elementwise formulas (y = γ·((x − μ)·s) + β, y = x·a + b, dx = k·(m·dy − Σdy − x̂·Σdy·x̂), the ReLU
//    on the bits, the ReLU's mask) are the same Float operations in the same order, lane by lane;
//  - a plane sum Σ_p t(p) there is: sixteen accumulators a_ℓ = ((+0 + t(ℓ)) + t(16 + ℓ)) + … over the
//    positions p ≡ ℓ (mod 16) below 16⌊HW/16⌋, in order; then `SIMD16<Float>.sum()` of them, which is the loop
//    `result = −0; for i in indices { result += self[i] }`, so s = ((−0 + a_0) + a_1) + … + a_15 in lane order (`BatchNormChannelsLastTests` checks it on values that
//    round differently in reverse order or as a tree); then the tail, s = (s + t(16⌊HW/16⌋)) + … + t(HW − 1) in order.
//    Here each a_ℓ is a vector over the block's channels and s the same chain of vector additions, so each
//    lane is its channel's plane sum. s starts as a_0 itself: −0 + a_0 = a_0, since a_0, a sum
//    that starts at +0, is never −0 nor a signalling NaN. The accumulators
//    run eight at a time (lanes 0–7, then 8–15), which changes no addition.
//  - the fused 2×2, stride-2 pooling takes each window's four positions (top left, top right, bottom left,
//    bottom right: the row kernels' a, b, c, d) through `ReLUPoolEpilogue.reluPoolWindows`, the function every
//    channels-first ReLU-and-2×2-pooling row goes through, lane by lane; its winner, an offset 0, 1, w or w + 1
//    there, is here the code 0, 1, 2 or 3 (the same selection with row stride 2), one Int32 per pooled value.
//    Backward stores +0 + dOut·[out > 0] at the winner and +0 at the other three positions and at the
//    positions of no window (the last row and column of an odd H or W), which is `scatterMasked`'s plane.
//
//  Wrapping arithmetic: `&+`, `&*` on indices below the count of a buffer that exists (tensor and workspace
//  sizes are computed with checked arithmetic when they are made); `&-`, `&>>` on Int32 lanes where wrapping
//  is what they compute (a sign bit spread into a mask).

extension BatchNormKernels {
    @inline(__always)
    static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func bits(_ v: SIMD16<Float>) -> SIMD16<Int32> { unsafeBitCast(v, to: SIMD16<Int32>.self) }

    @inline(__always)
    private static func float(_ v: SIMD16<Int32>) -> SIMD16<Float> { unsafeBitCast(v, to: SIMD16<Float>.self) }

    /// Σ term(p) for p < count, lane by lane in the order of a channels-first plane sum (see the top of this
    /// file): sixteen accumulators over p ≡ ℓ (mod 16), added in lane order, then the tail in order.
    @inline(__always)
    static func planeSum(count n: Int, _ term: (Int) -> SIMD16<Float>) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        let full = n & ~15
        var s = V()
        var g = 0
        while g < 16 {
            var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
            var p = g
            while p < full {
                a0 += term(p); a1 += term(p &+ 1); a2 += term(p &+ 2); a3 += term(p &+ 3)
                a4 += term(p &+ 4); a5 += term(p &+ 5); a6 += term(p &+ 6); a7 += term(p &+ 7)
                p &+= 16
            }
            if g == 0 { s = a0 } else { s += a0 }
            s += a1; s += a2; s += a3; s += a4; s += a5; s += a6; s += a7
            g &+= 8
        }
        var p = full
        while p < n { s += term(p); p &+= 1 }
        return s
    }

    /// `planeSum` of two terms at once, (Σ first(p), Σ second(p)), four accumulators of each at a time (lanes
    /// 0–3, 4–7, 8–11, 12–15), which changes no addition.
    @inline(__always)
    static func planeSums(count n: Int, _ term: (Int) -> (SIMD16<Float>, SIMD16<Float>)) -> (SIMD16<Float>, SIMD16<Float>) {
        let full = n & ~15
        var s = SIMD16<Float>(), t = SIMD16<Float>()
        var g = 0
        while g < 16 {
            var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0
            var p = g
            while p < full {
                let (u0, v0) = term(p), (u1, v1) = term(p &+ 1), (u2, v2) = term(p &+ 2), (u3, v3) = term(p &+ 3)
                a0 += u0; a1 += u1; a2 += u2; a3 += u3
                b0 += v0; b1 += v1; b2 += v2; b3 += v3
                p &+= 16
            }
            if g == 0 { s = a0; t = b0 } else { s += a0; t += b0 }
            s += a1; s += a2; s += a3
            t += b1; t += b2; t += b3
            g &+= 4
        }
        var p = full
        while p < n { let (u, v) = term(p); s += u; t += v; p &+= 1 }
        return (s, t)
    }

    /// The block's Σ x over one image's count = H·W positions, x (H·W, C) at channel c0: lane ℓ has the bits of
    /// `Reductions.sum` on channel c0 + ℓ's plane.
    @inline(__always)
    static func sumChannelsLast(_ x: UnsafePointer<Float>, count n: Int, channels C: Int) -> SIMD16<Float> {
        planeSum(count: n) { p in load16(x + p &* C) }
    }

    /// The block's Σ (x − μ)²: lane ℓ has the bits of `Reductions.sumOfSquaredDeviations` on channel c0 + ℓ's plane.
    @inline(__always)
    static func sumOfSquaredDeviationsChannelsLast(_ x: UnsafePointer<Float>, count n: Int, channels C: Int,
                                                   from mean: SIMD16<Float>) -> SIMD16<Float> {
        planeSum(count: n) { p in let d = load16(x + p &* C) - mean; return d * d }
    }

    /// (Σ dy, Σ dy·x̂) over one image's positions, x̂ = (x − μ)·s; dy and x (H·W, C) at channel c0: the bits of
    /// `sums` on each channel's plane.
    @inline(__always)
    static func sumsChannelsLast(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int, channels C: Int,
                                 mean: SIMD16<Float>, inverseStd s: SIMD16<Float>) -> (dy: SIMD16<Float>, dyXHat: SIMD16<Float>) {
        planeSums(count: n) { p in
            let d = load16(dy + p &* C), h = (load16(x + p &* C) - mean) * s
            return (d, d * h)
        }
    }

    /// One image's block through `transform` (y from x, lane by lane) and the epilogue: x (H, W, C) at channel c0
    /// → out (H, W, C) at c0, with `relu` relu(y) on the bits (`ReLUPoolEpilogue.relu`); with `pool` (needs
    /// `relu`) the 2×2, stride-2 pooling of relu(y), out (⌊H/2⌋, ⌊W/2⌋, C) at c0, and each pooled value's winner
    /// code (0–3, see the top of this file) in `codes`, laid out as out.
    @inline(__always)
    static func writeChannelsLast(_ x: UnsafePointer<Float>, height H: Int, width W: Int, channels C: Int,
                                  relu: Bool, pool: Bool, into out: UnsafeMutablePointer<Float>,
                                  codes: UnsafeMutablePointer<Int32>, _ transform: (SIMD16<Float>) -> SIMD16<Float>) {
        if !pool {
            let n = H &* W
            var p = 0
            if relu {
                while p < n {
                    let y = transform(load16(x + p &* C))
                    store16(float(ReLUPoolEpilogue.reluBits(bits(y))), out + p &* C)
                    p &+= 1
                }
            } else {
                while p < n { store16(transform(load16(x + p &* C)), out + p &* C); p &+= 1 }
            }
            return
        }
        let hp = H / 2, wp = W / 2, rowStep = W &* C
        let zero = SIMD16<Int32>(), two = Int32(2)
        for i in 0..<hp {
            for j in 0..<wp {
                let a = 2 &* i &* rowStep &+ 2 &* j &* C, e = (i &* wp &+ j) &* C
                let (best, code) = ReLUPoolEpilogue.reluPoolWindows(
                    bits(transform(load16(x + a))), bits(transform(load16(x + (a &+ C)))),
                    bits(transform(load16(x + (a &+ rowStep)))), bits(transform(load16(x + (a &+ rowStep &+ C)))),
                    at: zero, rowStride: two)
                store16(float(best), out + e)
                UnsafeMutableRawPointer(codes + e).storeBytes(of: code, as: SIMD16<Int32>.self)
            }
        }
    }

    /// One image's block of dy rebuilt through the fused ReLU [and 2×2 pooling] from the gradient of what
    /// `writeChannelsLast` wrote: dOut and out as out was laid out, codes as written; → dy (H, W, C) at c0. Without
    /// `pool`, dOut·[out > 0] (`ReLUPoolEpilogue.mask`); with it, `scatterMasked`'s plane (see the top of this file).
    @inline(__always)
    static func rebuildChannelsLast(_ dOut: UnsafePointer<Float>, output out: UnsafePointer<Float>,
                                    codes: UnsafePointer<Int32>, height H: Int, width W: Int, channels C: Int,
                                    pool: Bool, into dy: UnsafeMutablePointer<Float>) {
        @inline(__always) func masked(_ i: Int) -> SIMD16<Int32> {
            bits(load16(dOut + i)) & ReLUPoolEpilogue.positiveMask(bits(load16(out + i)))
        }
        if !pool {
            let n = H &* W
            var p = 0
            while p < n { store16(float(masked(p &* C)), dy + p &* C); p &+= 1 }
            return
        }
        let hp = H / 2, wp = W / 2, rowStep = W &* C
        let one = SIMD16<Int32>(repeating: 1), zero = SIMD16<Float>()
        for i in 0..<hp {
            for j in 0..<wp {
                let a = 2 &* i &* rowStep &+ 2 &* j &* C, e = (i &* wp &+ j) &* C
                let v = bits(zero + float(masked(e)))
                let code = UnsafeRawPointer(codes + e).loadUnaligned(as: SIMD16<Int32>.self)
                // With d = code − k: (d − 1) >> 31 is all ones where d ≤ 0, d >> 31 where d < 0, so their
                // difference in bits is all ones exactly where code = k.
                @inline(__always) func at(_ k: Int32) -> SIMD16<Float> {
                    let d = code &- SIMD16<Int32>(repeating: k)
                    return float(v & ((d &- one) &>> 31) & ~(d &>> 31))
                }
                store16(at(0), dy + a)
                store16(at(1), dy + (a &+ C))
                store16(at(2), dy + (a &+ rowStep))
                store16(at(3), dy + (a &+ rowStep &+ C))
            }
            if W & 1 == 1 {
                store16(zero, dy + (2 &* i &* rowStep &+ (W &- 1) &* C))
                store16(zero, dy + ((2 &* i &+ 1) &* rowStep &+ (W &- 1) &* C))
            }
        }
        if H & 1 == 1 {
            let last = dy + (H &- 1) &* rowStep
            for w in 0..<W { store16(zero, last + w &* C) }
        }
    }

    /// dx = k·(m·dy − Σdy − x̂·Σdy·x̂), x̂ = (x − μ)·s, over one image's positions; dy, x and dx (H·W, C) at c0.
    /// dx may be dy itself.
    @inline(__always)
    static func inputGradientChannelsLast(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int,
                                          channels C: Int, mean: SIMD16<Float>, inverseStd s: SIMD16<Float>,
                                          k: SIMD16<Float>, m: Float, sumDy a: SIMD16<Float>, sumDyXHat b: SIMD16<Float>,
                                          into dx: UnsafeMutablePointer<Float>) {
        let mm = SIMD16<Float>(repeating: m)
        var p = 0
        while p < n {
            let h = (load16(x + p &* C) - mean) * s
            store16(k * (mm * load16(dy + p &* C) - a - h * b), dx + p &* C)
            p &+= 1
        }
    }
}
