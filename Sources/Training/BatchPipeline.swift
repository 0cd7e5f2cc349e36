//  BatchPipeline.swift
//
//  Augmented training batches, made one step ahead while the current step trains (on the kernels' idle pool
//  workers, or on a thread of its own).
//  Batch b of epoch e holds the images order[b·B ..< b·B + n], each warped with the generator of
//  (seed, e, its position in the order) (Augmentation.seed), so a batch's bytes do not depend on which thread
//  made it, on whether it was made ahead, or on where a run was resumed.

import CNN
import Dispatch

/// Warped batches of a dataset, prefetched one step ahead.
public final class BatchPipeline {
    public let dataset: Dataset
    public let augmentation: Augmentation
    public let seed: UInt64

    /// A batch being (or already) made: which one, and its storage. Image b is written to images[b·size...] and its
    /// label to labels[b] by whichever thread warps it, so the storage is raw memory, not arrays.
    private final class Slot {
        var epoch = -1, start = -1, count = 0
        private(set) var images = UnsafeMutablePointer<Float>.allocate(capacity: 0)
        private(set) var labels = UnsafeMutablePointer<Int>.allocate(capacity: 0)
        private var capacity = 0
        /// The batch's warps on the pool's workers, or else on the pipeline's own thread (`done`).
        var work: BackgroundWork?
        let done = DispatchGroup()

        /// Makes room for n images of `size` values; only while no warp of this slot is running.
        func reserve(_ n: Int, size: Int) {
            guard n > capacity else { return }
            images.deallocate(); labels.deallocate()
            images = .allocate(capacity: n * size)
            labels = .allocate(capacity: n)
            capacity = n
        }

        /// Returns when every image of the slot is warped.
        func wait() {
            if let w = work { w.finish(); work = nil } else { done.wait() }
        }

        deinit { images.deallocate(); labels.deallocate() }
    }
    private var ahead: Slot?
    private var spare = Slot()
    private let worker = DispatchQueue(label: "cnn.augmentation")

    public init(dataset: Dataset, augmentation: Augmentation, seed: UInt64) {
        self.dataset = dataset
        self.augmentation = augmentation
        self.seed = seed
    }

    /// Fills `x` (n, C, H, W) and `y` with the warped images at positions start..<start + n of `order`, and starts
    /// making the epoch's next batch of the same size (or what is left): on the `Parallel` pool's workers while
    /// they have no kernel chunk to run, or on the pipeline's own thread when there is no pool.
    public func batch(epoch: Int, order: [Int], start: Int, count n: Int, into x: inout Tensor<Float>, labels y: inout [Int]) {
        let slot: Slot
        // The batch made ahead is read (even which one it is) only after it is finished.
        ahead?.wait()
        if let a = ahead, a.epoch == epoch, a.start == start, a.count == n {
            slot = a
        } else {
            slot = Slot()
            prepare(slot, epoch: epoch, start: start, count: n)
            for b in 0..<n { warp(slot, order: order, image: b) }
        }
        ahead = nil
        let size = dataset.input.channels * dataset.input.height * dataset.input.width
        x.resize(to: [n, dataset.input.channels, dataset.input.height, dataset.input.width])
        x.scalars.withUnsafeMutableBufferPointer { out in out.baseAddress!.update(from: slot.images, count: n * size) }
        y.removeAll(keepingCapacity: true)
        y.append(contentsOf: UnsafeBufferPointer(start: slot.labels, count: n))

        let next = start + n
        if next < order.count {
            let m = min(n, order.count - next), nextSlot = spare
            spare = slot
            ahead = nextSlot
            prepare(nextSlot, epoch: epoch, start: next, count: m)
            if let w = BackgroundWork(count: m, { [self] b in warp(nextSlot, order: order, image: b) }) {
                nextSlot.work = w
            } else {
                nextSlot.done.enter()
                worker.async { [self] in
                    for b in 0..<m { warp(nextSlot, order: order, image: b) }
                    nextSlot.done.leave()
                }
            }
        }
    }

    /// Says which batch `slot` holds and makes room for it.
    private func prepare(_ slot: Slot, epoch: Int, start: Int, count n: Int) {
        slot.epoch = epoch; slot.start = start; slot.count = n
        slot.reserve(n, size: dataset.input.channels * dataset.input.height * dataset.input.width)
    }

    /// Warps the image at position slot.start + b of `order` into the slot's image b, and stores its label.
    private func warp(_ slot: Slot, order: [Int], image b: Int) {
        let (H, W) = (dataset.input.height, dataset.input.width), size = dataset.input.channels * H * W
        let i = order[slot.start + b]
        var generator = RandomGenerator(seed: Augmentation.seed(seed, epoch: slot.epoch, position: slot.start + b))
        dataset.pixels.withUnsafeBufferPointer { px in
            augmentation.warp(px.baseAddress! + i * size, height: H, width: W, into: slot.images + b * size,
                              mean: dataset.input.mean, std: dataset.input.std, generator: &generator)
        }
        slot.labels[b] = dataset.labels[i]
    }

    deinit { ahead?.wait() }
}
