//  ReLUPoolEpilogue.swift
//
//  The ReLU and max pooling that Conv2D and BatchNorm2D apply themselves when Sequential fuses them
//  (layer → ReLU [→ MaxPool2D]). Planes are H×W, row-major; pooling has kernel K and stride S,
//  Hp = 1 + (H − K)/S, Wp = 1 + (W − K)/S.
//
//  Forward:   r = relu(y) (0 where y < 0, else y: a NaN stays);  out[i, j] = max over the K×K window of r at (iS, jS), the first maximum in
//             row-major order winning (strict >, a NaN wins), exactly as MaxPool2D.
//  Backward:  dy[argmax[e]] += dOut[e] where out[e] > 0, else nothing: MaxPool2D's scatter followed by
//             ReLU's mask [r > 0], since r at a window's maximum is out itself.
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`. The bit-pattern comparisons use `&-` and `&>>` on Int32 lanes because wrapping is what they compute
//  (a sign bit spread into a mask); SIMD integers have no other shift.

/// Kernels shared by the layers that absorb a following ReLU and max pooling.
public enum ReLUPoolEpilogue {
    /// ReLU as PyTorch computes it: 0 for v < 0, else v itself, so a NaN stays NaN (Swift's max(0, NaN) is 0)
    /// and −0 stays −0. Every fast ReLU, fused or not, goes through this.
    @inlinable @inline(__always)
    public static func relu(_ v: Float) -> Float { v < 0 ? 0 : v }

    /// Pools `planes` planes of `height × width` into `out` (planes, Hp, Wp), recording each window's
    /// maximum as an index within its plane. Plain max pooling: MaxPool2D's fast path calls it too.
    /// Rows of the input may be stored longer than `width` (`rowStride`, as the padded-width output of a
    /// stride-1 convolution); the columns past `width` are ignored and indices count in stored positions.
    /// With `relu`, the windows are taken over relu(y) without writing it (y is left as it is): the same
    /// results as the ReLU loop followed by the pooling, bit for bit, in one pass.
    public static func maxPool(_ y: UnsafePointer<Float>, planes: Int, height: Int, width: Int, rowStride: Int? = nil,
                               relu: Bool = false, pool: (kernel: Int, stride: Int),
                               into out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
        let (K, S) = pool
        let hp = (height - K) / S + 1, wp = (width - K) / S + 1
        let width = rowStride ?? width
        for p in 0..<planes {
            let plane = y + p * height * width, o = out + p * hp * wp, a = argmax + p * hp * wp
            if K == 2 && S == 2 {
                for i in 0..<hp {
                    // A row of 9–16 windows on rows stored at least 32 long is pooled as one block of 16,
                    // whose extra outputs spill into the next output row before that row is written; not
                    // for the call's last row, whose next row is not this call's to write.
                    if relu && wp > 8 && wp <= 16 && width >= 32 && (p &+ 1 < planes || i &+ 1 < hp) {
                        reluPool2x2Row(SIMD32<Int32>.self, plane, row: 2 &* i &* width, width: width, count: 16,
                                       into: o + i &* wp, argmax: a + i &* wp)
                        continue
                    }
                    pool2x2Row(plane, row: 2 &* i &* width, width: width, count: wp, relu: relu,
                               into: o + i &* wp, argmax: a + i &* wp)
                }
                continue
            }
            for i in 0..<hp {
                for j in 0..<wp {
                    var at = i &* S &* width &+ j &* S
                    var best = relu ? Self.relu(plane[at]) : plane[at]
                    for k in 0..<K {
                        let row = (i &* S &+ k) &* width &+ j &* S
                        for l in 0..<K {
                            let v = relu ? Self.relu(plane[row &+ l]) : plane[row &+ l]
                            if v > best || (v.isNaN && !best.isNaN) { best = v; at = row &+ l }
                        }
                    }
                    o[i &* wp &+ j] = best
                    a[i &* wp &+ j] = Int32(truncatingIfNeeded: at)
                }
            }
        }
    }

    /// One output row of the common 2×2, stride-2 window, with vector compares: blocks of eight windows
    /// (four when the row is shorter), the last block moved back to end at the row's end and overlapping
    /// the one before it (the overlap is written twice with the same values). The same rule as the scalar
    /// loop: strict >, a NaN wins, the first maximum in row-major order.
    @inline(__always)
    static func pool2x2Row(_ plane: UnsafePointer<Float>, row r0: Int, width: Int, count wp: Int, relu: Bool = false,
                           into o: UnsafeMutablePointer<Float>, argmax a: UnsafeMutablePointer<Int32>) {
        if relu && wp >= 8 {
            reluPool2x2Row(SIMD16<Int32>.self, plane, row: r0, width: width, count: wp, into: o, argmax: a)
            return
        }
        if relu && wp >= 4 {
            reluPool2x2Row(SIMD8<Int32>.self, plane, row: r0, width: width, count: wp, into: o, argmax: a)
            return
        }
        let r1 = r0 &+ width, w32 = Int32(truncatingIfNeeded: width)
        if relu {
            reluPool2x2Short(plane, row: r0, width: width, count: wp, into: o, argmax: a)
            return
        }
        if wp >= 8 {
            var j = 0
            while true {
                let top = UnsafeRawPointer(plane + (r0 &+ 2 &* j)).loadUnaligned(as: SIMD16<Float>.self)
                let bottom = UnsafeRawPointer(plane + (r1 &+ 2 &* j)).loadUnaligned(as: SIMD16<Float>.self)
                let q0 = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14) &+ Int32(truncatingIfNeeded: r0 &+ 2 &* j)
                var best = top.evenHalf, at = q0
                @inline(__always) func visit(_ v: SIMD8<Float>, _ q: SIMD8<Int32>) {
                    let wins = (v .> best) .| ((v .!= v) .& (best .== best))
                    best.replace(with: v, where: wins)
                    at.replace(with: q, where: wins)
                }
                visit(top.oddHalf, q0 &+ 1)
                visit(bottom.evenHalf, q0 &+ w32)
                visit(bottom.oddHalf, q0 &+ w32 &+ 1)
                UnsafeMutableRawPointer(o + j).storeBytes(of: best, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(a + j).storeBytes(of: at, as: SIMD8<Int32>.self)
                if j &+ 8 == wp { return }
                j = min(j &+ 8, wp &- 8)
            }
        }
        if wp >= 4 {
            var j = 0
            while true {
                let top = UnsafeRawPointer(plane + (r0 &+ 2 &* j)).loadUnaligned(as: SIMD8<Float>.self)
                let bottom = UnsafeRawPointer(plane + (r1 &+ 2 &* j)).loadUnaligned(as: SIMD8<Float>.self)
                let q0 = SIMD4<Int32>(0, 2, 4, 6) &+ Int32(truncatingIfNeeded: r0 &+ 2 &* j)
                var best = top.evenHalf, at = q0
                @inline(__always) func visit(_ v: SIMD4<Float>, _ q: SIMD4<Int32>) {
                    let wins = (v .> best) .| ((v .!= v) .& (best .== best))
                    best.replace(with: v, where: wins)
                    at.replace(with: q, where: wins)
                }
                visit(top.oddHalf, q0 &+ 1)
                visit(bottom.evenHalf, q0 &+ w32)
                visit(bottom.oddHalf, q0 &+ w32 &+ 1)
                UnsafeMutableRawPointer(o + j).storeBytes(of: best, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(a + j).storeBytes(of: at, as: SIMD4<Int32>.self)
                if j &+ 4 == wp { return }
                j = min(j &+ 4, wp &- 4)
            }
        }
        for j in 0..<wp {
            let q0 = r0 &+ 2 &* j, q2 = r1 &+ 2 &* j
            var at = q0, best = relu ? Self.relu(plane[q0]) : plane[q0]
            @inline(__always) func visit(_ q: Int) {
                let v = relu ? Self.relu(plane[q]) : plane[q]
                if v > best || (v.isNaN && !best.isNaN) { best = v; at = q }
            }
            visit(q0 &+ 1); visit(q2); visit(q2 &+ 1)
            o[j] = best
            a[j] = Int32(truncatingIfNeeded: at)
        }
    }

    /// A row of 1 to 3 windows of relu(y) as one `reluPoolWindows` of four lanes, gathered value by value (lanes
    /// past the row repeat its last window and are not stored): no branch on the values, the same results as
    /// the vector rows, so a window's NaN comes out as the quiet NaN here too.
    @inline(__always)
    static func reluPool2x2Short(_ plane: UnsafePointer<Float>, row r0: Int, width: Int, count wp: Int,
                                 into o: UnsafeMutablePointer<Float>, argmax a: UnsafeMutablePointer<Int32>) {
        guard wp > 0 else { return }
        let r1 = r0 &+ width
        var ta = SIMD4<Int32>(), tb = ta, tc = ta, td = ta, q = ta
        @inline(__always) func bits(_ i: Int) -> Int32 { Int32(bitPattern: plane[i].bitPattern) }
        for l in 0..<4 {
            let j = Swift.min(l, wp &- 1), q0 = r0 &+ 2 &* j, q2 = r1 &+ 2 &* j
            ta[l] = bits(q0); tb[l] = bits(q0 &+ 1); tc[l] = bits(q2); td[l] = bits(q2 &+ 1)
            q[l] = Int32(truncatingIfNeeded: q0)
        }
        let (best, at) = reluPoolWindows(ta, tb, tc, td, at: q, rowStride: Int32(truncatingIfNeeded: width))
        for j in 0..<wp {
            o[j] = Float(bitPattern: UInt32(bitPattern: best[j]))
            a[j] = at[j]
        }
    }

    /// Four or eight 2×2 windows through the ReLU and max pooling, on the bit patterns of their values in
    /// row-major order (a, b on top, c, d below), whose positions are q, q + 1, q + w and q + w + 1. Returns the
    /// pooled values' bits and each window's winner, exactly as `relu` on every value (which keeps −0 and NaNs)
    /// followed by the scalar pooling (strict >, a NaN wins, the first maximum wins), without float compares or
    /// mask registers:
    ///   - each value goes to r = its bits where it is a positive number or +∞, 0x7FC00000 (the quiet NaN) where
    ///     it is a NaN of either sign, else 0 (negatives, zeros): as integers these order as the pooling does
    ///     (a NaN above +∞), so the window's maximum m is a signed integer max;
    ///   - the winner is the first value with r = m (for m = 0, the first value: every r is 0);
    ///   - the result is m, except −0 when m = 0 and a is −0: relu(−0) is −0 and ties never replace it. A
    ///     window's NaN comes out as the quiet NaN, whatever its sign and payload were.
    /// Generic over the width (four or eight windows), specialized where called.
    @inline(__always)
    static func reluPoolWindows<V: SIMD>(_ a: V, _ b: V, _ c: V, _ d: V, at q: V, rowStride w: Int32)
        -> (bits: V, at: V) where V.Scalar == Int32 {
        let one = V(repeating: 1)
        let ra = positiveBits(a), rb = positiveBits(b), rc = positiveBits(c), rd = positiveBits(d)
        let m = bitMaximum(bitMaximum(ra, rb), bitMaximum(rc, rd))
        // (m − r − 1) >> 31 is all ones exactly where r = m (m − r ≥ 0).
        @inline(__always) func equal(_ r: V) -> V { (m &- r &- one) &>> 31 }
        // The winner's offset from q: w + 1, then w where c wins (+ −1), 1 where b does ((0) − (−1)), 0 where a
        // does. Offsets, not positions, are selected: selecting q + 1, q + w, … let the compiler take the lanes
        // of q apart (q = base + 0, 2, 4, …) into lane-by-lane mask code.
        let ec = equal(rc), eb = equal(rb), ea = equal(ra)
        var offset = V(repeating: w &+ 1) &+ ec
        offset = (offset & ~eb) &- eb
        offset = offset & ~ea
        return (keepingNegativeZero(m, first: a), q &+ offset)
    }

    /// The bits of max(x, 0) on a lane holding x's Float bits, NaN to the quiet NaN: x where x is positive and
    /// finite or +∞, 0 where x is negative or −0 (so −0 → +0; `keepingNegativeZero` puts it back).
    @inline(__always)
    static func positiveBits<V: SIMD>(_ x: V) -> V where V.Scalar == Int32 {
        let aboveInfinity = V(repeating: 0x7F80_0001), infinity = V(repeating: 0x7F80_0000)
        let quietNaN = V(repeating: 0x7FC0_0000), magnitude = V(repeating: 0x7FFF_FFFF)
        // |x|'s bits above +∞'s: a NaN (the subtraction cannot overflow: both are at most 0x7FFFFFFF).
        let nan = (infinity &- (x & magnitude)) &>> 31
        return (x & ~(x &>> 31) & ((x &- aboveInfinity) &>> 31)) | (nan & quietNaN)
    }

    /// max(x, y) = x − (x − y)·[x < y], exact for values in 0 … 0x7FC00000 (no overflow).
    @inline(__always)
    static func bitMaximum<V: SIMD>(_ x: V, _ y: V) -> V where V.Scalar == Int32 {
        let difference = x &- y
        return x &- (difference & (difference &>> 31))
    }

    /// m, with −0 where m = 0 and the window's first value a is −0 (a + a = 0 and the sign set).
    @inline(__always)
    static func keepingNegativeZero<V: SIMD>(_ m: V, first a: V) -> V where V.Scalar == Int32 {
        let twice = a &+ a
        let mZero = (m &- V(repeating: 1)) &>> 31, twiceZero = ~((twice | (V() &- twice)) &>> 31)
        return m | (mZero & twiceZero & a)
    }

    /// One output row of 2×2, stride-2 windows of relu(y), n = Row.Half.scalarCount windows at a time
    /// (4, 8 or 16; `wp` ≥ n) with an overlapping last block: each block is a load of Row (2n floats) from the
    /// top and the bottom row, split into even and odd columns. Bit for bit the ReLU followed by `pool2x2Row`.
    /// With `wp` = n and rows stored at least 2n long it also serves shorter rows (see `maxPool`), writing
    /// junk past them.
    @inline(__always)
    static func reluPool2x2Row<Row: WindowRow>(_: Row.Type, _ plane: UnsafePointer<Float>, row r0: Int, width: Int,
                                               count wp: Int, into o: UnsafeMutablePointer<Float>,
                                               argmax a: UnsafeMutablePointer<Int32>) {
        let n = Row.Half.scalarCount, r1 = r0 &+ width, w32 = Int32(truncatingIfNeeded: width)
        let raw = UnsafeRawPointer(plane)
        var lanes = Row.Half()
        for l in 0..<n { lanes[l] = Int32(truncatingIfNeeded: 2 &* l) }
        var j = 0
        while true {
            let top = (raw + 4 &* (r0 &+ 2 &* j)).loadUnaligned(as: Row.self)
            let bottom = (raw + 4 &* (r1 &+ 2 &* j)).loadUnaligned(as: Row.self)
            let (bits, at) = reluPoolWindows(top.evenHalf, top.oddHalf, bottom.evenHalf, bottom.oddHalf,
                                             at: lanes &+ Int32(truncatingIfNeeded: r0 &+ 2 &* j), rowStride: w32)
            UnsafeMutableRawPointer(o + j).storeBytes(of: bits, as: Row.Half.self)
            UnsafeMutableRawPointer(a + j).storeBytes(of: at, as: Row.Half.self)
            if j &+ n == wp { return }
            j = min(j &+ n, wp &- n)
        }
    }

    /// Rebuilds the full-size gradient of `planes` planes of `planeSize` from the pooled gradient `dOut`
    /// (planes, pooledSize): zero, then dOut[e] added at argmax[e] wherever out[e] > 0.
    public static func scatter(_ dOut: UnsafePointer<Float>, pooled out: UnsafePointer<Float>,
                               argmax: UnsafePointer<Int32>, planes: Int, pooledSize: Int, planeSize: Int,
                               into dy: UnsafeMutablePointer<Float>) {
        dy.update(repeating: 0, count: planes * planeSize)
        for p in 0..<planes {
            let plane = dy + p * planeSize
            for e in (p * pooledSize)..<((p + 1) * pooledSize) where out[e] > 0 { plane[Int(argmax[e])] += dOut[e] }
        }
    }

    /// `scatter` of one plane without a branch: `masked` (pooledSize) first receives dOut·[out > 0] (`mask`:
    /// +0 where out ≤ 0 or NaN), then every window adds its masked value at its argmax. The same bits as
    /// `scatter`: adding +0 changes nothing, since the plane starts at +0 and a sum that starts at +0 is never −0.
    /// With `disjoint` (stride ≥ kernel: no position wins two windows) the addition is 0 + masked, stored
    /// without reading the plane back.
    public static func scatterMasked(_ dOut: UnsafePointer<Float>, pooled out: UnsafePointer<Float>,
                                     argmax: UnsafePointer<Int32>, pooledSize: Int, planeSize: Int, disjoint: Bool,
                                     masked: UnsafeMutablePointer<Float>, into dy: UnsafeMutablePointer<Float>) {
        mask(dOut, by: out, count: pooledSize, into: masked)
        dy.update(repeating: 0, count: planeSize)
        if disjoint {
            for e in 0..<pooledSize { dy[Int(argmax[e])] = 0 + masked[e] }
        } else {
            for e in 0..<pooledSize { dy[Int(argmax[e])] += masked[e] }
        }
    }

    /// All ones where the float with bits b is above zero (a positive number or +∞), else 0 (zeros, negatives,
    /// NaNs): 0 < b ≤ 0x7F800000 as a signed integer. b | (b − 1) has its sign set exactly when b ≤ 0 (b − 1 wraps
    /// only for b = Int32.min, whose own sign is set), and 0x7F800000 − b exactly when b is above +∞'s bits.
    @inline(__always)
    static func positiveMask<V: SIMD>(_ b: V) -> V where V.Scalar == Int32 {
        ~(((b | (b &- 1)) | (V(repeating: 0x7F80_0000) &- b)) &>> 31)
    }

    @inline(__always)
    static func positiveMask(_ b: Int32) -> Int32 {
        ~(((b | (b &- 1)) | (0x7F80_0000 &- b)) &>> 31)
    }

    /// relu(v)'s bits from v's bits b: 0 where v is a negative number (sign set, |v| nonzero and not a NaN),
    /// else b (so −0 and NaNs stay), exactly as `relu`.
    @inline(__always)
    static func reluBits<V: SIMD>(_ b: V) -> V where V.Scalar == Int32 {
        let t = b & V(repeating: 0x7FFF_FFFF)
        let zeroOrNaN = ((t &- 1) | (V(repeating: 0x7F80_0000) &- t)) &>> 31
        return b & ~((b &>> 31) & ~zeroOrNaN)
    }

    /// y[i] = relu(y[i]) for i < count, sixteen lanes at a time on the bit patterns.
    public static func relu(_ y: UnsafeMutablePointer<Float>, count: Int) {
        let raw = UnsafeMutableRawPointer(y)
        var i = 0
        while i &+ 16 <= count {
            let b = UnsafeRawPointer(raw + 4 &* i).loadUnaligned(as: SIMD16<Int32>.self)
            (raw + 4 &* i).storeBytes(of: reluBits(b), as: SIMD16<Int32>.self)
            i &+= 16
        }
        while i < count { y[i] = relu(y[i]); i &+= 1 }
    }

    /// Copies `rows` rows of `width` values stored every `rowStride` into contiguous rows, through relu
    /// when `relu`: the padded-width output of a convolution made compact.
    public static func compact(_ y: UnsafePointer<Float>, rows: Int, width: Int, rowStride: Int, relu: Bool,
                               into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let src = y + r &* rowStride, dst = out + r &* width
            if relu {
                for j in 0..<width { dst[j] = Self.relu(src[j]) }
            } else {
                dst.update(from: src, count: width)
            }
        }
    }

    /// The adjoint layout of `compact`: `rows` contiguous rows of `width` gradients, masked by [out > 0] when
    /// `mask` (ReLU's backward on its output) is given, spread onto rows of `rowStride` with zeros after `width`.
    public static func expand(_ dOut: UnsafePointer<Float>, mask out: UnsafePointer<Float>?, rows: Int, width: Int,
                              rowStride: Int, into dy: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let src = dOut + r &* width, dst = dy + r &* rowStride
            if let out {
                let o = out + r &* width
                for j in 0..<width { dst[j] = o[j] > 0 ? src[j] : 0 }
            } else {
                dst.update(from: src, count: width)
            }
            (dst + width).update(repeating: 0, count: rowStride &- width)
        }
    }

    /// One image's gradient before the fused ReLU and pooling, rebuilt from the layer's: `planes` planes of
    /// `height` rows of `width` values, stored `rowStride` apart with zeros after `width`. With `pooled`
    /// (the argmax of each window and the pooled plane size), `scatter`; otherwise dOut·[out > 0] when `relu`,
    /// or dOut itself, spread onto the stored rows.
    public static func gradient(_ dOut: UnsafePointer<Float>, output out: UnsafePointer<Float>, relu: Bool,
                                pooled: (argmax: UnsafePointer<Int32>, size: Int)?, planes: Int, height: Int,
                                width: Int, rowStride: Int, into dy: UnsafeMutablePointer<Float>) {
        if let pooled {
            scatter(dOut, pooled: out, argmax: pooled.argmax, planes: planes, pooledSize: pooled.size,
                    planeSize: height * rowStride, into: dy)
        } else if relu && rowStride == width {
            mask(dOut, by: out, count: planes * height * width, into: dy)
        } else {
            expand(dOut, mask: relu ? out : nil, rows: planes * height, width: width, rowStride: rowStride, into: dy)
        }
    }

    /// dy·[out > 0] for `count` values: ReLU's backward on its own output (+0 where out ≤ 0 or NaN, dOut's
    /// bits elsewhere), sixteen lanes at a time with `positiveMask`.
    public static func mask(_ dOut: UnsafePointer<Float>, by out: UnsafePointer<Float>, count: Int,
                            into dy: UnsafeMutablePointer<Float>) {
        let g = UnsafeRawPointer(dOut), o = UnsafeRawPointer(out), d = UnsafeMutableRawPointer(dy)
        var i = 0
        while i &+ 16 <= count {
            let keep = positiveMask((o + 4 &* i).loadUnaligned(as: SIMD16<Int32>.self))
            (d + 4 &* i).storeBytes(of: (g + 4 &* i).loadUnaligned(as: SIMD16<Int32>.self) & keep, as: SIMD16<Int32>.self)
            i &+= 16
        }
        while i < count { dy[i] = out[i] > 0 ? dOut[i] : 0; i &+= 1 }
    }
}

// MARK: - The pooled values alone (evaluation)

extension ReLUPoolEpilogue {
    /// relu(y) pooled as `maxPool(relu: true)` pools it, the same values bit for bit, without the winners:
    /// an evaluation forward has no backward to give them to. `planes` planes of `height × width`, rows stored
    /// `rowStride` apart (`width` when nil) → out (planes, Hp, Wp).
    public static func reluMaxPool(_ y: UnsafePointer<Float>, planes: Int, height: Int, width: Int, rowStride: Int? = nil,
                                   pool: (kernel: Int, stride: Int), into out: UnsafeMutablePointer<Float>) {
        let (K, S) = pool
        let hp = (height - K) / S + 1, wp = (width - K) / S + 1
        let width = rowStride ?? width
        for p in 0..<planes {
            let plane = y + p * height * width, o = out + p * hp * wp
            if K == 2 && S == 2 {
                for i in 0..<hp {
                    let r0 = 2 &* i &* width, row = o + i &* wp
                    // As in `maxPool`: a row of 9–16 windows as one block of 16 when the spill stays in this call's output.
                    if wp > 8 && wp <= 16 && width >= 32 && (p &+ 1 < planes || i &+ 1 < hp) {
                        reluPool2x2RowValues(SIMD32<Int32>.self, plane, row: r0, width: width, count: 16, into: row)
                    } else if wp >= 8 {
                        reluPool2x2RowValues(SIMD16<Int32>.self, plane, row: r0, width: width, count: wp, into: row)
                    } else if wp >= 4 {
                        reluPool2x2RowValues(SIMD8<Int32>.self, plane, row: r0, width: width, count: wp, into: row)
                    } else {
                        reluPool2x2ShortValues(plane, row: r0, width: width, count: wp, into: row)
                    }
                }
                continue
            }
            for i in 0..<hp {
                for j in 0..<wp {
                    var best = relu(plane[i &* S &* width &+ j &* S])
                    for k in 0..<K {
                        let row = (i &* S &+ k) &* width &+ j &* S
                        for l in 0..<K {
                            let v = relu(plane[row &+ l])
                            if v > best || (v.isNaN && !best.isNaN) { best = v }
                        }
                    }
                    o[i &* wp &+ j] = best
                }
            }
        }
    }

    /// relu(y) pooled over 2×2, stride-2 windows, channels last: y (H, W, C), its rows `rowLength` positions
    /// apart (rowLength ≥ W, C a multiple of 16) → out (⌊H/2⌋, ⌊W/2⌋, C). Each window's four positions are
    /// sixteen channels per vector, through `reluPoolWindowValues` in the row kernels' order (top left, top
    /// right, bottom left, bottom right), so every value has the bits `reluMaxPool` gives it on the channel's plane.
    public static func reluMaxPool2x2ChannelsLast(_ y: UnsafePointer<Float>, height: Int, width: Int, rowLength: Int,
                                                  channels C: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(C % 16 == 0 && rowLength >= width, "reluMaxPool2x2ChannelsLast: \(C) channels, rows of \(rowLength) for \(width)")
        let hp = height / 2, wp = width / 2, rowStep = rowLength * C
        let raw = UnsafeRawPointer(y), o = UnsafeMutableRawPointer(out)
        for i in 0..<hp {
            for j in 0..<wp {
                let a = 2 &* i &* rowStep &+ 2 &* j &* C, e = (i &* wp &+ j) &* C
                var c = 0
                while c < C {
                    @inline(__always) func load(_ k: Int) -> SIMD16<Int32> { (raw + 4 &* (k &+ c)).loadUnaligned(as: SIMD16<Int32>.self) }
                    let bits = reluPoolWindowValues(load(a), load(a &+ C), load(a &+ rowStep), load(a &+ rowStep &+ C))
                    (o + 4 &* (e &+ c)).storeBytes(of: bits, as: SIMD16<Int32>.self)
                    c &+= 16
                }
            }
        }
    }

    /// The bits of `reluPoolWindows(a, b, c, d, …).bits` without the winners: the same `positive` lanes, their
    /// signed integer maximum m, and −0 where m = 0 and a is −0.
    @inline(__always)
    static func reluPoolWindowValues<V: SIMD>(_ a: V, _ b: V, _ c: V, _ d: V) -> V where V.Scalar == Int32 {
        let m = bitMaximum(bitMaximum(positiveBits(a), positiveBits(b)), bitMaximum(positiveBits(c), positiveBits(d)))
        return keepingNegativeZero(m, first: a)
    }

    /// `reluPool2x2Row`'s values without the winners: n = Row.Half.scalarCount windows at a time (`wp` ≥ n), the
    /// last block overlapping the one before it; with `wp` = n it also serves shorter rows stored at least 2n
    /// long, writing junk past them.
    @inline(__always)
    static func reluPool2x2RowValues<Row: WindowRow>(_: Row.Type, _ plane: UnsafePointer<Float>, row r0: Int, width: Int,
                                                     count wp: Int, into o: UnsafeMutablePointer<Float>) {
        let n = Row.Half.scalarCount, r1 = r0 &+ width
        let raw = UnsafeRawPointer(plane)
        var j = 0
        while true {
            let top = (raw + 4 &* (r0 &+ 2 &* j)).loadUnaligned(as: Row.self)
            let bottom = (raw + 4 &* (r1 &+ 2 &* j)).loadUnaligned(as: Row.self)
            let bits = reluPoolWindowValues(top.evenHalf, top.oddHalf, bottom.evenHalf, bottom.oddHalf)
            UnsafeMutableRawPointer(o + j).storeBytes(of: bits, as: Row.Half.self)
            if j &+ n == wp { return }
            j = min(j &+ n, wp &- n)
        }
    }

    /// `reluPool2x2Short`'s values without the winners: a row of 1 to 3 windows gathered into four lanes.
    @inline(__always)
    static func reluPool2x2ShortValues(_ plane: UnsafePointer<Float>, row r0: Int, width: Int, count wp: Int,
                                       into o: UnsafeMutablePointer<Float>) {
        guard wp > 0 else { return }
        let r1 = r0 &+ width
        var ta = SIMD4<Int32>(), tb = ta, tc = ta, td = ta
        @inline(__always) func bits(_ i: Int) -> Int32 { Int32(bitPattern: plane[i].bitPattern) }
        for l in 0..<4 {
            let j = Swift.min(l, wp &- 1), q0 = r0 &+ 2 &* j, q2 = r1 &+ 2 &* j
            ta[l] = bits(q0); tb[l] = bits(q0 &+ 1); tc[l] = bits(q2); td[l] = bits(q2 &+ 1)
        }
        let best = reluPoolWindowValues(ta, tb, tc, td)
        for j in 0..<wp { o[j] = Float(bitPattern: UInt32(bitPattern: best[j])) }
    }
}

/// A block of 2n consecutive floats (as bits) of a row, split into the even and odd columns of n 2×2 windows.
protocol WindowRow: SIMD where Scalar == Int32 {
    associatedtype Half: SIMD where Half.Scalar == Int32
    var evenHalf: Half { get }
    var oddHalf: Half { get }
}
extension SIMD8: WindowRow where Scalar == Int32 {}
extension SIMD16: WindowRow where Scalar == Int32 {}
extension SIMD32: WindowRow where Scalar == Int32 {}
