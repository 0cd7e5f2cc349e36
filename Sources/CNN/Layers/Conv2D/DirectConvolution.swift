//  DirectConvolution.swift
//
//  A direct stride-1 convolution for layers with few input channels whose ReLU and max pooling are fused
//  (the first layers of the MNIST nets, and lenet5's second). Kernels up to 8×8.
//
//  Dimensions (the module's legend, Sources/CNN/README.md): C channels, F filters, H×W input, HH×WW kernel, P padding, Hx = H + 2P, R = W + 2P,
//  Ho = Hx − HH + 1, Wo = R − WW + 1, L = Ho·R.
//
//  x̃ is the image zero-padded by P (C, Hx, R), with a little slack after. The output is stored on rows of R
//  too, as on PaddedColumns' padded width: output (i, j) at t = i·R + j reads x̃[c, t + k·R + l], so
//      forward:  y[f, t] = b[f] + Σ_c Σ_k Σ_l w[f, c, k, l] · x̃[c, t + k·R + l]      t in 0..<L (j ≥ Wo is junk)
//  computed for 4 filters × 48 positions at a time in twelve vector accumulators with fused multiply-adds
//  (32 positions in eight on planes of fewer than 48): each x̃ vector serves four filters and each weight
//  three vectors. The last block of a plane is moved back
//  to end at L, overlapping the one before (its positions are computed twice, the same way). As im2col and
//  sgemm, a one-channel layer is an (F, HH·WW)·(HH·WW, Ho·Wo) product only HH·WW deep (49 for 7×7), which
//  OpenBLAS runs slowly: it packs both operands for so little arithmetic.
//
//  Backward. After the ReLU and pooling, dy is zero except at each window's winner a (a stored position t)
//  where the pooled output out[e] is > 0, so only the windows are visited:
//      dw[f, c, k, l] += g[e] · x̃[c, a + k·R + l],   db[f] += g[e],   dx̃[c, a + k·R + l] += g[e] · w[f, c, k, l]
//  with g[e] = dOut[e]·[out[e] > 0] (masked beforehand: which windows are kept is random, a branch would
//  guess wrong half the time). That is a quarter of the dense products' work for 2×2 pooling. The sums run
//  in window order, not in output order, so the results agree with the im2col path to rounding, not bit for bit.
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`.

/// The padded layout and kernels of a direct convolution with fused ReLU and pooling.
public struct DirectConvolution {
    public let geometry: ConvGeometry
    /// Hx
    public let paddedHeight: Int
    /// R: positions per stored row, of x̃ and of the output alike.
    public let rowLength: Int

    /// Whether the kernels can compute `g`: stride 1, kernels up to 8×8, and at least one 32-position block
    /// per plane.
    public static func supports(_ g: ConvGeometry) -> Bool {
        g.stride == 1 && g.kh <= 8 && g.kw <= 8 && g.ho * (g.w + 2 * g.padding) >= 32
    }

    public init(_ g: ConvGeometry) {
        precondition(Self.supports(g), "DirectConvolution needs stride 1, kernels up to 8×8 and planes of 32 positions")
        geometry = g
        paddedHeight = g.h + 2 * g.padding
        rowLength = g.w + 2 * g.padding
    }

    /// Floats in one channel of x̃: Hx·R.
    @inlinable public var paddedPlane: Int { paddedHeight * rowLength }

    /// Floats in x̃ or dx̃: C planes and the slack that vector reads of the last rows run into (at most
    /// WW − 2 past the planes in the forward, 7 in the backward's 8-wide rows).
    @inlinable public var paddedCount: Int { geometry.c * paddedPlane + 16 }

    /// Floats in one output plane as stored: L = Ho·R.
    @inlinable public var planeCount: Int { geometry.ho * rowLength }

    /// Floats in the stored output of `filters` planes: F·L.
    @inlinable public func outputCount(filters F: Int) -> Int { F * planeCount }

    /// x (C, H, W) → x̃ (`paddedCount` floats).
    public func pad(_ x: UnsafePointer<Float>, into slice: WorkspaceSlice<Float>) {
        let padded = slice.pointer(for: paddedCount, "DirectConvolution.pad")
        let g = geometry, R = rowLength, P = g.padding
        padded.update(repeating: 0, count: paddedCount)
        for c in 0..<g.c {
            for h in 0..<g.h {
                (padded + (c &* paddedPlane &+ (h &+ P) &* R &+ P)).update(from: x + (c &* g.h &+ h) &* g.w, count: g.w)
            }
        }
    }

    /// dx̃ → dx (C, H, W), overwritten: the inside of the padding.
    public func crop(_ padded: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let g = geometry, R = rowLength, P = g.padding
        for c in 0..<g.c {
            for h in 0..<g.h {
                (dx + (c &* g.h &+ h) &* g.w).update(from: padded + (c &* paddedPlane &+ (h &+ P) &* R &+ P), count: g.w)
            }
        }
    }

    // MARK: Forward

    /// x̃ → y (F, Ho, R) (`outputCount` floats); w (F, C, HH, WW), b (F).
    public func forward(_ padded: UnsafePointer<Float>, weights w: UnsafePointer<Float>, bias b: UnsafePointer<Float>,
                        filters F: Int, into slice: WorkspaceSlice<Float>) {
        let y = slice.pointer(for: outputCount(filters: F), "DirectConvolution.forward")
        let taps = geometry.patchSize
        var f = 0
        while f < F {
            let (wf, bf, yf) = (w + f &* taps, b + f, y + f &* planeCount)
            if planeCount >= 48 {
                switch F &- f {
                case 1: block(Count1.self, Count3.self, padded, wf, bf, yf)
                case 2: block(Count2.self, Count3.self, padded, wf, bf, yf)
                case 3: block(Count3.self, Count3.self, padded, wf, bf, yf)
                default: block(Count4.self, Count3.self, padded, wf, bf, yf)
                }
            } else {
                switch F &- f {
                case 1: block(Count1.self, Count2.self, padded, wf, bf, yf)
                case 2: block(Count2.self, Count2.self, padded, wf, bf, yf)
                case 3: block(Count3.self, Count2.self, padded, wf, bf, yf)
                default: block(Count4.self, Count2.self, padded, wf, bf, yf)
                }
            }
            f &+= 4
        }
    }

    /// B.value (1 … 4) filters from `w`, 16·V.value positions at a time (V = 2 or 3): V 16-wide accumulators
    /// per filter. Three vectors where the plane has 48 positions: twelve accumulators hide the multiply-adds'
    /// latency better than eight.
    @inline(__always)
    private func block<B: StaticCount, V: StaticCount>(_: B.Type, _: V.Type, _ x: UnsafePointer<Float>,
                                                       _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                                       _ y: UnsafeMutablePointer<Float>) {
        let g = geometry, R = rowLength, kw = g.kw, taps = g.patchSize, L = planeCount, xPlane = paddedPlane
        let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(y)
        let n = B.value, width = 16 &* V.value, three = V.value > 2
        var start = 0
        repeat {
            let t = min(start, L &- width)
            var a0 = SIMD16<Float>(repeating: b[0]), c0 = a0, e0 = a0
            var a1 = SIMD16<Float>(repeating: n > 1 ? b[1] : 0), c1 = a1, e1 = a1
            var a2 = SIMD16<Float>(repeating: n > 2 ? b[2] : 0), c2 = a2, e2 = a2
            var a3 = SIMD16<Float>(repeating: n > 3 ? b[3] : 0), c3 = a3, e3 = a3
            var wk = w
            for c in 0..<g.c {
                for k in 0..<g.kh {
                    let row = raw + 4 &* (c &* xPlane &+ t &+ k &* R)
                    for l in 0..<kw {
                        let v = (row + 4 &* l).loadUnaligned(as: SIMD16<Float>.self)
                        let u = (row + 4 &* (l &+ 16)).loadUnaligned(as: SIMD16<Float>.self)
                        let z = three ? (row + 4 &* (l &+ 32)).loadUnaligned(as: SIMD16<Float>.self) : v
                        let w0 = wk[l]
                        a0 = a0.addingProduct(v, w0); c0 = c0.addingProduct(u, w0)
                        if three { e0 = e0.addingProduct(z, w0) }
                        if n > 1 {
                            let w1 = wk[taps &+ l]; a1 = a1.addingProduct(v, w1); c1 = c1.addingProduct(u, w1)
                            if three { e1 = e1.addingProduct(z, w1) }
                        }
                        if n > 2 {
                            let w2 = wk[2 &* taps &+ l]; a2 = a2.addingProduct(v, w2); c2 = c2.addingProduct(u, w2)
                            if three { e2 = e2.addingProduct(z, w2) }
                        }
                        if n > 3 {
                            let w3 = wk[3 &* taps &+ l]; a3 = a3.addingProduct(v, w3); c3 = c3.addingProduct(u, w3)
                            if three { e3 = e3.addingProduct(z, w3) }
                        }
                    }
                    wk += kw
                }
            }
            @inline(__always) func store(_ a: SIMD16<Float>, _ c: SIMD16<Float>, _ e: SIMD16<Float>, _ f: Int) {
                let at = out + 4 &* (f &* L &+ t)
                at.storeBytes(of: a, as: SIMD16<Float>.self)
                (at + 64).storeBytes(of: c, as: SIMD16<Float>.self)
                if three { (at + 128).storeBytes(of: e, as: SIMD16<Float>.self) }
            }
            store(a0, c0, e0, 0)
            if n > 1 { store(a1, c1, e1, 1) }
            if n > 2 { store(a2, c2, e2, 2) }
            if n > 3 { store(a3, c3, e3, 3) }
            start &+= width
        } while start < L
    }

    // MARK: Backward

    /// Adds one image's dw (F, C, HH, WW) and db (F) from its masked pooled gradient g (F, `pooledSize`): for
    /// the windows e of each plane, g[e] times the patch of x̃ at the winner argmax[e].
    public func accumulateFilterGradient(_ g: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, pooledSize: Int,
                                         padded x: UnsafePointer<Float>, filters F: Int,
                                         dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>) {
        let taps = geometry.kh * geometry.kw
        for f in 0..<F {
            let (ge, ae) = (g + f &* pooledSize, argmax + f &* pooledSize)
            for c in 0..<geometry.c {
                let (xc, dwf) = (x + c &* paddedPlane, dw + (f &* geometry.c &+ c) &* taps)
                switch geometry.kh {
                case 1: gather(Count1.self, ge, ae, pooledSize, xc, dwf)
                case 2: gather(Count2.self, ge, ae, pooledSize, xc, dwf)
                case 3: gather(Count3.self, ge, ae, pooledSize, xc, dwf)
                case 4: gather(Count4.self, ge, ae, pooledSize, xc, dwf)
                case 5: gather(Count5.self, ge, ae, pooledSize, xc, dwf)
                case 6: gather(Count6.self, ge, ae, pooledSize, xc, dwf)
                case 7: gather(Count7.self, ge, ae, pooledSize, xc, dwf)
                default: gather(Count8.self, ge, ae, pooledSize, xc, dwf)
                }
            }
            db[f] += Reductions.sum(ge, pooledSize)
        }
    }

    /// One filter's dw on one channel (Rows.value rows of WW) from its windows: row k of the kernel's gradient in the
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
    /// plane, g[e] times the filter, at the winner argmax[e] of every channel. dx̃ (`paddedCount`) is zeroed
    /// by the caller; w (F, C, HH, WW). Each window's rows use WW of 8 lanes.
    public func accumulateInputGradient(_ g: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, pooledSize: Int,
                                        weights w: UnsafePointer<Float>, filters F: Int, into slice: WorkspaceSlice<Float>) {
        let dx = slice.pointer(for: paddedCount, "DirectConvolution.accumulateInputGradient")
        let R = rowLength, C = geometry.c, kh = geometry.kh, kw = geometry.kw, rows = C * kh
        let raw = UnsafeMutableRawPointer(dx)
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: rows) { filter in
            for f in 0..<F {
                // Row (c, k) of the filter in 8 lanes, zero past WW so that the lanes beyond the patch add nothing.
                for r in 0..<rows {
                    var v = SIMD8<Float>()
                    for l in 0..<kw { v[l] = w[(f &* rows &+ r) &* kw &+ l] }
                    filter[r] = v
                }
                let first = f &* pooledSize
                for e in first..<(first &+ pooledSize) where g[e] != 0 {
                    let ge = g[e], p = raw + 4 &* Int(argmax[e])
                    for c in 0..<C {
                        for k in 0..<kh {
                            let at = p + 4 &* (c &* paddedPlane &+ k &* R)
                            at.storeBytes(of: at.loadUnaligned(as: SIMD8<Float>.self).addingProduct(filter[c &* kh &+ k], ge),
                                          as: SIMD8<Float>.self)
                        }
                    }
                }
            }
        }
    }

    // MARK: Backward through 2×2 pooling, by windows

    /// Whether `accumulateInputGradient2x2` can take dx̃ of this layer: kernels up to 7×7, so that a window's
    /// (HH + 1) × (WW + 1) region fits in eight 8-lane rows.
    public var takesWindowedInputGradient: Bool { geometry.kh <= 7 && geometry.kw <= 7 }

    /// SIMD8 rows of `shiftedFilters` per (channel, filter): four shifts of HH + 1 rows.
    @inlinable public var shiftedFilterRows: Int { 4 * (geometry.kh + 1) }

    /// SIMD8 rows of `shiftFilters`' output for `filters` filters: C·F·`shiftedFilterRows`.
    @inlinable public func shiftedFilterCount(filters F: Int) -> Int { geometry.c * F * shiftedFilterRows }

    /// w (F, C, HH, WW) → each filter's kernel on each channel at the four offsets (u, v) of a 2×2 window,
    /// s = 2u + v: (C, F, 4, HH + 1) rows of 8 lanes, row r lane l holding w[f, c, r − u, l − v] (zero outside
    /// the kernel). `shifted` holds `shiftedFilterCount` vectors.
    public func shiftFilters(_ w: UnsafePointer<Float>, filters F: Int, into slice: WorkspaceSlice<SIMD8<Float>>) {
        let shifted = slice.pointer(for: shiftedFilterCount(filters: F), "DirectConvolution.shiftFilters")
        let (C, kh, kw) = (geometry.c, geometry.kh, geometry.kw), rows = kh + 1
        for c in 0..<C {
            for f in 0..<F {
                let kernel = w + (f * C + c) * kh * kw
                for s in 0..<4 {
                    let (u, v) = (s >> 1, s & 1), out = shifted + ((c * F + f) * 4 + s) * rows
                    for r in 0..<rows {
                        var row = SIMD8<Float>()
                        let k = r - u
                        if k >= 0 && k < kh { for l in 0..<kw { row[l + v] = kernel[k * kw + l] } }
                        out[r] = row
                    }
                }
            }
        }
    }

    /// Adds one image's dx̃ from its masked pooled gradient g (F, Hp·Wp) through 2×2, stride-2 pooling: for
    /// each channel and window, the window's (HH + 1) × 8 region of dx̃ is summed in registers over the
    /// filters, each filter's kernel placed at its winner's offset in the window (`shiftFilters`), and added
    /// to dx̃ once. dx̃ is zeroed by the caller. Against `accumulateInputGradient` this does a read-modify-
    /// write per region row and channel instead of per kernel row, channel and filter: successive windows
    /// overlap, and their vector read-modify-writes of the same floats wait on each other.
    public func accumulateInputGradient2x2(_ g: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, pooledWidth wp: Int,
                                           pooledSize: Int, shiftedFilters: UnsafePointer<SIMD8<Float>>, filters F: Int,
                                           into slice: WorkspaceSlice<Float>) {
        let dx = slice.pointer(for: paddedCount, "DirectConvolution.accumulateInputGradient2x2")
        switch geometry.kh {
        case 1: windows(Count2.self, g, argmax, wp, pooledSize, shiftedFilters, F, dx)
        case 2: windows(Count3.self, g, argmax, wp, pooledSize, shiftedFilters, F, dx)
        case 3: windows(Count4.self, g, argmax, wp, pooledSize, shiftedFilters, F, dx)
        case 4: windows(Count5.self, g, argmax, wp, pooledSize, shiftedFilters, F, dx)
        case 5: windows(Count6.self, g, argmax, wp, pooledSize, shiftedFilters, F, dx)
        case 6: windows(Count7.self, g, argmax, wp, pooledSize, shiftedFilters, F, dx)
        default: windows(Count8.self, g, argmax, wp, pooledSize, shiftedFilters, F, dx)
        }
    }

    @inline(__always)
    private func windows<Rows: StaticCount>(_: Rows.Type, _ g: UnsafePointer<Float>, _ argmax: UnsafePointer<Int32>,
                                            _ wp: Int, _ pooledSize: Int, _ shifted: UnsafePointer<SIMD8<Float>>,
                                            _ F: Int, _ dx: UnsafeMutablePointer<Float>) {
        let R = rowLength, C = geometry.c, rows = Rows.value, perFilter = 4 * rows, perChannel = F * perFilter
        let raw = UnsafeMutableRawPointer(dx)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: F) { offsets in
          withUnsafeTemporaryAllocation(of: Float.self, capacity: F) { gains in
            let (at, gs) = (offsets.baseAddress!, gains.baseAddress!)
            for e in 0..<pooledSize {
                let i = e / wp, j = e &- i &* wp, t0 = 2 &* i &* R &+ 2 &* j
                for f in 0..<F {
                    // the winner's offset in its window, d = u·R + v, picks the kernel shifted by (u, v)
                    let d = Int(argmax[f &* pooledSize &+ e]) &- t0
                    let u = d >= R ? 1 : 0
                    at[f] = f &* perFilter &+ (2 &* u &+ (d &- u &* R)) &* rows
                    gs[f] = g[f &* pooledSize &+ e]
                }
                // Two channels at a time: two independent sets of accumulators hide the multiply-adds' latency.
                var c = 0
                while c < C {
                    let pair = c &+ 1 < C
                    let k0 = shifted + c &* perChannel, k1 = pair ? k0 + perChannel : k0
                    var r0 = SIMD8<Float>(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0
                    var q0 = r0, q1 = r0, q2 = r0, q3 = r0, q4 = r0, q5 = r0, q6 = r0, q7 = r0
                    for f in 0..<F {
                        let ge = gs[f], a = k0 + at[f], b = k1 + at[f]
                        r0 = r0.addingProduct(a[0], ge); q0 = q0.addingProduct(b[0], ge)
                        r1 = r1.addingProduct(a[1], ge); q1 = q1.addingProduct(b[1], ge)
                        if rows > 2 { r2 = r2.addingProduct(a[2], ge); q2 = q2.addingProduct(b[2], ge) }
                        if rows > 3 { r3 = r3.addingProduct(a[3], ge); q3 = q3.addingProduct(b[3], ge) }
                        if rows > 4 { r4 = r4.addingProduct(a[4], ge); q4 = q4.addingProduct(b[4], ge) }
                        if rows > 5 { r5 = r5.addingProduct(a[5], ge); q5 = q5.addingProduct(b[5], ge) }
                        if rows > 6 { r6 = r6.addingProduct(a[6], ge); q6 = q6.addingProduct(b[6], ge) }
                        if rows > 7 { r7 = r7.addingProduct(a[7], ge); q7 = q7.addingProduct(b[7], ge) }
                    }
                    @inline(__always) func add(_ r: SIMD8<Float>, _ k: Int, _ channel: Int) {
                        guard k < rows else { return }
                        let p = raw + 4 &* (channel &* paddedPlane &+ t0 &+ k &* R)
                        p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) + r, as: SIMD8<Float>.self)
                    }
                    add(r0, 0, c); add(r1, 1, c); add(r2, 2, c); add(r3, 3, c)
                    add(r4, 4, c); add(r5, 5, c); add(r6, 6, c); add(r7, 7, c)
                    if pair {
                        add(q0, 0, c &+ 1); add(q1, 1, c &+ 1); add(q2, 2, c &+ 1); add(q3, 3, c &+ 1)
                        add(q4, 4, c &+ 1); add(q5, 5, c &+ 1); add(q6, 6, c &+ 1); add(q7, 7, c &+ 1)
                    }
                    c &+= 2
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
