//  Conv2D+Winograd6.swift
//
//  The fast convolution's F(4×4, 3×3) and F(2×2, 5×5) paths for 3×3 and 5×5, stride-1 layers whose channels
//  are multiples of 16 (kernels and formulas in Winograd6.swift and Winograd6+Transforms.swift; the tiling's
//  variant says which). Images are split across threads as on the other paths, and
//  each thread's share goes in groups of `Winograd6.imagesPerGroup` images that share each product;
//  each thread has its own scratch and its own partial dU (36, C, F) and db, added up in thread order
//  before the one filter-gradient transform, so a run repeats exactly for a given thread count.
//
//  Forward:   y[n] = Aᵀ [V(x[n]) · U] A + b,  U = G g Gᵀ;  with a fused ReLU and 2×2 pooling (Ho, Wo
//             multiples of the tile side m), each output tile is pooled as it is formed.
//  Backward:  dU += V(x[n])ᵀ · dZ(dy[n]),  dg = Gᵀ dU G,  db = Σ dy,  dx[n] by the variant's
//             `inputGradientRoute`: F(4×4, 3×3) the same forward on dy[n] padded by r − 1 − P, with the flipped
//             kernels, F and C swapped, no bias; F(2×2, 5×5) the adjoint, Σ_tiles B (dZ[ξ] · U[ξ]ᵀ) Bᵀ.
//  Layouts: x (and so dx) and y (and so dy) channels first or channels last, as the step's layout says
//  (ActivationLayout.swift); the kernels pad either into the same channels-last buffers, so only data moves.

extension Conv2D {
    /// x (N, C, H, W) → y (N, F, Ho, Wo), or (N, F, Hp, Wp) with a fused pooling: the argmax is then
    /// channels last (Hp, Wp, F) when tile-pooled, else (F, Hp, Wp). In evaluation and in training, x may come
    /// channels last (N, H, W, C) and y leave channels last, (N, Ho, Wo, F) or (N, Hp, Wp, F), as `layout`
    /// says; a channels-last y needs an epilogue that the outputs take channels last: none, a ReLU, or a ReLU
    /// and 2×2 pooling (in training, none: `Conv2D.forward(_:mode:epilogue:layout:into:)` checks it).
    func winograd6Forward(_ x: Tensor<Float>, _ g: ConvGeometry, _ tiling: Winograd6.Tiling,
                            _ convShape: [Int], tilePooled: Bool, mode: Mode, layout: StepLayout = .channelsFirst,
                            into destination: UnsafeMutablePointer<Float>? = nil) -> Tensor<Float> {
        let C = inChannels, F = outChannels
        let u = forwardFilters(positions: 36) { g, u in
            Winograd6.transformFilters(g, outChannels: F, inChannels: C, variant: tiling.variant, flipped: false, into: u)
        }
        // An evaluation forward takes a fused 2×2 pooling from the channels-last outputs whatever Ho and Wo are
        // (it keeps no winners, which only tile pooling lays out for backward).
        let pooledInside = tilePooled || (mode == .evaluation && epilogue.relu && epilogue.pools2x2)
        precondition(layout.output == .channelsFirst || epilogue.pool == nil || pooledInside,
                     "\(name): a pooling other than 2×2 after ReLU gives channels first")
        let k = Winograd6.imagesPerGroup(tiles: tiling.tiles, inChannels: C, outChannels: F)
        return forwardImages(x, g, convShape,
                             scratchPerThread: Winograd6.scratchCount(inChannels: C, outChannels: F, tiling, images: k),
                             imagesPerCall: k, tilePool: pooledInside, mode: mode, outputLayout: layout.output,
                             into: destination) { x, images, bias, scratch, y, pooled in
            Winograd6.convolve(x, images: images, inChannels: C, outChannels: F, tiling, filters: u, bias: bias, scratch: scratch,
                                 into: y, pooled: pooled, layout: layout)
        }
    }

    /// dy (N, F, Ho, Wo), or (N, F, Hp, Wp) with a fused pooling → dx (N, C, H, W); accumulates dW and db.
    /// With `layout` (the forward's) channels last, x and dx are (N, H, W, C) for `layout.input`, and dy
    /// (N, Ho, Wo, F) for `layout.output` (no epilogue then).
    func winograd6Backward(_ dy: Tensor<Float>, _ x: Tensor<Float>, _ g: ConvGeometry,
                             _ tiling: Winograd6.Tiling, tilePooled tilePool: Bool,
                             layout: StepLayout = .channelsFirst) -> Tensor<Float> {
        let C = inChannels, F = outChannels, L = g.positions, chw = g.c * g.h * g.w
        let threads = min(Parallel.threads, g.n)
        let wantsInput = computesInputGradient
        // dx's filters (36, F, C): flipped, or the forward's U[ξ]ᵀ for the adjoint
        let uInput = backwardFilters(positions: 36)
        if wantsInput {
            weight.value.scalars.withUnsafeBufferPointer {
                Winograd6.transformInputGradientFilters($0.baseAddress!, outChannels: F, inChannels: C,
                                                        variant: tiling.variant, into: uInput)
            }
        }
        // dx by the full convolution: groups of k images share each product (the adjoint goes image by image)
        let k = tiling.variant.inputGradientRoute == .adjoint ? 1
            : Winograd6.imagesPerGroup(tiles: Winograd6.inputGradientTiling(tiling).tiles, inChannels: F, outChannels: C)
        let perThread = Winograd6.backwardScratchCount(inChannels: C, outChannels: F, tiling, images: k)
        let scratchSlices = paddedImages.reserve(threads * perThread)
        let stride = 36 * F * C + F
        let partialSlices = partials.reserve(threads * stride)
        partialSlices.start.update(repeating: 0, count: threads * stride)
        let relu = fusesReLU, pool = fusedPool
        precondition(layout.output == .channelsFirst || (!relu && pool == nil),
                     "\(name): a channels-last dy comes only from a forward without an epilogue")
        let outL = output.count / max(1, g.n * F)
        let maskedSlices = scratch.reserve(relu && !tilePool ? threads * F * L : 0)
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
                        let du = partialSlices.piece(t, size: stride).start, db = du + 36 * F * C
                        var first = images.lowerBound
                        while first < images.upperBound {
                            let count = min(k, images.upperBound - first)
                            defer { first += count }
                            // image first + j's gradient, read by the kernel before it asks for the next
                            func gradient(_ j: Int) -> Winograd6.OutputGradient {
                                let n = first + j, d = d0 + n * F * outL
                                if tilePool {
                                    // Scattered channels last through the forward's argmax, which carries the ReLU's mask.
                                    return .pooled(dOut: d, argmax: argmaxSlices.piece(n, size: F * outL).start)
                                } else if relu {
                                    // The fused layers' backward: dy[n]·[y[n] > 0], scattered through the pooling.
                                    let m = maskedSlices.piece(t, size: F * L).start
                                    ReLUPoolEpilogue.gradient(d, output: o0 + n * F * outL, relu: true,
                                                              pooled: pool == nil ? nil : (UnsafePointer(argmaxSlices.piece(n, size: F * outL).start), outL),
                                                              planes: F, height: g.ho, width: g.wo, rowStride: g.wo, into: m)
                                    return .plain(m)
                                }
                                return .plain(d)
                            }
                            Winograd6.backward(x0 + first * chw, images: count, gradient, inChannels: C, outChannels: F,
                                                 tiling, scratch: work, biasGradient: db, filterGradient: du,
                                                 inputGradient: dx0.map { ($0 + first * chw, UnsafePointer(uInput)) },
                                                 layout: layout)
                        }
                    }
                }
            }
          }
        }
        // Partial sums in thread order, then one transform back to r×r kernels.
        addTransformedPartials(partialSlices.start, threads: threads, filterCount: 36 * F * C) { du, dg in
            Winograd6.addFilterGradient(du, outChannels: F, inChannels: C, variant: tiling.variant, into: dg)
        }
        return dInput
    }
}
