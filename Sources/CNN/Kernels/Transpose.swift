//  Transpose.swift
//
//  Out-of-place transposition of a row-major matrix, in 8×8 blocks held in vector registers.
//
//  An 8×8 block is eight 8-lane rows. Splitting the 64 values, read row after row, into their even and odd
//  positions (a perfect unshuffle) moves the value at index b₅b₄b₃b₂b₁b₀ to b₀b₅b₄b₃b₂b₁: the six index bits
//  rotate right by one. Three unshuffles rotate them by three, which swaps the row bits (b₅b₄b₃) with the
//  column bits (b₂b₁b₀): the block is transposed. Each unshuffle is eight two-register permutes
//  (`evenHalf` and `oddHalf` of a pair of rows), 24 in all, against 64 scalar loads and stores.
//
//  Wrapping arithmetic: the index arithmetic inside the loops uses `&+` and `&*`. Every index it forms is
//  below the count of a buffer that exists (tensor and workspace sizes are computed with checked
//  arithmetic when they are made), so it cannot overflow, and the unchecked forms keep overflow branches
//  out of the loops, where they cost a branch per operation and can keep the compiler from vectorising.
//  Sizes computed once per call use checked `+`, `*`.

public enum Transpose {
    /// src (rows, cols), row-major → dst (cols, rows), row-major. Rows of src are `sourceStride` floats
    /// apart (default `cols`), rows of dst `destinationStride` apart (default `rows`).
    public static func matrix(_ src: UnsafePointer<Float>, rows: Int, cols: Int, sourceStride: Int? = nil,
                              into dst: UnsafeMutablePointer<Float>, destinationStride: Int? = nil) {
        let ls = sourceStride ?? cols, ld = destinationStride ?? rows
        let rows8 = rows & ~7, cols8 = cols & ~7
        var r = 0
        while r < rows8 {
            var c = 0
            while c < cols8 {
                block(src + (r &* ls &+ c), ls, dst + (c &* ld &+ r), ld)
                c &+= 8
            }
            for c in cols8..<cols { for i in r..<(r &+ 8) { dst[c &* ld &+ i] = src[i &* ls &+ c] } }
            r &+= 8
        }
        for i in rows8..<rows { for c in 0..<cols { dst[c &* ld &+ i] = src[i &* ls &+ c] } }
    }

    /// One 8×8 block: src rows `ld` apart → dst rows `ldOut` apart.
    @inline(__always)
    static func block(_ src: UnsafePointer<Float>, _ ld: Int, _ dst: UnsafeMutablePointer<Float>, _ ldOut: Int) {
        @inline(__always) func row(_ i: Int) -> SIMD8<Float> {
            UnsafeRawPointer(src + i &* ld).loadUnaligned(as: SIMD8<Float>.self)
        }
        @inline(__always) func unshuffle(_ r: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                                              SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>))
            -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            let p0 = SIMD16(lowHalf: r.0, highHalf: r.1), p1 = SIMD16(lowHalf: r.2, highHalf: r.3)
            let p2 = SIMD16(lowHalf: r.4, highHalf: r.5), p3 = SIMD16(lowHalf: r.6, highHalf: r.7)
            return (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
        }
        let t = unshuffle(unshuffle(unshuffle((row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)))))
        @inline(__always) func put(_ v: SIMD8<Float>, _ i: Int) {
            UnsafeMutableRawPointer(dst + i &* ldOut).storeBytes(of: v, as: SIMD8<Float>.self)
        }
        put(t.0, 0); put(t.1, 1); put(t.2, 2); put(t.3, 3); put(t.4, 4); put(t.5, 5); put(t.6, 6); put(t.7, 7)
    }
}
