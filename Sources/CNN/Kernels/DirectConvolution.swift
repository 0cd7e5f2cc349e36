//  DirectConvolution.swift
//
//  A direct stride-1 convolution for layers with one input channel whose ReLU and max pooling are fused:
//  the first layer of the MNIST nets. Kernels up to 8×8.
//
//  Dimension legend: F filters, H×W input, HH×WW kernel, P padding, Ho = H + 2P − HH + 1, Wo = W + 2P − WW + 1,
//  Hx = H + 2P, and R the stored row length, max(W + 2P, 32·⌈Wo/32⌉).
//
//  x̃ is the image zero-padded by P, on Hx rows of R (zeros after column W + P) with a little slack after.
//  The output is stored on rows of R too: output (i, j) at t = i·R + j reads x̃[t + k·R + l], so
//      forward:  y[f, t] = b[f] + Σ_k Σ_l w[f, k, l] · x̃[t + k·R + l]      for j < 32·⌈Wo/32⌉ (j ≥ Wo is junk)
//  computed for 4 filters × 32 positions at a time in eight vector accumulators with fused multiply-adds:
//  each x̃ vector serves four filters and each weight two vectors. As im2col and sgemm the same layer is an
//  (F, HH·WW)·(HH·WW, Ho·Wo) product only HH·WW deep (49 for 7×7), which OpenBLAS runs at about 30 GFLOP/s
//  per core here: packing its operands costs about as much as the product.
//
//  Backward. After the ReLU and pooling, dy is zero except at each window's winner a (a stored position t)
//  where the pooled output out[e] is > 0, so only the windows are visited:
//      dw[f, k, l] += g[e] · x̃[a + k·R + l],   db[f] += g[e],   dx̃[a + k·R + l] += g[e] · w[f, k, l]
//  with g[e] = dOut[e] where out[e] > 0, else 0 (taken without a branch: which windows are kept is random).
//  That is a quarter of the dense products' work for 2×2 pooling. The sums run in window order, not in
//  output order, so dw agrees with the im2col path to rounding, not bit for bit.

/// The padded layout and kernels of a direct one-channel convolution with fused ReLU and pooling.
public struct DirectConvolution {
    public let geometry: ConvGeometry
    /// Hx
    public let paddedHeight: Int
    /// R: positions per stored row, of x̃ and of the output alike.
    public let rowLength: Int

    /// Whether the kernels can compute `g`: one input channel, stride 1, kernels up to 8×8.
    public static func supports(_ g: ConvGeometry) -> Bool {
        g.c == 1 && g.stride == 1 && g.kh <= 8 && g.kw <= 8
    }

    /// Whether the fast convolution takes this path for `g` by itself: supported, followed by a fused pooling,
    /// and rows at least 16 wide (narrower ones would waste most of each 32-position block).
    public static func applies(to g: ConvGeometry, pooled: Bool) -> Bool {
        pooled && supports(g) && g.wo >= 16
    }

    public init(_ g: ConvGeometry) {
        precondition(Self.supports(g), "DirectConvolution needs one input channel, stride 1 and kernels up to 8×8")
        geometry = g
        paddedHeight = g.h + 2 * g.padding
        rowLength = max(g.w + 2 * g.padding, (g.wo + 31) / 32 * 32)
    }

    /// Floats in x̃ or dx̃: Hx rows of R, and the slack that vector reads of the last rows run into (at most
    /// WW − 2 past the rows in the forward, 7 in the backward's 8-wide rows).
    @inlinable public var paddedCount: Int { paddedHeight * rowLength + 16 }

    /// Floats in one output plane as stored: Ho·R.
    @inlinable public var planeCount: Int { geometry.ho * rowLength }

    /// x (H, W) → x̃ (`paddedCount` floats).
    public func pad(_ x: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
        let g = geometry, R = rowLength, P = g.padding
        padded.update(repeating: 0, count: paddedCount)
        for h in 0..<g.h { (padded + ((h &+ P) &* R &+ P)).update(from: x + h &* g.w, count: g.w) }
    }

    /// dx̃ → dx (H, W), overwritten: the inside of the padding.
    public func crop(_ padded: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let g = geometry, R = rowLength, P = g.padding
        for h in 0..<g.h { (dx + h &* g.w).update(from: padded + ((h &+ P) &* R &+ P), count: g.w) }
    }

    // MARK: Forward

    /// x̃ → y (F, Ho, R), the columns j ≥ 32·⌈Wo/32⌉ of each row left as they were.
    /// w (F, HH, WW), b (F).
    public func forward(_ padded: UnsafePointer<Float>, weights w: UnsafePointer<Float>, bias b: UnsafePointer<Float>,
                        filters F: Int, into y: UnsafeMutablePointer<Float>) {
        let taps = geometry.kh * geometry.kw
        var f = 0
        while f < F {
            let (wf, bf, yf) = (w + f &* taps, b + f, y + f &* planeCount)
            switch F &- f {
            case 1: block(Count1.self, padded, wf, bf, yf)
            case 2: block(Count2.self, padded, wf, bf, yf)
            case 3: block(Count3.self, padded, wf, bf, yf)
            default: block(Count4.self, padded, wf, bf, yf)
            }
            f &+= 4
        }
    }

    /// B.value (1 … 4) filters from `w`, 32 positions at a time: two 16-wide accumulators per filter.
    @inline(__always)
    private func block<B: StaticCount>(_: B.Type, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                       _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let g = geometry, R = rowLength, kw = g.kw, taps = g.kh * g.kw, plane = planeCount
        let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(y)
        let n = B.value
        for i in 0..<g.ho {
            var j = 0
            while j < g.wo {
                let t = i &* R &+ j
                var a0 = SIMD16<Float>(repeating: b[0]), c0 = a0
                var a1 = SIMD16<Float>(repeating: n > 1 ? b[1] : 0), c1 = a1
                var a2 = SIMD16<Float>(repeating: n > 2 ? b[2] : 0), c2 = a2
                var a3 = SIMD16<Float>(repeating: n > 3 ? b[3] : 0), c3 = a3
                for k in 0..<g.kh {
                    let row = raw + 4 &* (t &+ k &* R), wk = w + k &* kw
                    for l in 0..<kw {
                        let v = (row + 4 &* l).loadUnaligned(as: SIMD16<Float>.self)
                        let u = (row + 4 &* (l &+ 16)).loadUnaligned(as: SIMD16<Float>.self)
                        let w0 = wk[l]
                        a0 = a0.addingProduct(v, w0); c0 = c0.addingProduct(u, w0)
                        if n > 1 { let w1 = wk[taps &+ l]; a1 = a1.addingProduct(v, w1); c1 = c1.addingProduct(u, w1) }
                        if n > 2 { let w2 = wk[2 &* taps &+ l]; a2 = a2.addingProduct(v, w2); c2 = c2.addingProduct(u, w2) }
                        if n > 3 { let w3 = wk[3 &* taps &+ l]; a3 = a3.addingProduct(v, w3); c3 = c3.addingProduct(u, w3) }
                    }
                }
                @inline(__always) func store(_ a: SIMD16<Float>, _ c: SIMD16<Float>, _ f: Int) {
                    let at = out + 4 &* (f &* plane &+ t)
                    at.storeBytes(of: a, as: SIMD16<Float>.self)
                    (at + 64).storeBytes(of: c, as: SIMD16<Float>.self)
                }
                store(a0, c0, 0)
                if n > 1 { store(a1, c1, 1) }
                if n > 2 { store(a2, c2, 2) }
                if n > 3 { store(a3, c3, 3) }
                j &+= 32
            }
        }
    }

    // MARK: Backward

    /// Adds one image's dw (F, HH, WW) and db (F) from its masked pooled gradient g (F, `pooledSize`): for the
    /// windows e of each plane, g[e] times the patch of x̃ at the winner argmax[e].
    public func accumulateFilterGradient(_ g: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, pooledSize: Int,
                                         padded x: UnsafePointer<Float>, filters F: Int,
                                         dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>) {
        for f in 0..<F {
            let (ge, ae, dwf) = (g + f &* pooledSize, argmax + f &* pooledSize, dw + f &* geometry.kh &* geometry.kw)
            switch geometry.kh {
            case 1: gather(Count1.self, ge, ae, pooledSize, x, dwf)
            case 2: gather(Count2.self, ge, ae, pooledSize, x, dwf)
            case 3: gather(Count3.self, ge, ae, pooledSize, x, dwf)
            case 4: gather(Count4.self, ge, ae, pooledSize, x, dwf)
            case 5: gather(Count5.self, ge, ae, pooledSize, x, dwf)
            case 6: gather(Count6.self, ge, ae, pooledSize, x, dwf)
            case 7: gather(Count7.self, ge, ae, pooledSize, x, dwf)
            default: gather(Count8.self, ge, ae, pooledSize, x, dwf)
            }
            db[f] += Reductions.sum(ge, pooledSize)
        }
    }

    /// One filter's dw (Rows.count rows of WW) from its windows: row k of the kernel's gradient in the
    /// 8-lane accumulator r_k (lanes ≥ WW unused), one fused multiply-add per row and window.
    @inline(__always)
    private func gather<Rows: StaticCount>(_: Rows.Type, _ g: UnsafePointer<Float>, _ argmax: UnsafePointer<Int32>,
                                           _ count: Int, _ x: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>) {
        let R = rowLength, kw = geometry.kw, kh = Rows.value
        let raw = UnsafeRawPointer(x)
        var r0 = SIMD8<Float>(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0
        for e in 0..<count {
            let ge = g[e], p = raw + 4 &* Int(argmax[e])
            @inline(__always) func row(_ k: Int) -> SIMD8<Float> { (p + 4 &* k &* R).loadUnaligned(as: SIMD8<Float>.self) }
            r0 = r0.addingProduct(row(0), ge)
            if kh > 1 { r1 = r1.addingProduct(row(1), ge) }
            if kh > 2 { r2 = r2.addingProduct(row(2), ge) }
            if kh > 3 { r3 = r3.addingProduct(row(3), ge) }
            if kh > 4 { r4 = r4.addingProduct(row(4), ge) }
            if kh > 5 { r5 = r5.addingProduct(row(5), ge) }
            if kh > 6 { r6 = r6.addingProduct(row(6), ge) }
            if kh > 7 { r7 = r7.addingProduct(row(7), ge) }
        }
        @inline(__always) func add(_ r: SIMD8<Float>, _ k: Int) {
            guard k < kh else { return }
            for l in 0..<kw { dw[k &* kw &+ l] += r[l] }
        }
        add(r0, 0); add(r1, 1); add(r2, 2); add(r3, 3); add(r4, 4); add(r5, 5); add(r6, 6); add(r7, 7)
    }

    /// Adds one image's dx̃ from its masked pooled gradient g (F, `pooledSize`): for the windows e of each
    /// plane, g[e] times the kernel, at the winner argmax[e]. dx̃ (`paddedCount`) is zeroed by the caller;
    /// w (F, HH, WW).
    public func accumulateInputGradient(_ g: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, pooledSize: Int,
                                        weights w: UnsafePointer<Float>, filters F: Int, into dx: UnsafeMutablePointer<Float>) {
        let R = rowLength, kh = geometry.kh, kw = geometry.kw
        let raw = UnsafeMutableRawPointer(dx)
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: kh) { kernel in
            for f in 0..<F {
                // Row k of the kernel in 8 lanes, zero past WW so that the lanes beyond the patch add nothing.
                for k in 0..<kh {
                    var v = SIMD8<Float>()
                    for l in 0..<kw { v[l] = w[(f &* kh &+ k) &* kw &+ l] }
                    kernel[k] = v
                }
                let first = f &* pooledSize
                for e in first..<(first &+ pooledSize) where g[e] != 0 {
                    let ge = g[e], p = raw + 4 &* Int(argmax[e])
                    for k in 0..<kh {
                        let at = p + 4 &* k &* R
                        at.storeBytes(of: at.loadUnaligned(as: SIMD8<Float>.self).addingProduct(kernel[k], ge),
                                      as: SIMD8<Float>.self)
                    }
                }
            }
        }
    }
}

/// A small count as a type, so that each value is compiled on its own with its loops unrolled.
private protocol StaticCount { static var value: Int { get } }
private enum Count1: StaticCount { static var value: Int { 1 } }
private enum Count2: StaticCount { static var value: Int { 2 } }
private enum Count3: StaticCount { static var value: Int { 3 } }
private enum Count4: StaticCount { static var value: Int { 4 } }
private enum Count5: StaticCount { static var value: Int { 5 } }
private enum Count6: StaticCount { static var value: Int { 6 } }
private enum Count7: StaticCount { static var value: Int { 7 } }
private enum Count8: StaticCount { static var value: Int { 8 } }
