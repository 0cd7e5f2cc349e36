//  Winograd6+Transforms.swift
//
//  What the two minimal filterings on 6×6 tiles (Winograd6.swift) do not share: G, which maps an r×r kernel
//  onto the tile, and Aᵀ, which maps a transformed tile back onto its m×m outputs, with their adjoints Gᵀ
//  and A. Both use the points 0, ±1, ±2, ∞ and α = m + r − 1 = 6, so Bᵀ is the same (Winograd6.timesBT).
//
//  F(4×4, 3×3):                                  F(2×2, 5×5):
//      G = [ 1/4     0    0 ]   Aᵀ = [1 1  1 1  1 0]     G = [ 1/4     0    0     0    0 ]   Aᵀ = [1 1  1 1  1 0]
//          [−1/6 −1/6 −1/6 ]        [0 1 −1 2 −2 0]         [−1/6 −1/6 −1/6  −1/6 −1/6 ]        [0 1 −1 2 −2 1]
//          [−1/6  1/6 −1/6 ]        [0 1  1 4  4 0]         [−1/6  1/6 −1/6   1/6 −1/6 ]
//          [1/24 1/12  1/6 ]        [0 1 −1 8 −8 1]         [1/24 1/12  1/6   1/3  2/3 ]
//          [1/24 −1/12 1/6 ]                                [1/24 −1/12 1/6  −1/3  2/3 ]
//          [   0    0    1 ]                                [   0    0    0     0    1 ]
//  In one dimension y = Aᵀ [(G g) ⊙ (Bᵀ d)] is the correlation y[i] = Σ_k d[i + k] g[k] of a six-value window
//  d with an r-tap kernel g, i in 0..<m; in two, Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.
//
//  The filter transforms run in double precision on eight kernels at once (`Winograd6.Lanes`), each lane
//  computing what the same formula computes on one Double; the tile transforms on sixteen channels
//  (`Winograd6.Vector`).
//
//  Wrapping arithmetic: index arithmetic on pointers into the callers' buffers uses `&+` and `&*` (see
//  Winograd6.swift).

/// One minimal filtering on 6×6 tiles, F(m×m, r×r) with m + r − 1 = 6: the kernels of Winograd6.swift are
/// generic over it, specialised for each conforming type, so that m and r are constants in their loops.
protocol Winograd6Transforms {
    /// m, the output tile's side.
    static var m: Int { get }
    /// r, the kernel's side.
    static var r: Int { get }
    /// G (6 × r) applied to the column g[0], g[step], …, g[(r − 1)·step] → out[0], out[outStep], …,
    /// out[5·outStep].
    static func timesG(_ g: UnsafePointer<Winograd6.Lanes>, _ step: Int,
                       into out: UnsafeMutablePointer<Winograd6.Lanes>, _ outStep: Int)
    /// Gᵀ (r × 6) applied to the column d[0], d[step], …, d[5·step] → out[0], …, out[(r − 1)·outStep]: the
    /// adjoint of `timesG`.
    static func timesGT(_ d: UnsafePointer<Winograd6.Lanes>, _ step: Int,
                        into out: UnsafeMutablePointer<Winograd6.Lanes>, _ outStep: Int)
    /// Aᵀ m A + b for the 16 channels at `p` of one tile of M (36, T, Fo) whose planes are `ms` apart: calls
    /// `body(p, q, y)` for each output (p, q) of the m×m tile, row by row. `e` holds 6m vectors.
    static func outputTile(_ p: UnsafePointer<Float>, _ ms: Int, bias b: Winograd6.Vector,
                           _ e: UnsafeMutablePointer<Winograd6.Vector>, _ body: (Int, Int, Winograd6.Vector) -> Void)
    /// The adjoint of `outputTile` without the bias: dY of one tile, 16 channels at `corner` (m rows
    /// `rowStep` floats apart, positions `F` floats apart) → A dY Aᵀ into out[ξ·zs], ξ in 0..<36. `e` holds
    /// 36 vectors.
    static func outputGradientTile(_ corner: UnsafePointer<Float>, rowStep: Int, channels F: Int,
                                   _ e: UnsafeMutablePointer<Winograd6.Vector>,
                                   into out: UnsafeMutablePointer<Float>, _ zs: Int)
}

extension Winograd6 {
    /// F(4×4, 3×3).
    enum F4x4K3: Winograd6Transforms {
        static var m: Int { 4 }
        static var r: Int { 3 }

        @inline(__always)
        static func timesG(_ g: UnsafePointer<Lanes>, _ step: Int, into out: UnsafeMutablePointer<Lanes>, _ outStep: Int) {
            let (g0, g1, g2) = (g[0], g[step], g[2 &* step])
            let (four, six, twelve, twentyFour): (Double, Double, Double, Double) = (4, 6, 12, 24)
            let even: Lanes = g0 + g2
            let a: Lanes = g0 / twentyFour, b: Lanes = g1 / twelve, c: Lanes = g2 / six
            let minusOdd: Lanes = -(even + g1), minusEven: Lanes = -(even - g1)
            out[0] = g0 / four; out[outStep] = minusOdd / six; out[2 &* outStep] = minusEven / six
            out[3 &* outStep] = a + b + c; out[4 &* outStep] = a - b + c; out[5 &* outStep] = g2
        }

        @inline(__always)
        static func timesGT(_ d: UnsafePointer<Lanes>, _ step: Int, into out: UnsafeMutablePointer<Lanes>, _ outStep: Int) {
            let (d0, d1, d2, d3, d4, d5) = (d[0], d[step], d[2 &* step], d[3 &* step], d[4 &* step], d[5 &* step])
            let (four, six, twelve, twentyFour): (Double, Double, Double, Double) = (4, 6, 12, 24)
            let s12: Lanes = d1 + d2, s34: Lanes = d3 + d4
            out[0] = d0 / four - s12 / six + s34 / twentyFour
            out[outStep] = (d2 - d1) / six + (d3 - d4) / twelve
            out[2 &* outStep] = (s34 - d1 - d2) / six + d5
        }

        /// Aᵀ applied to a column of six values.
        @inline(__always)
        static func timesAT(_ m0: Vector, _ m1: Vector, _ m2: Vector, _ m3: Vector, _ m4: Vector, _ m5: Vector)
            -> (Vector, Vector, Vector, Vector) {
            let p12 = m1 + m2, m12 = m1 - m2, p34 = m3 + m4, m34 = m3 - m4
            return (m0 + p12 + p34,
                    m12.addingProduct(Vector(repeating: 2), m34),
                    p12.addingProduct(Vector(repeating: 4), p34),
                    (m12 + m5).addingProduct(Vector(repeating: 8), m34))
        }

        /// A applied to a column of four values: the adjoint of `timesAT`.
        @inline(__always)
        static func timesA(_ y0: Vector, _ y1: Vector, _ y2: Vector, _ y3: Vector)
            -> (Vector, Vector, Vector, Vector, Vector, Vector) {
            let e = y0 + y2, o = y1 + y3, e4 = y0.addingProduct(Vector(repeating: 4), y2)
            let o8 = (y1 + y1).addingProduct(Vector(repeating: 8), y3)
            return (y0, e + o, e - o, e4 + o8, e4 - o8, y3)
        }

        @inline(__always)
        static func outputTile(_ p: UnsafePointer<Float>, _ ms: Int, bias b: Vector,
                               _ e: UnsafeMutablePointer<Vector>, _ body: (Int, Int, Vector) -> Void) {
            // Aᵀ down each column s: e[6p + s] for the four output rows p; then along each row
            for s in 0..<6 {
                let q = p + s &* ms
                let r = timesAT(load(q), load(q + 6 &* ms), load(q + 12 &* ms), load(q + 18 &* ms),
                                load(q + 24 &* ms), load(q + 30 &* ms))
                e[s] = r.0; e[6 &+ s] = r.1; e[12 &+ s] = r.2; e[18 &+ s] = r.3
            }
            for row in 0..<4 {
                let q = e + 6 &* row
                let r = timesAT(q[0], q[1], q[2], q[3], q[4], q[5])
                body(row, 0, r.0 + b); body(row, 1, r.1 + b); body(row, 2, r.2 + b); body(row, 3, r.3 + b)
            }
        }

        @inline(__always)
        static func outputGradientTile(_ corner: UnsafePointer<Float>, rowStep: Int, channels F: Int,
                                       _ e: UnsafeMutablePointer<Vector>, into out: UnsafeMutablePointer<Float>, _ zs: Int) {
            // A down each column q: e[6a + q]
            for q in 0..<4 {
                let p = corner + q &* F
                let r = timesA(load(p), load(p + rowStep), load(p + 2 &* rowStep), load(p + 3 &* rowStep))
                e[q] = r.0; e[6 &+ q] = r.1; e[12 &+ q] = r.2
                e[18 &+ q] = r.3; e[24 &+ q] = r.4; e[30 &+ q] = r.5
            }
            for a in 0..<6 {
                let q = e + 6 &* a
                let r = timesA(q[0], q[1], q[2], q[3])
                let o = out + 6 &* a &* zs
                store(r.0, o); store(r.1, o + zs); store(r.2, o + 2 &* zs)
                store(r.3, o + 3 &* zs); store(r.4, o + 4 &* zs); store(r.5, o + 5 &* zs)
            }
        }
    }

    /// F(2×2, 5×5).
    enum F2x2K5: Winograd6Transforms {
        static var m: Int { 2 }
        static var r: Int { 5 }

        @inline(__always)
        static func timesG(_ g: UnsafePointer<Lanes>, _ step: Int, into out: UnsafeMutablePointer<Lanes>, _ outStep: Int) {
            let (g0, g1, g2, g3, g4) = (g[0], g[step], g[2 &* step], g[3 &* step], g[4 &* step])
            let (three, four, six, twelve, twentyFour): (Double, Double, Double, Double, Double) = (3, 4, 6, 12, 24)
            let even: Lanes = g0 + g2 + g4, odd: Lanes = g1 + g3
            // rows 3 and 4: a ± b, a = g0/24 + g2/6 + 2g4/3, b = g1/12 + g3/3
            let a: Lanes = g0 / twentyFour + g2 / six + (g4 + g4) / three, b: Lanes = g1 / twelve + g3 / three
            out[0] = g0 / four; out[outStep] = -(even + odd) / six; out[2 &* outStep] = -(even - odd) / six
            out[3 &* outStep] = a + b; out[4 &* outStep] = a - b; out[5 &* outStep] = g4
        }

        @inline(__always)
        static func timesGT(_ d: UnsafePointer<Lanes>, _ step: Int, into out: UnsafeMutablePointer<Lanes>, _ outStep: Int) {
            let (d0, d1, d2, d3, d4, d5) = (d[0], d[step], d[2 &* step], d[3 &* step], d[4 &* step], d[5 &* step])
            let (three, four, six, twelve, twentyFour): (Double, Double, Double, Double, Double) = (3, 4, 6, 12, 24)
            let s12: Lanes = d1 + d2, s34: Lanes = d3 + d4, m21: Lanes = d2 - d1, m34: Lanes = d3 - d4
            out[0] = d0 / four - s12 / six + s34 / twentyFour
            out[outStep] = m21 / six + m34 / twelve
            out[2 &* outStep] = (s34 - s12) / six
            out[3 &* outStep] = m21 / six + m34 / three
            out[4 &* outStep] = (s34 + s34) / three - s12 / six + d5
        }

        /// Aᵀ applied to a column of six values.
        @inline(__always)
        static func timesAT(_ m0: Vector, _ m1: Vector, _ m2: Vector, _ m3: Vector, _ m4: Vector, _ m5: Vector)
            -> (Vector, Vector) {
            let p12 = m1 + m2, m12 = m1 - m2, p34 = m3 + m4, m34 = m3 - m4
            return (m0 + p12 + p34, (m12 + m5).addingProduct(Vector(repeating: 2), m34))
        }

        /// A applied to a column of two values: the adjoint of `timesAT`.
        @inline(__always)
        static func timesA(_ y0: Vector, _ y1: Vector) -> (Vector, Vector, Vector, Vector, Vector, Vector) {
            let two = Vector(repeating: 2)
            return (y0, y0 + y1, y0 - y1, y0.addingProduct(two, y1), y0.addingProduct(-two, y1), y1)
        }

        @inline(__always)
        static func outputTile(_ p: UnsafePointer<Float>, _ ms: Int, bias b: Vector,
                               _ e: UnsafeMutablePointer<Vector>, _ body: (Int, Int, Vector) -> Void) {
            // Aᵀ down each column s: e[6p + s] for the two output rows p; then along each row
            for s in 0..<6 {
                let q = p + s &* ms
                let r = timesAT(load(q), load(q + 6 &* ms), load(q + 12 &* ms), load(q + 18 &* ms),
                                load(q + 24 &* ms), load(q + 30 &* ms))
                e[s] = r.0; e[6 &+ s] = r.1
            }
            for row in 0..<2 {
                let q = e + 6 &* row
                let r = timesAT(q[0], q[1], q[2], q[3], q[4], q[5])
                body(row, 0, r.0 + b); body(row, 1, r.1 + b)
            }
        }

        @inline(__always)
        static func outputGradientTile(_ corner: UnsafePointer<Float>, rowStep: Int, channels F: Int,
                                       _ e: UnsafeMutablePointer<Vector>, into out: UnsafeMutablePointer<Float>, _ zs: Int) {
            // A down each column q: e[6a + q]
            for q in 0..<2 {
                let p = corner + q &* F
                let r = timesA(load(p), load(p + rowStep))
                e[q] = r.0; e[6 &+ q] = r.1; e[12 &+ q] = r.2
                e[18 &+ q] = r.3; e[24 &+ q] = r.4; e[30 &+ q] = r.5
            }
            for a in 0..<6 {
                let q = e + 6 &* a
                let r = timesA(q[0], q[1])
                let o = out + 6 &* a &* zs
                store(r.0, o); store(r.1, o + zs); store(r.2, o + 2 &* zs)
                store(r.3, o + 3 &* zs); store(r.4, o + 4 &* zs); store(r.5, o + 5 &* zs)
            }
        }
    }
}
