//  Winograd6+Probe.swift
//
//  Whether images may share each ξ's product (`Winograd6.Stack`) with this process's BLAS.
//
//  Stacked rows keep the bits of each image's own product only because of how the BLAS blocks a product's
//  rows: `Stack` lays them out for OpenBLAS's blocks of 12, 8 and 4 or fewer (see `Stack`), and OpenBLAS picks
//  its kernel, and with it the blocking, from the CPU it runs on. So, once per process, the probe computes
//  the stacked products and each image's own product through `BLAS.sgemm`, called as `multiply` calls it
//  (row-major V (rows, Ci) · U (Ci, Fo), BLAS on one thread as `Parallel.setThreads` keeps it), on seeded
//  pseudo-random values, for each layout `Stack` takes: T mod 12 = 0 (whole blocks only), 4 (remainders in
//  pairs, with and without whole blocks), 1 (remainders in threes, with and without whole blocks), with
//  group sizes that leave a partial remainder product, on the channel counts of the nets (32 to 128 in,
//  32 to 256 out). It holds only if every output of every case has the same bits both ways; where it does
//  not, `imagesPerGroup` is 1 and every product is one image's, the kernels' plain per-image calls.
//
//  Dimension legend: k images, T tiles, Ci input channels, Fo output channels.

#if !canImport(Accelerate)
import CBLAS
#endif

extension Winograd6 {
    /// Whether the images of a group may share each product: BLAS runs on one thread (the way the kernels
    /// call it, from each thread's chunk) and the probe found every stacked output bitwise its image's own.
    /// With Accelerate, whose blocking `Stack` is not laid out for, false.
    public static var stacksImages: Bool {
        #if canImport(Accelerate)
        return false
        #else
        // The thread count first, so that the probe itself only ever runs on BLAS's one thread.
        return openblas_get_num_threads() == 1 && stackingKeepsBits
        #endif
    }

    /// The probe's (T, k, Ci, Fo) cases: each layout of `Stack` (T = 24: whole blocks; T = 16 and 4: remainders
    /// of 4, in pairs and one left over with k odd; T = 49 and 1: single remainders, in threes and a partial
    /// three) on the nets' channel counts.
    public static let probeCases: [(tiles: Int, images: Int, inChannels: Int, outChannels: Int)] = [
        (24, 3, 32, 64), (24, 2, 64, 256),
        (16, 3, 32, 32), (16, 4, 64, 128),
        (4, 2, 64, 128), (4, 3, 128, 256),
        (49, 4, 32, 64), (49, 3, 64, 32),
        (1, 5, 128, 64), (1, 3, 32, 256),
    ]

    /// Computed once per process, on first use, by `stacksImages` (so with BLAS on one thread). Every case
    /// takes V from the start of one pool of seeded uniform values in [−1, 1) and U from after the largest V.
    static let stackingKeepsBits: Bool = {
        let vMost = probeCases.map { $0.tiles * $0.images * $0.inChannels }.max()!
        let uMost = probeCases.map { $0.inChannels * $0.outChannels }.max()!
        var generator = RandomGenerator(seed: 0x5741_434b)
        let pool = (0..<(vMost + uMost)).map { _ in generator.nextUniform(-1, 1) }
        return probeCases.allSatisfy { c in
            let stack = Stack(tiles: c.tiles, images: c.images)
            let v = Array(pool[0..<(stack.rows * c.inChannels)])
            let u = Array(pool[vMost..<(vMost + c.inChannels * c.outChannels)])
            return stackedOutputsDiffering(v, stacked: stackedRows(v, stack, channels: c.inChannels), filters: u, stack,
                                           inChannels: c.inChannels, outChannels: c.outChannels) == 0
        }
    }()

    /// Each image's V (k, T, Ci), image after image, → the same rows in `Stack`'s order (k·T, Ci).
    public static func stackedRows(_ v: [Float], _ stack: Stack, channels C: Int) -> [Float] {
        precondition(v.count == stack.rows * C, "Winograd6.stackedRows: \(v.count) values for \(stack.rows)×\(C)")
        var s = [Float](repeating: 0, count: v.count)
        for j in 0..<stack.images {
            for i in 0..<stack.tiles {
                let from = (j * stack.tiles + i) * C, to = stack.row(image: j, tile: i) * C
                for c in 0..<C { s[to + c] = v[from + c] }
            }
        }
        return s
    }

    /// The outputs whose bits differ between each image's own product M_j (T, Fo) = V_j (T, Ci) · U (Ci, Fo),
    /// from `alone` (k, T, Ci), and the row of the stack's products (`forEachProduct`) from `stacked`
    /// (k·T, Ci, in `Stack`'s rows) that holds the same output. 0 when `stacked` is `stackedRows(alone)` and
    /// stacking keeps the bits.
    public static func stackedOutputsDiffering(_ alone: [Float], stacked: [Float], filters u: [Float], _ stack: Stack,
                                               inChannels C: Int, outChannels F: Int) -> Int {
        precondition(alone.count == stack.rows * C && stacked.count == alone.count && u.count == C * F,
                     "Winograd6.stackedOutputsDiffering: V \(alone.count) and \(stacked.count), U \(u.count) for \(stack.rows)×\(C)×\(F)")
        var own = [Float](repeating: 0, count: stack.rows * F), shared = own
        alone.withUnsafeBufferPointer { a in
            stacked.withUnsafeBufferPointer { s in
                u.withUnsafeBufferPointer { up in
                    own.withUnsafeMutableBufferPointer { o in
                        shared.withUnsafeMutableBufferPointer { m in
                            let T = stack.tiles
                            for j in 0..<stack.images {
                                BLAS.sgemm(transposeA: false, transposeB: false, m: T, n: F, k: C, a: a.baseAddress! + j * T * C,
                                           lda: C, b: up.baseAddress!, ldb: F, c: o.baseAddress! + j * T * F, ldc: F)
                            }
                            stack.forEachProduct { first, rows in
                                BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: F, k: C, a: s.baseAddress! + first * C,
                                           lda: C, b: up.baseAddress!, ldb: F, c: m.baseAddress! + first * F, ldc: F)
                            }
                        }
                    }
                }
            }
        }
        var differing = 0
        for j in 0..<stack.images {
            for i in 0..<stack.tiles {
                let mine = (j * stack.tiles + i) * F, theirs = stack.row(image: j, tile: i) * F
                for f in 0..<F where own[mine + f].bitPattern != shared[theirs + f].bitPattern { differing += 1 }
            }
        }
        return differing
    }
}
