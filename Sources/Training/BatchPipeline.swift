//  BatchPipeline.swift
//
//  Augmented training batches, made one step ahead on a worker thread while the current step trains.
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

    /// A batch being (or already) made: which one, and its storage.
    private final class Slot {
        var epoch = -1, start = -1, count = 0
        var images: [Float] = []
        var labels: [Int] = []
        let done = DispatchGroup()
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
    /// making the epoch's next batch of the same size (or what is left) on the worker thread.
    public func batch(epoch: Int, order: [Int], start: Int, count n: Int, into x: inout Tensor<Float>, labels y: inout [Int]) {
        let slot: Slot
        // The batch made ahead is read (even which one it is) only after the worker has finished it.
        ahead?.done.wait()
        if let a = ahead, a.epoch == epoch, a.start == start, a.count == n {
            slot = a
        } else {
            slot = Slot()
            make(slot, epoch: epoch, order: order, start: start, count: n)
        }
        ahead = nil
        let size = dataset.input.channels * dataset.input.height * dataset.input.width
        x.resize(to: [n, dataset.input.channels, dataset.input.height, dataset.input.width])
        x.scalars.withUnsafeMutableBufferPointer { out in
            slot.images.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: n * size) }
        }
        y.removeAll(keepingCapacity: true)
        y.append(contentsOf: slot.labels)

        let next = start + n
        if next < order.count {
            let m = min(n, order.count - next), nextSlot = spare
            spare = slot
            ahead = nextSlot
            nextSlot.done.enter()
            worker.async { [self] in
                make(nextSlot, epoch: epoch, order: order, start: next, count: m)
                nextSlot.done.leave()
            }
        }
    }

    /// Warps the images of positions start..<start + n into `slot`.
    private func make(_ slot: Slot, epoch: Int, order: [Int], start: Int, count n: Int) {
        let (H, W) = (dataset.input.height, dataset.input.width), size = dataset.input.channels * H * W
        slot.epoch = epoch; slot.start = start; slot.count = n
        if slot.images.count < n * size { slot.images = [Float](repeating: 0, count: n * size) }
        slot.labels.removeAll(keepingCapacity: true)
        let (mean, std) = (dataset.input.mean, dataset.input.std)
        dataset.pixels.withUnsafeBufferPointer { px in
            slot.images.withUnsafeMutableBufferPointer { out in
                for b in 0..<n {
                    let i = order[start + b]
                    var generator = RandomGenerator(seed: Augmentation.seed(seed, epoch: epoch, position: start + b))
                    augmentation.warp(px.baseAddress! + i * size, height: H, width: W, into: out.baseAddress! + b * size,
                                      mean: mean, std: std, generator: &generator)
                    slot.labels.append(dataset.labels[i])
                }
            }
        }
    }

    deinit { ahead?.done.wait() }
}
