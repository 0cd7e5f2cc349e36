//  Reductions.swift
//
//  Sums over contiguous floats, sixteen lanes at a time. The compiler does not vectorise a plain Float
//  `+=` loop (it may not reorder the additions), so the fast kernels use these.
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`.

/// Vectorised sums for the fast kernels.
public enum Reductions {
    /// Σ p[i] for i < n.
    @inlinable
    public static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i &+ 16 <= n {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            i &+= 16
        }
        var s = acc.sum()
        while i < n { s += p[i]; i &+= 1 }
        return s
    }

    /// Whether every p[i], i < n, is finite: Σ p[i]·0 is 0 then, and NaN as soon as one is ±∞ or NaN.
    @inlinable
    public static func allFinite(_ p: UnsafePointer<Float>, _ n: Int) -> Bool {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i &+ 16 <= n {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) * 0
            i &+= 16
        }
        var s = acc.sum()
        while i < n { s += p[i] * 0; i &+= 1 }
        return s == 0
    }

    /// Σ (p[i] − c)² for i < n.
    @inlinable
    public static func sumOfSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from c: Float) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        let cv = SIMD16<Float>(repeating: c)
        var i = 0
        while i &+ 16 <= n {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) - cv
            acc += d * d
            i &+= 16
        }
        var s = acc.sum()
        while i < n { let d = p[i] - c; s += d * d; i &+= 1 }
        return s
    }

    /// Σ a[i]·b[i] for i < n.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i &+ 16 <= n {
            acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i &+= 16
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i &+= 1 }
        return s
    }
}
