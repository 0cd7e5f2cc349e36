//  BatchNorm2D+ChannelsLast.swift
//
//  Batch norm on activations in either layout (ActivationLayout.swift): x channels first (N, C, H, W) or
//  channels last (N, H, W, C), and the epilogue's output in either, (N, C, Hp, Wp) or (N, Hp, Wp, C) with the
//  fused pooling (Hp = H, Wp = W without it). The backward after such a forward takes dy in the output's
//  layout and returns dx in the input's. Every output, dx, dγ, dβ, running_mean and running_var has the bits
//  the channels-first path gives on the same values transposed.
//
//  How a forward runs is decided once, by `path` (the enum `LayoutPath`), and backward follows it:
//  - channels first in and out: the channels-first path (BatchNorm2D.swift);
//  - channels last in, on the fast backend, C a multiple of 16, and no pooling or the 2×2, stride-2 one (any
//    H, W: odd ones leave the last row or column out of every window, as there): the channels-last kernels
//    (BatchNormKernels+ChannelsLast.swift), each thread taking whole blocks of sixteen channels, so that each
//    channel's sums are added in the channels-first path's order on any thread count; a channels-first output
//    is the channels-last one transposed (and its dy transposed back in backward);
//  - otherwise (a channels-first input with a channels-last output, the reference backend, C not a multiple
//    of 16, another pooling): the channels-first path, with channels-last inputs and outputs transposed
//    around it (and dy, dx in backward). Only data moves, so the bits are that path's.
//
//  Channels-last training forward, per block of sixteen channels, per image in order (as per channel there):
//      Σx per image plane (Float, in the plane-sum order), added in Double;  μ = Float(Σ/m)
//      Σ(x − μ)² the same way;  σ² = Float(Σ/m);  s = 1/√(σ² + ε)
//      y = γ·((x − μ)·s) + β, then the epilogue, written channels last
//  Backward, per block: dy rebuilt through the epilogue into dx (H, W, C); Σdy and Σdy·x̂ per image plane,
//  added in Float in image order; dx = k·(m·dy − Σdy − x̂·Σdy·x̂), k = γ·s/m.

extension BatchNorm2D {
    /// How a forward ran, and so how the backward after it runs (see the top of this file).
    enum LayoutPath: Equatable {
        /// The channels-first path.
        case channelsFirst
        /// The channels-last kernels on a channels-last input; the output transposed when `output` is channels first.
        case channelsLast(output: ActivationLayout)
        /// The channels-first path with the channels-last input and output of `layout` transposed around it.
        case transposed(StepLayout)
    }

    /// The one place that decides how a forward in `layout` with `epilogue` runs on this layer.
    func path(for layout: StepLayout, epilogue: Epilogue) -> LayoutPath {
        if layout == .channelsFirst { return .channelsFirst }
        if layout.input == .channelsLast && backend == .fast && numFeatures % 16 == 0
            && (epilogue.pool == nil || epilogue.pools2x2) {
            return .channelsLast(output: layout.output)
        }
        return .transposed(layout)
    }

    /// x in `layout.input` ((N, C, H, W) or (N, H, W, C)) → the epilogue of y in `layout.output`: (N, C, Hp, Wp) or
    /// (N, Hp, Wp, C), Hp = H and Wp = W without a fused pooling. Bit for bit the channels-first forward on the
    /// same values (see the top of this file); the backward after it takes dy in `layout.output` and returns dx
    /// in `layout.input`. With `.channelsFirst` it is `forward(x, mode:, epilogue:)`.
    public func forward(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue, layout: StepLayout) -> Tensor<Float> {
        let path = path(for: layout, epilogue: epilogue)
        switch path {
        case .channelsFirst:
            return forward(x, mode: mode, epilogue: epilogue)
        case .transposed(let layout):
            let y = forward(ActivationLayout.transpose(x, from: layout.input, to: .channelsFirst, into: &transposed.input),
                            mode: mode, epilogue: epilogue)
            forwardPath = path
            return ActivationLayout.transpose(y, from: .channelsFirst, to: layout.output, into: &transposed.output)
        case .channelsLast(let outputLayout):
            let y = forwardChannelsLast(x, mode: mode, epilogue: epilogue)
            forwardPath = path
            return ActivationLayout.transpose(y, from: .channelsLast, to: outputLayout, into: &transposed.output)
        }
    }

    /// dy → dx after a `.transposed` forward: dy in `layout.output`, dx in `layout.input`.
    func backwardTransposed(_ dy: Tensor<Float>, layout: StepLayout) -> Tensor<Float> {
        let dx = backwardChannelsFirst(ActivationLayout.transpose(dy, from: layout.output, to: .channelsFirst,
                                                                  into: &transposed.dOutput))
        return ActivationLayout.transpose(dx, from: .channelsFirst, to: layout.input, into: &transposed.dInput)
    }

    /// x (N, H, W, C), C a multiple of 16, the fast backend → the epilogue of y, (N, H, W, C) or (N, Hp, Wp, C),
    /// in `output`; in training keeps x, μ and s for backward and updates the running statistics.
    private func forwardChannelsLast(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue) -> Tensor<Float> {
        precondition(x.shape.count == 4 && x.shape[3] == numFeatures && x.shape[1] > 0 && x.shape[2] > 0,
                     "BatchNorm2D(\(numFeatures)) cannot take channels-last input \(x.shape)")
        self.epilogue = epilogue
        let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]), HW = H * W, m = N * HW
        let relu = epilogue.relu, pool = epilogue.pool != nil
        let hp = pool ? H / 2 : H, wp = pool ? W / 2 : W, outImage = hp * wp * C
        precondition(hp > 0 && wp > 0, "BatchNorm2D(\(numFeatures)): input \(x.shape) is smaller than its pooling")
        output.resize(to: [N, hp, wp, C])
        let codes = argmax.reserve(pool ? N * outImage : 0).start
        let blocks = C / 16, threads = min(Parallel.threads, blocks)

        if mode == .evaluation {
            // y = x·a + b, a = γ/√(running_var + ε), b = β − running_mean·a: the channels-first evaluation's Float operations.
            let gamma = weight.value.scalars, beta = bias.value.scalars
            let runningMean = runningMean.scalars, variance = runningVariance.scalars
            var scale = [Float](repeating: 0, count: C), shift = scale
            for c in 0..<C {
                scale[c] = gamma[c] / (variance[c] + eps).squareRoot()
                shift[c] = beta[c] - runningMean[c] * scale[c]
            }
            x.scalars.withUnsafeBufferPointer { xp in
                output.scalars.withUnsafeMutableBufferPointer { op in
                    let x0 = xp.baseAddress!, o0 = op.baseAddress!
                    Parallel.forEachChunk(blocks, threads: threads) { _, range in
                        for block in range {
                            let c0 = block * 16
                            let a = scale.withUnsafeBufferPointer { BatchNormKernels.load16($0.baseAddress! + c0) }
                            let b = shift.withUnsafeBufferPointer { BatchNormKernels.load16($0.baseAddress! + c0) }
                            for n in 0..<N {
                                BatchNormKernels.writeChannelsLast(x0 + n * HW * C + c0, height: H, width: W, channels: C,
                                                                   relu: relu, pool: pool, into: o0 + n * outImage + c0,
                                                                   codes: codes + n * outImage + c0) { v in v * a + b }
                            }
                        }
                    }
                }
            }
            return output
        }

        precondition(m > 1, "BatchNorm2D(\(numFeatures)): input \(x.shape) has \(Self.tooFewValuesMessage)")
        cachedInput = x
        var batchMean = [Float](repeating: 0, count: C), batchVariance = batchMean
        if inverseStd.count != C { inverseStd = [Float](repeating: 0, count: C) }
        x.scalars.withUnsafeBufferPointer { xp in
          output.scalars.withUnsafeMutableBufferPointer { op in
            weight.value.scalars.withUnsafeBufferPointer { gp in
              bias.value.scalars.withUnsafeBufferPointer { bp in
                inverseStd.withUnsafeMutableBufferPointer { sp in
                  batchMean.withUnsafeMutableBufferPointer { mp in
                    batchVariance.withUnsafeMutableBufferPointer { vp in
                        let x0 = xp.baseAddress!, o0 = op.baseAddress!, g0 = gp.baseAddress!, b0 = bp.baseAddress!
                        let s0 = sp.baseAddress!, m0 = mp.baseAddress!, v0 = vp.baseAddress!
                        let eps = self.eps
                        Parallel.forEachChunk(blocks, threads: threads) { _, range in
                            // Images outermost, so that an image's rows are read from memory once for all of this
                            // thread's blocks; each channel's sums still add its image planes in image order.
                            let base = range.lowerBound
                            var sums = [SIMD16<Double>](repeating: SIMD16(), count: range.count)
                            for n in 0..<N {
                                for block in range {
                                    let s = BatchNormKernels.sumChannelsLast(x0 + n * HW * C + block * 16, count: HW, channels: C)
                                    for l in 0..<16 { sums[block - base][l] += Double(s[l]) }
                                }
                            }
                            var means = [SIMD16<Float>](repeating: SIMD16(), count: range.count)
                            for block in range { for l in 0..<16 { means[block - base][l] = Float(sums[block - base][l] / Double(m)) } }
                            var squares = [SIMD16<Double>](repeating: SIMD16(), count: range.count)
                            for n in 0..<N {
                                for block in range {
                                    let s = BatchNormKernels.sumOfSquaredDeviationsChannelsLast(x0 + n * HW * C + block * 16, count: HW,
                                                                                                channels: C, from: means[block - base])
                                    for l in 0..<16 { squares[block - base][l] += Double(s[l]) }
                                }
                            }
                            var inverses = [SIMD16<Float>](repeating: SIMD16(), count: range.count)
                            for block in range {
                                let c0 = block * 16
                                for l in 0..<16 {
                                    let variance = Float(squares[block - base][l] / Double(m))
                                    let inv = 1 / (variance + eps).squareRoot()
                                    inverses[block - base][l] = inv
                                    m0[c0 + l] = means[block - base][l]; v0[c0 + l] = variance; s0[c0 + l] = inv
                                }
                            }
                            for n in 0..<N {
                                for block in range {
                                    let c0 = block * 16
                                    let g = BatchNormKernels.load16(g0 + c0), b = BatchNormKernels.load16(b0 + c0)
                                    let mean = means[block - base], inv = inverses[block - base]
                                    BatchNormKernels.writeChannelsLast(x0 + n * HW * C + c0, height: H, width: W, channels: C,
                                                                       relu: relu, pool: pool, into: o0 + n * outImage + c0,
                                                                       codes: codes + n * outImage + c0) { v in
                                        g * ((v - mean) * inv) + b
                                    }
                                }
                            }
                        }
                    }
                  }
                }
              }
            }
          }
        }
        self.mean = batchMean
        hasCache = true
        updateRunningStatistics(mean: batchMean, variance: batchVariance, count: m)
        return output
    }

    /// dy in `outputLayout` (the epilogue's output) → dx (N, H, W, C) after a `.channelsLast` forward; accumulates dγ and dβ.
    func backwardChannelsLast(_ dOutput: Tensor<Float>, outputLayout: ActivationLayout) -> Tensor<Float> {
        precondition(hasCache, "BatchNorm2D.backward without a training forward")
        guard let x = cachedInput else { preconditionFailure("BatchNorm2D.backward without a training forward") }
        let dy = ActivationLayout.transpose(dOutput, from: outputLayout, to: .channelsLast, into: &transposed.dOutput)
        precondition(dy.shape == output.shape, "BatchNorm2D.backward: dOutput \(dy.shape) vs output \(output.shape) (channels last)")
        hasCache = false
        cachedInput = nil
        let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]), HW = H * W, m = Float(N * HW)
        let relu = epilogue.relu, pool = epilogue.pool != nil
        let outImage = dy.count / max(1, N)
        let blocks = C / 16, threads = min(Parallel.threads, blocks)
        let codes = UnsafePointer(argmax.contents.start)
        dInput.resize(to: x.shape)
        dy.scalars.withUnsafeBufferPointer { dp in
          output.scalars.withUnsafeBufferPointer { op in
            x.scalars.withUnsafeBufferPointer { xp in
              dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                weight.gradient.scalars.withUnsafeMutableBufferPointer { dgp in
                  bias.gradient.scalars.withUnsafeMutableBufferPointer { dbp in
                    weight.value.scalars.withUnsafeBufferPointer { gp in
                      inverseStd.withUnsafeBufferPointer { sp in
                        mean.withUnsafeBufferPointer { mp in
                            let d0 = dp.baseAddress!, o0 = op.baseAddress!, x0 = xp.baseAddress!, dx0 = dxp.baseAddress!
                            let dg0 = dgp.baseAddress!, db0 = dbp.baseAddress!
                            let g0 = gp.baseAddress!, s0 = sp.baseAddress!, m0 = mp.baseAddress!
                            Parallel.forEachChunk(blocks, threads: threads) { _, range in
                                // Images outermost (as in forward); each channel's sums add its planes in image order.
                                let base = range.lowerBound
                                var sumDy = [SIMD16<Float>](repeating: SIMD16(), count: range.count), sumDyXHat = sumDy
                                func gradient(_ n: Int, _ c0: Int) -> UnsafePointer<Float> {
                                    relu ? UnsafePointer(dx0 + n * HW * C + c0) : d0 + n * HW * C + c0
                                }
                                for n in 0..<N {
                                    for block in range {
                                        let c0 = block * 16
                                        // dy of image n: rebuilt into dx's image through the fused ReLU and pooling, or dOutput's.
                                        if relu {
                                            BatchNormKernels.rebuildChannelsLast(d0 + n * outImage + c0, output: o0 + n * outImage + c0,
                                                                                 codes: codes + n * outImage + c0, height: H, width: W,
                                                                                 channels: C, pool: pool, into: dx0 + n * HW * C + c0)
                                        }
                                        let (a, b) = BatchNormKernels.sumsChannelsLast(gradient(n, c0), x0 + n * HW * C + c0, count: HW,
                                                                                       channels: C, mean: BatchNormKernels.load16(m0 + c0),
                                                                                       inverseStd: BatchNormKernels.load16(s0 + c0))
                                        sumDy[block - base] += a
                                        sumDyXHat[block - base] += b
                                    }
                                }
                                var ks = [SIMD16<Float>](repeating: SIMD16(), count: range.count)
                                for block in range {
                                    let c0 = block * 16
                                    for l in 0..<16 {
                                        db0[c0 + l] += sumDy[block - base][l]
                                        dg0[c0 + l] += sumDyXHat[block - base][l]
                                        ks[block - base][l] = g0[c0 + l] * s0[c0 + l] / m
                                    }
                                }
                                for n in 0..<N {
                                    for block in range {
                                        let c0 = block * 16
                                        BatchNormKernels.inputGradientChannelsLast(gradient(n, c0), x0 + n * HW * C + c0, count: HW,
                                                                                   channels: C, mean: BatchNormKernels.load16(m0 + c0),
                                                                                   inverseStd: BatchNormKernels.load16(s0 + c0),
                                                                                   k: ks[block - base], m: m, sumDy: sumDy[block - base],
                                                                                   sumDyXHat: sumDyXHat[block - base],
                                                                                   into: dx0 + n * HW * C + c0)
                                    }
                                }
                            }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
        return dInput
    }
}

/// The buffers of the transpositions around a forward and backward in other layouts (BatchNorm2D+ChannelsLast.swift).
final class LayoutBuffers {
    var input = Tensor<Float>(shape: [0]), output = Tensor<Float>(shape: [0])
    var dOutput = Tensor<Float>(shape: [0]), dInput = Tensor<Float>(shape: [0])
}
