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
//    (BatchNormKernels+ChannelsLast.swift) on blocks of sixteen channels, each pass split by images across
//    threads; every image plane's sum is kept, and each channel's are added in image order after the pass, on
//    one thread, so the bits do not depend on the thread count; a channels-first output is the channels-last
//    one transposed (and its dy transposed back in backward);
//  - otherwise (a channels-first input with a channels-last output, the reference backend, C not a multiple
//    of 16, another pooling): the channels-first path, with channels-last inputs and outputs transposed
//    around it (and dy, dx in backward). Only data moves, so the bits are that path's.
//
//  Channels-last training forward (per channel, the channels-first path's operations):
//      Σx per image plane (Float, in the plane-sum order), added in Double in image order;  μ = Float(Σ/m)
//      Σ(x − μ)² the same way;  σ² = Float(Σ/m);  s = 1/√(σ² + ε)
//      y = γ·((x − μ)·s) + β, then the epilogue, written channels last
//  Backward: dy rebuilt through the epilogue into dx (H, W, C); Σdy and Σdy·x̂ per image plane, added in Float
//  in image order; dx = k·(m·dy − Σdy − x̂·Σdy·x̂), k = γ·s/m.

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
    /// Each pass is split by images across threads: an image's plane sums are the same whoever computes them, and
    /// each channel's are added in image order on one thread after the pass, so the bits do not depend on the
    /// thread count.
    private func forwardChannelsLast(_ x: Tensor<Float>, mode: Mode, epilogue: Epilogue) -> Tensor<Float> {
        precondition(x.shape.count == 4 && x.shape[3] == numFeatures && x.shape[1] > 0 && x.shape[2] > 0,
                     "BatchNorm2D(\(numFeatures)) cannot take channels-last input \(x.shape)")
        self.epilogue = epilogue
        let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]), HW = H * W, m = N * HW
        let relu = epilogue.relu, pool = epilogue.pool != nil
        let hp = pool ? H / 2 : H, wp = pool ? W / 2 : W, outImage = hp * wp * C
        precondition(hp > 0 && wp > 0, "BatchNorm2D(\(numFeatures)): input \(x.shape) is smaller than its pooling")
        precondition(mode == .evaluation || m > 1, "BatchNorm2D(\(numFeatures)): input \(x.shape) has \(Self.tooFewValuesMessage)")
        output.resize(to: [N, hp, wp, C])
        let codes = argmax.reserve(pool ? N * outImage : 0).start
        let blocks = C / 16, threads = min(Parallel.threads, N)

        // Per channel, the coefficients of y = x·a + b: in evaluation a = γ/√(running_var + ε), b = β − running_mean·a
        // (the channels-first evaluation's Float operations); in training μ and s from the batch, and y = γ·((x − μ)·s) + β.
        var a = [Float](repeating: 0, count: C), b = a
        if mode == .evaluation {
            let gamma = weight.value.scalars, beta = bias.value.scalars
            let runningMean = runningMean.scalars, variance = runningVariance.scalars
            for c in 0..<C {
                a[c] = gamma[c] / (variance[c] + eps).squareRoot()
                b[c] = beta[c] - runningMean[c] * a[c]
            }
        } else {
            cachedInput = x
            var batchMean = [Float](repeating: 0, count: C), batchVariance = batchMean
            if inverseStd.count != C { inverseStd = [Float](repeating: 0, count: C) }
            let partial = transposed.partials.reserve(N * C).start   // (N, C): each image plane's Float sum
            x.scalars.withUnsafeBufferPointer { xp in
                let x0 = xp.baseAddress!
                Parallel.forEachChunk(N, threads: threads) { _, images in
                    for n in images {
                        for block in 0..<blocks {
                            let c0 = n * C + block * 16
                            BatchNormKernels.store16(BatchNormKernels.sumChannelsLast(x0 + n * HW * C + block * 16, count: HW, channels: C),
                                                     partial + c0)
                        }
                    }
                }
                for c in 0..<C {
                    var sum: Double = 0
                    for n in 0..<N { sum += Double(partial[n * C + c]) }
                    batchMean[c] = Float(sum / Double(m))
                }
                batchMean.withUnsafeBufferPointer { mp in
                    let m0 = mp.baseAddress!
                    Parallel.forEachChunk(N, threads: threads) { _, images in
                        for n in images {
                            for block in 0..<blocks {
                                let c0 = block * 16
                                let s = BatchNormKernels.sumOfSquaredDeviationsChannelsLast(x0 + n * HW * C + c0, count: HW, channels: C,
                                                                                            from: BatchNormKernels.load16(m0 + c0))
                                BatchNormKernels.store16(s, partial + n * C + c0)
                            }
                        }
                    }
                }
            }
            for c in 0..<C {
                var squares: Double = 0
                for n in 0..<N { squares += Double(partial[n * C + c]) }
                batchVariance[c] = Float(squares / Double(m))
                inverseStd[c] = 1 / (batchVariance[c] + eps).squareRoot()
            }
            mean = batchMean
            a = inverseStd
            b = bias.value.scalars
            hasCache = true
            updateRunningStatistics(mean: batchMean, variance: batchVariance, count: m)
        }
        let training = mode == .training
        x.scalars.withUnsafeBufferPointer { xp in
          output.scalars.withUnsafeMutableBufferPointer { op in
            weight.value.scalars.withUnsafeBufferPointer { gp in
              mean.withUnsafeBufferPointer { mp in
                a.withUnsafeBufferPointer { ap in
                  b.withUnsafeBufferPointer { bp in
                    let x0 = xp.baseAddress!, o0 = op.baseAddress!, g0 = gp.baseAddress!, a0 = ap.baseAddress!, b0 = bp.baseAddress!
                    let m0 = mp.baseAddress
                    Parallel.forEachChunk(N, threads: threads) { _, images in
                        for n in images {
                            for block in 0..<blocks {
                                let c0 = block * 16
                                let av = BatchNormKernels.load16(a0 + c0), bv = BatchNormKernels.load16(b0 + c0)
                                let into = o0 + n * outImage + c0, at = codes + n * outImage + c0, xn = x0 + n * HW * C + c0
                                if training {
                                    let mv = BatchNormKernels.load16(m0! + c0), gv = BatchNormKernels.load16(g0 + c0)
                                    BatchNormKernels.writeChannelsLast(xn, height: H, width: W, channels: C, relu: relu, pool: pool,
                                                                       into: into, codes: at) { v in gv * ((v - mv) * av) + bv }
                                } else {
                                    BatchNormKernels.writeChannelsLast(xn, height: H, width: W, channels: C, relu: relu, pool: pool,
                                                                       into: into, codes: at) { v in v * av + bv }
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
        return output
    }

    /// dy in `outputLayout` (the epilogue's output) → dx (N, H, W, C) after a `.channelsLast` forward; accumulates dγ
    /// and dβ. Split by images as the forward, each channel's Σdy and Σdy·x̂ added in image order after the pass.
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
        let blocks = C / 16, threads = min(Parallel.threads, N)
        let codes = UnsafePointer(argmax.contents.start)
        let partial = transposed.partials.reserve(2 * N * C).start   // (2, N, C): each image plane's Σdy, then its Σdy·x̂
        var sumDy = [Float](repeating: 0, count: C), sumDyXHat = sumDy, k = sumDy
        dInput.resize(to: x.shape)
        dy.scalars.withUnsafeBufferPointer { dp in
          output.scalars.withUnsafeBufferPointer { op in
            x.scalars.withUnsafeBufferPointer { xp in
              dInput.scalars.withUnsafeMutableBufferPointer { dxp in
                inverseStd.withUnsafeBufferPointer { sp in
                  mean.withUnsafeBufferPointer { mp in
                    let d0 = dp.baseAddress!, o0 = op.baseAddress!, x0 = xp.baseAddress!, dx0 = dxp.baseAddress!
                    let s0 = sp.baseAddress!, m0 = mp.baseAddress!
                    func gradient(_ n: Int, _ c0: Int) -> UnsafePointer<Float> {
                        relu ? UnsafePointer(dx0 + n * HW * C + c0) : d0 + n * HW * C + c0
                    }
                    Parallel.forEachChunk(N, threads: threads) { _, images in
                        for n in images {
                            for block in 0..<blocks {
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
                                BatchNormKernels.store16(a, partial + n * C + c0)
                                BatchNormKernels.store16(b, partial + (N + n) * C + c0)
                            }
                        }
                    }
                    let gamma = weight.value.scalars
                    for c in 0..<C {
                        var a: Float = 0, b: Float = 0
                        for n in 0..<N { a += partial[n * C + c]; b += partial[(N + n) * C + c] }
                        sumDy[c] = a; sumDyXHat[c] = b
                        k[c] = gamma[c] * s0[c] / m
                    }
                    sumDy.withUnsafeBufferPointer { ap in
                      sumDyXHat.withUnsafeBufferPointer { bp in
                        k.withUnsafeBufferPointer { kp in
                            let a0 = ap.baseAddress!, b0 = bp.baseAddress!, k0 = kp.baseAddress!
                            Parallel.forEachChunk(N, threads: threads) { _, images in
                                for n in images {
                                    for block in 0..<blocks {
                                        let c0 = block * 16
                                        BatchNormKernels.inputGradientChannelsLast(gradient(n, c0), x0 + n * HW * C + c0, count: HW,
                                                                                   channels: C, mean: BatchNormKernels.load16(m0 + c0),
                                                                                   inverseStd: BatchNormKernels.load16(s0 + c0),
                                                                                   k: BatchNormKernels.load16(k0 + c0), m: m,
                                                                                   sumDy: BatchNormKernels.load16(a0 + c0),
                                                                                   sumDyXHat: BatchNormKernels.load16(b0 + c0),
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
        for c in 0..<C {
            bias.gradient.scalars[c] += sumDy[c]
            weight.gradient.scalars[c] += sumDyXHat[c]
        }
        return dInput
    }
}

/// The buffers of the transpositions around a forward and backward in other layouts (BatchNorm2D+ChannelsLast.swift).
final class LayoutBuffers {
    /// The channels-last passes' per-image plane sums.
    let partials = Workspace<Float>()
    var input = Tensor<Float>(shape: [0]), output = Tensor<Float>(shape: [0])
    var dOutput = Tensor<Float>(shape: [0]), dInput = Tensor<Float>(shape: [0])
}
