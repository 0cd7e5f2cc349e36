//  Conv2D+Direct.swift
//
//  The fast convolution's direct path for stride-1 layers with few channels and a fused ReLU and pooling
//  (kernels and formulas in DirectConvolution.swift). Images are split across threads as on the im2col
//  path; each thread has its own scratch and its own partial dW and db, added up in thread order, so a run
//  repeats exactly for a given thread count.
//
//  Forward:   y[n] = w ⋆ x̃[n] + b on rows of R, then the fused ReLU and pooling (ReLUPoolEpilogue) on them
//  Backward:  dW, db and dx from the pooling's winners only; a training forward keeps every x̃[n] for it.

extension Conv2D {
    /// x (N, C, H, W) → the pooled output (N, F, Hp, Wp).
    func directForward(_ x: Tensor<Float>, _ g: ConvGeometry, _ conv: DirectConvolution, mode: Mode,
                       into destination: UnsafeMutablePointer<Float>? = nil) -> Tensor<Float> {
        guard let pool = fusedPool else { preconditionFailure("the direct path needs a fused pooling") }
        let F = outChannels, chw = g.c * g.h * g.w, (hp, wp) = pooledSize(g, pool), pooledL = hp * wp
        let threads = min(Parallel.threads, g.n)
        // Training keeps every image's x̃ for backward; evaluation needs one per thread.
        let keeps = mode == .training
        let paddedSlices = paddedImages.reserve((keeps ? g.n : threads) * conv.paddedCount)
        let ySlices = scratch.reserve(threads * conv.outputCount(filters: F))
        // Only a training forward keeps the winners, for backward.
        let argmaxSlices = argmax.reserve(keeps ? g.n * F * pooledL : 0)
        let relu = fusesReLU, outShape = [g.n, F, hp, wp]
        x.scalars.withUnsafeBufferPointer { xp in
            weight.value.scalars.withUnsafeBufferPointer { wp in
                bias.value.scalars.withUnsafeBufferPointer { bp in
                    withOutput(outShape, into: destination) { o0 in
                        let x0 = xp.baseAddress!, w = wp.baseAddress!, b = bp.baseAddress!
                        Parallel.forEachChunk(g.n, threads: threads) { t, images in
                            let y = ySlices.piece(t, size: conv.outputCount(filters: F))
                            for n in images {
                                let padded = paddedSlices.piece(keeps ? n : t, size: conv.paddedCount)
                                conv.pad(x0 + n * chw, into: padded)
                                conv.forward(padded.start, weights: w, bias: b, filters: F, into: y)
                                guard keeps else {
                                    ReLUPoolEpilogue.reluMaxPool(y.start, planes: F, height: g.ho, width: g.wo, rowStride: conv.rowLength,
                                                                 pool: pool, into: o0 + n * F * pooledL)
                                    continue
                                }
                                ReLUPoolEpilogue.maxPool(y.start, planes: F, height: g.ho, width: g.wo, rowStride: conv.rowLength,
                                                         relu: relu, pool: pool, into: o0 + n * F * pooledL,
                                                         argmax: argmaxSlices.piece(n, size: F * pooledL).start)
                            }
                        }
                    }
                }
            }
        }
        return result(destination)
    }

    /// The pooled gradient (N, F, Hp, Wp) → dx (N, C, H, W); accumulates dW and db.
    func directBackward(_ dy: Tensor<Float>, _ x: Tensor<Float>, _ g: ConvGeometry, _ conv: DirectConvolution) -> Tensor<Float> {
        let F = outChannels, Q = g.patchSize, chw = g.c * g.h * g.w
        let threads = min(Parallel.threads, g.n)
        let pooledL = output.count / max(1, g.n * F)
        let stride = F * Q + F
        let partialSlices = partials.reserve(threads * stride)
        partialSlices.start.update(repeating: 0, count: threads * stride)
        let wantsInput = computesInputGradient
        let dPaddedSlices = dCols.reserve(wantsInput ? threads * conv.paddedCount : 0)
        let paddedSlices = paddedImages.contents, argmaxSlices = argmax.contents
        let maskedSlices = scratch.reserve(threads * F * pooledL)
        // 2×2, stride-2 pooling: dx̃ by windows, from the filters shifted to the four offsets in a window.
        let pool = fusedPool!, windowed = wantsInput && pool.kernel == 2 && pool.stride == 2 && conv.takesWindowedInputGradient
        let pooledWidth = pooledSize(g, pool).1
        let shifted = shiftedFilters.reserve(windowed ? conv.shiftedFilterCount(filters: F) : 0)
        if windowed {
            weight.value.scalars.withUnsafeBufferPointer { conv.shiftFilters($0.baseAddress!, filters: F, into: shifted) }
        }
        dInput.resize(to: wantsInput ? x.shape : [0])
        dy.scalars.withUnsafeBufferPointer { dyp in
            output.scalars.withUnsafeBufferPointer { op in
                weight.value.scalars.withUnsafeBufferPointer { wp in
                    dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                        // An empty array may still have a base address: decide by the flag, not by nil.
                        let d0 = dyp.baseAddress!, o0 = op.baseAddress!, w = wp.baseAddress!
                        let dx0 = wantsInput ? dxp.baseAddress : nil
                        Parallel.forEachChunk(g.n, threads: threads) { t, images in
                            let dw = partialSlices.piece(t, size: stride).start, db = dw + F * Q
                            let masked = maskedSlices.piece(t, size: F * pooledL).start
                            for n in images {
                                // g = dOut·[out > 0]: the ReLU's backward, on the pooled windows
                                let e = n * F * pooledL, winners = UnsafePointer(argmaxSlices.piece(n, size: F * pooledL).start)
                                ReLUPoolEpilogue.mask(d0 + e, by: o0 + e, count: F * pooledL, into: masked)
                                conv.accumulateFilterGradient(masked, argmax: winners, pooledSize: pooledL,
                                                              padded: paddedSlices.piece(n, size: conv.paddedCount).start,
                                                              filters: F, dw: dw, db: db)
                                guard let dx0 else { continue }
                                let dPadded = dPaddedSlices.piece(t, size: conv.paddedCount)
                                dPadded.start.update(repeating: 0, count: conv.paddedCount)
                                if windowed {
                                    conv.accumulateInputGradient2x2(masked, argmax: winners, pooledWidth: pooledWidth,
                                                                    pooledSize: pooledL, shiftedFilters: shifted.start,
                                                                    filters: F, into: dPadded)
                                } else {
                                    conv.accumulateInputGradient(masked, argmax: winners, pooledSize: pooledL,
                                                                 weights: w, filters: F, into: dPadded)
                                }
                                conv.crop(dPadded.start, into: dx0 + n * chw)
                            }
                        }
                    }
                }
            }
        }
        addPartials(partialSlices.start, threads: threads)
        return dInput
    }
}
