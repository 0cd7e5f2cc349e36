//  Conv2D+Winograd.swift
//
//  The fast convolution's Winograd path for 3×3, stride-1 layers (kernels and formulas in Winograd.swift).
//  Images are split across threads as on the im2col path; each thread has its own scratch and its own
//  partial dU (16, F, C) and db, added up in thread order before the one filter-gradient transform, so a run
//  repeats exactly for a given thread count. The fused ReLU and pooling work as on the im2col path.
//
//  Forward:   y[n] = Aᵀ [U · V(x[n])] A + b,  U = G g Gᵀ
//  Backward:  dU += dZ(dy[n]) · V(x[n])ᵀ,  dg = Gᵀ dU G,  db = Σ dy,  dx[n] = the same forward on dy[n]
//             padded by 2 − P, with the flipped kernels, F and C swapped, no bias.

extension Conv2D {
    /// x (N, C, H, W) → y (N, F, Ho, Wo), or (N, F, Hp, Wp) with a fused pooling.
    func winogradForward(_ x: Tensor<Float>, _ g: ConvGeometry, _ tiling: Winograd.Tiling, _ convShape: [Int],
                         tilePooled tilePool: Bool, mode: Mode, into destination: UnsafeMutablePointer<Float>? = nil) -> Tensor<Float> {
        let C = inChannels, F = outChannels
        let u = forwardFilters(positions: 16) { g, u in
            Winograd.transformFilters(g, outChannels: F, inChannels: C, flipped: false, into: u)
        }
        // With `tilePool` (a fused ReLU and 2×2, stride-2 pooling), the output tiles are the pooling's windows.
        return forwardImages(x, g, convShape, scratchPerThread: Winograd.scratchCount(inChannels: C, outChannels: F, tiling),
                             tilePool: tilePool, mode: mode, into: destination) { x, _, bias, scratch, y, pooled in
            // one image per call (`imagesPerCall` 1)
            Winograd.convolve(x, inChannels: C, outChannels: F, tiling, filters: u, bias: bias, scratch: scratch,
                              into: y, pooled: pooled)
        }
    }

    /// The image loop of both Winograd paths' forward: `convolve(x[n], k, b, scratch, y, pooled)` computes
    /// y[n..<n+k] (k, F, Ho, Wo) + b, for k ≤ `imagesPerCall` consecutive images of one thread's share, or,
    /// given `pooled`, only their ReLU and pooling (`tilePool`), with their argmax when given; else a fused
    /// ReLU and pooling follow on each y[n] in a scratch, or a fused ReLU alone in place. The pooling's
    /// winners are kept for backward in training only. With `outputLayout` channels last, the output tensor
    /// is (N, Ho, Wo, F) or (N, Hp, Wp, F), which `convolve` writes (tile-pooled, or without a pooling).
    func forwardImages(_ x: Tensor<Float>, _ g: ConvGeometry, _ convShape: [Int], scratchPerThread perThread: Int,
                       imagesPerCall: Int = 1, tilePool: Bool, mode: Mode, outputLayout: ActivationLayout = .channelsFirst,
                       into destination: UnsafeMutablePointer<Float>? = nil,
                       convolve: (_ x: UnsafePointer<Float>, _ images: Int, _ bias: UnsafePointer<Float>,
                                  _ scratch: WorkspaceSlice<Float>,
                                  _ y: UnsafeMutablePointer<Float>,
                                  _ pooled: (out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?)?) -> Void)
        -> Tensor<Float> {
        let F = outChannels, L = g.positions, chw = g.c * g.h * g.w
        let threads = min(Parallel.threads, g.n)
        let scratchSlices = paddedImages.reserve(threads * perThread)
        let relu = fusesReLU, pool = fusedPool
        let (outShape, pooledL) = fusedOutputShape(g, convShape)
        let ySlices = scratch.reserve(pool == nil || tilePool ? 0 : threads * imagesPerCall * F * L)
        let keepsArgmax = mode == .training
        let argmaxSlices = argmax.reserve(keepsArgmax ? g.n * F * pooledL : 0)
        precondition(outputLayout == .channelsFirst || pool == nil || tilePool, "a separate pooling pools channels first")
        x.scalars.withUnsafeBufferPointer { xp in
            bias.value.scalars.withUnsafeBufferPointer { bp in
                withOutput(outputLayout.shape(ofChannelsFirst: outShape), into: destination) { o0 in
                    let x0 = xp.baseAddress!, b = bp.baseAddress!
                    Parallel.forEachChunk(g.n, threads: threads) { t, images in
                        let work = scratchSlices.piece(t, size: perThread)
                        var first = images.lowerBound
                        while first < images.upperBound {
                            let k = min(imagesPerCall, images.upperBound - first)
                            defer { first += k }
                            if tilePool {
                                let out = o0 + first * F * pooledL
                                let winners = keepsArgmax ? argmaxSlices.piece(first, size: F * pooledL).start : nil
                                convolve(x0 + first * chw, k, b, work, out, (out, winners))
                                continue
                            }
                            // y[first..<first+k] (k, F, Ho, Wo), into the output or, when pooling, a scratch
                            let y = pool == nil ? o0 + first * F * L : ySlices.piece(t, size: imagesPerCall * F * L).start
                            convolve(x0 + first * chw, k, b, work, y, nil)
                            for j in 0..<k {
                                let n = first + j, yn = y + j * F * L
                                let winners = keepsArgmax ? argmaxSlices.piece(n, size: F * pooledL).start : nil
                                if let pool, let winners {
                                    ReLUPoolEpilogue.maxPool(yn, planes: F, height: g.ho, width: g.wo, relu: relu, pool: pool,
                                                             into: o0 + n * F * pooledL, argmax: winners)
                                } else if let pool {
                                    ReLUPoolEpilogue.reluMaxPool(yn, planes: F, height: g.ho, width: g.wo, pool: pool,
                                                                 into: o0 + n * F * pooledL)
                                } else if relu {
                                    for i in 0..<(F * L) { yn[i] = ReLUPoolEpilogue.relu(yn[i]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result(destination)
    }

    /// Adds the per-thread partial sums of both Winograd paths, each dU (positions, …) of `filterCount`
    /// floats then db (F), in thread order into the first thread's, then adds `transform(dU)` to dW and db to
    /// the bias gradient.
    func addTransformedPartials(_ sums: UnsafeMutablePointer<Float>, threads: Int, filterCount: Int,
                                transform: (_ du: UnsafePointer<Float>, _ dg: UnsafeMutablePointer<Float>) -> Void) {
        let F = outChannels, stride = filterCount + F
        for t in 1..<max(1, threads) {
            let p = sums + t * stride
            for i in 0..<stride { sums[i] += p[i] }
        }
        weight.gradient.scalars.withUnsafeMutableBufferPointer { dw in transform(sums, dw.baseAddress!) }
        bias.gradient.scalars.withUnsafeMutableBufferPointer { db in
            for f in 0..<F { db[f] += sums[filterCount + f] }
        }
    }

    /// dy (N, F, Ho, Wo), or (N, F, Hp, Wp) with a fused pooling → dx (N, C, H, W); accumulates dW and db.
    func winogradBackward(_ dy: Tensor<Float>, _ x: Tensor<Float>, _ g: ConvGeometry, _ tiling: Winograd.Tiling) -> Tensor<Float> {
        let C = inChannels, F = outChannels, L = g.positions, chw = g.c * g.h * g.w
        let threads = min(Parallel.threads, g.n)
        let wantsInput = computesInputGradient
        // dx = the forward kernels on dy padded by 2 − P, with flipped filters (16, C, F).
        let dxTiling = Winograd.Tiling(height: g.ho, width: g.wo, padding: 2 - g.padding)
        let uFlipped = backwardFilters(positions: 16)
        if wantsInput {
            weight.value.scalars.withUnsafeBufferPointer {
                Winograd.transformFilters($0.baseAddress!, outChannels: F, inChannels: C, flipped: true, into: uFlipped)
            }
        }
        let perThread = max(Winograd.filterGradientScratchCount(inChannels: C, outChannels: F, tiling),
                            wantsInput ? Winograd.scratchCount(inChannels: F, outChannels: C, dxTiling) : 0)
        let scratchSlices = paddedImages.reserve(threads * perThread)
        let stride = 16 * F * C + F
        let partialSlices = partials.reserve(threads * stride)
        partialSlices.start.update(repeating: 0, count: threads * stride)
        let relu = fusesReLU, pool = fusedPool
        let outL = output.count / max(1, g.n * F)
        let maskedSlices = scratch.reserve(relu ? threads * F * L : 0)
        let argmaxSlices = argmax.contents
        dInput.resize(to: wantsInput ? x.shape : [0])
        x.scalars.withUnsafeBufferPointer { xp in
          dy.scalars.withUnsafeBufferPointer { dyp in
            output.scalars.withUnsafeBufferPointer { op in
                dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                    let x0 = xp.baseAddress!, d0 = dyp.baseAddress!, o0 = op.baseAddress!
                    let dx0 = wantsInput ? dxp.baseAddress : nil
                    Parallel.forEachChunk(g.n, threads: threads) { t, images in
                        let work = scratchSlices.piece(t, size: perThread)
                        let du = partialSlices.piece(t, size: stride).start, db = du + 16 * F * C
                        for n in images {
                            var d = d0 + n * F * outL
                            if relu {
                                // The fused layers' backward: dy[n]·[y[n] > 0], scattered through the pooling.
                                let m = maskedSlices.piece(t, size: F * L).start
                                ReLUPoolEpilogue.gradient(d, output: o0 + n * F * outL, relu: true,
                                                          pooled: pool == nil ? nil : (UnsafePointer(argmaxSlices.piece(n, size: F * outL).start), outL),
                                                          planes: F, height: g.ho, width: g.wo, rowStride: g.wo, into: m)
                                d = UnsafePointer(m)
                            }
                            Winograd.accumulateFilterGradient(x0 + n * chw, d, inChannels: C, outChannels: F, tiling,
                                                              scratch: work, into: du)
                            for f in 0..<F { db[f] += Reductions.sum(d + f * L, L) }
                            guard let dx0 else { continue }
                            Winograd.convolve(d, inChannels: F, outChannels: C, dxTiling, filters: uFlipped, bias: nil,
                                              scratch: work, into: dx0 + n * chw)
                        }
                    }
                }
            }
          }
        }
        // Partial sums in thread order, then one transform back to 3×3 kernels.
        addTransformedPartials(partialSlices.start, threads: threads, filterCount: 16 * F * C) { du, dg in
            Winograd.addFilterGradient(du, outChannels: F, inChannels: C, into: dg)
        }
        return dInput
    }
}
