//  Sequential+Evaluation.swift
//
//  Evaluation split by images, end to end through the convolutional part. `evaluationSteps` are cut before
//  the first step with a Linear layer: the head (convolutions, batch norm, poolings, activations, flatten)
//  and the tail (the Linear layers and what follows them).
//
//  The head runs in chunks of B images at fixed positions of the batch x (N, …), rows
//  [kB, min(N, (k + 1)B)). T = min(Parallel.threads, chunks) workers (one region of Parallel's) each take
//  the next chunk nobody has taken and run the whole head on it with single-threaded kernels and their own copy of the network (its
//  own outputs and workspaces, so nothing is shared but the read-only weights), writing its output rows
//  [kB, …): the head's last convolution writes them there itself when only reshapes (Flatten, Dropout)
//  follow it (`evaluationWriter`), else they are copied from the last step's output. Worker 0 computes on the network itself; worker t > 0 on its replica t, whose parameters and
//  buffers are the network's own arrays (shared copy-on-write for the call and let go after it). The tail
//  runs on the whole batch as before, each Linear splitting its product across threads itself, so that its
//  packed weights serve every row of the batch.
//
//  Each step's input and output layout (channels first, or channels last between F(4×4) convolutions:
//  `evaluationLayouts`, ActivationLayout.swift) is decided once per call from the batch's shape, and every
//  chunk runs in those layouts; the head's output, and the network's, is channels first.
//
//  Invariant: the head computes each image from that image alone (per-image products and tiles, per-plane
//  pooling, per-element batch norm), in an order that does not depend on the other images, so its output
//  for an image is bitwise the same for any chunking, any thread count and any batch, and the same as the
//  steps run one by one on the whole batch. The whole network's output is therefore bitwise the layer-by-layer
//  evaluation's on the same thread count (EvaluationSplitTests); Linear's bits depend on the thread count as
//  they always did (Linear.swift splits its product by threads, and sgemm rounds a row depending on the
//  rows beside it). A convolution whose input holds a NaN or an infinity leaves the Winograd algorithms
//  for its whole chunk (Conv2D+Plan.swift), so the other images of that chunk then agree to rounding only.

import Synchronization

extension Sequential {
    /// The most images in an evaluation chunk unless `evaluationChunk` says otherwise: the batch is split into
    /// chunks of at most this many, at least one per thread.
    public static let defaultEvaluationChunk = 125

    /// Images per evaluation chunk for a batch of `n` on `threads` threads: `evaluationChunk`, or
    /// min(`defaultEvaluationChunk`, ⌈n / threads⌉).
    public func evaluationChunkSize(batch n: Int, threads: Int) -> Int {
        max(1, evaluationChunk ?? min(Self.defaultEvaluationChunk, (n + threads - 1) / max(1, threads)))
    }

    /// The index of the first evaluation step with a Linear layer (evaluationSteps.count without one).
    var evaluationTail: Int {
        evaluationSteps.firstIndex { step in step.layers.contains { layers[$0] is Linear } } ?? evaluationSteps.count
    }

    /// `evaluationSteps` on x (N, …): the head in chunks across threads, the tail on the whole batch (see
    /// the top of this file).
    func evaluate(_ x: Tensor<Float>) -> Tensor<Float> {
        let tail = evaluationTail, layouts = evaluationLayouts(forInput: x.shape)
        precondition(tail == 0 || layouts[tail - 1].output == .channelsFirst, "evaluation: the head ends channels first")
        let y = tail == 0 ? x : evaluateHead(x, steps: 0..<tail, layouts: layouts)
        return run(tail..<evaluationSteps.count, on: y, layouts: layouts)
    }

    /// Evaluation steps `steps` on x in chunks across threads, each step's input and output in `layouts`.
    private func evaluateHead(_ x: Tensor<Float>, steps: Range<Int>, layouts: [StepLayout]) -> Tensor<Float> {
        let n = x.shape.first ?? 0
        let threads = Parallel.threads, chunk = evaluationChunkSize(batch: n, threads: threads)
        Parallel.setThreads(1)
        defer { Parallel.setThreads(threads) }
        guard n > chunk else { return run(steps, on: x, layouts: layouts) }
        let chunks = (n + chunk - 1) / chunk
        var workers = min(threads, chunks)
        while replicas.count < workers - 1 {
            guard let r = evaluationReplica() else { workers = 1; break }
            replicas.append(r)
        }
        let networks = [self] + replicas.prefix(workers - 1)
        for r in networks.dropFirst() { r.share(from: self) }
        defer { for r in networks.dropFirst() { r.letGo() } }

        var shape = [chunk] + x.shape.dropFirst()
        for step in evaluationSteps[steps] {
            for i in step.layers {
                guard let next = layers[i].outputShape(for: shape) else { return run(steps, on: x, layouts: layouts) }
                shape = next
            }
        }
        let outSize = shape.dropFirst().reduce(1, *)
        let writer = evaluationWriter(steps, layouts: layouts)
        headOutput.resize(to: [n] + shape.dropFirst())
        headOutput.scalars.withUnsafeMutableBufferPointer { o in
            let out = o.baseAddress!
            let next = Atomic<Int>(0)
            Parallel.forEachChunk(workers, threads: workers) { w, _ in
                while true {
                    let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard k < chunks else { return }
                    let images = (k * chunk)..<min(n, (k + 1) * chunk)
                    guard let y = networks[w].run(steps, on: x, images: images, layouts: layouts,
                                                  writer: writer, into: out + images.lowerBound * outSize) else { continue }
                    precondition(y.count == images.count * outSize, "evaluation: a chunk gave \(y.shape), expected \(shape.dropFirst()) per image")
                    y.scalars.withUnsafeBufferPointer {
                        (out + images.lowerBound * outSize).update(from: $0.baseAddress!, count: $0.count)
                    }
                }
            }
        }
        return headOutput
    }

    /// The head step among `steps` that writes each chunk's output straight into its place in the batch's
    /// output: the last one that is more than a reshape in evaluation (Flatten, Dropout), when it is a fast
    /// convolution giving channels first (`ExecutionStep.writesIntoDestination`); nil otherwise, and then each
    /// chunk's output is copied there.
    func evaluationWriter(_ steps: Range<Int>, layouts: [StepLayout]) -> Int? {
        guard let last = steps.last(where: { i in !evaluationSteps[i].layers.allSatisfy { layers[$0] is Flatten || layers[$0] is Dropout } })
        else { return nil }
        return evaluationSteps[last].writesIntoDestination && layouts[last].output == .channelsFirst ? last : nil
    }

    /// Evaluation steps `steps` on images `images` of x, copied into this network's chunk input first. With
    /// a `writer` (`evaluationWriter`), the steps up to it, the writer's output written into `destination`
    /// (the steps after it only reshape) and nil returned.
    private func run(_ steps: Range<Int>, on x: Tensor<Float>, images: Range<Int>, layouts: [StepLayout],
                     writer: Int?, into destination: UnsafeMutablePointer<Float>) -> Tensor<Float>? {
        let imageSize = x.count / x.shape[0]
        chunkInput.resize(to: [images.count] + x.shape.dropFirst())
        chunkInput.scalars.withUnsafeMutableBufferPointer { d in
            x.scalars.withUnsafeBufferPointer { s in
                d.baseAddress!.update(from: s.baseAddress! + images.lowerBound * imageSize, count: images.count * imageSize)
            }
        }
        guard let writer else { return run(steps, on: chunkInput, layouts: layouts) }
        let y = run(steps.lowerBound..<writer, on: chunkInput, layouts: layouts)
        _ = evaluationSteps[writer].forward(y, mode: .evaluation, layout: layouts[writer], into: destination)
        return nil
    }

    /// Evaluation steps `steps` on x, in order, each in its layouts (`evaluationLayouts`), with the kernels on
    /// `Parallel.threads`.
    private func run(_ steps: Range<Int>, on x: Tensor<Float>, layouts: [StepLayout]) -> Tensor<Float> {
        var x = x
        for i in steps { x = evaluationSteps[i].forward(x, mode: .evaluation, layout: layouts[i]) }
        return x
    }

    /// `evaluationSteps` one by one on the whole batch, each splitting its work across threads itself (what
    /// evaluation computed before it was split by images; tests compare the two), in the same layouts.
    public func evaluateLayerByLayer(_ x: Tensor<Float>) -> Tensor<Float> {
        run(evaluationSteps.indices, on: x, layouts: evaluationLayouts(forInput: x.shape))
    }

    /// A network of the same layers as this one on the same backends, with its own outputs and workspaces
    /// and zero parameters (`share(from:)` gives it this network's); nil when some layer is of a type its
    /// spec does not rebuild.
    func evaluationReplica() -> Sequential? {
        var generator = RandomGenerator(seed: 0)
        let copies = layers.map { Self.layer($0.spec, backend: $0.backend, generator: &generator).layer }
        for (a, b) in zip(layers, copies) {
            guard type(of: a) == type(of: b) else { return nil }
            if let a = a as? Conv2D, let b = b as? Conv2D { b.algorithm = a.algorithm }
        }
        return Sequential(copies, fusing: fusing)
    }

    /// Takes `network`'s parameter values and buffers (the same arrays, copy-on-write) and its convolutions'
    /// forced algorithms.
    func share(from network: Sequential) {
        for (a, b) in zip(network.layers, layers) {
            for (p, q) in zip(a.parameters, b.parameters) { q.value = p.value }
            for (p, q) in zip(a.buffers, b.buffers) { q.set(p.get()) }
            if let a = a as? Conv2D, let b = b as? Conv2D { b.algorithm = a.algorithm }
        }
    }

    /// Drops the shared parameter arrays, so that the network's next update writes in place.
    func letGo() {
        for p in parameters { p.value = Tensor(shape: [0]) }
    }
}
