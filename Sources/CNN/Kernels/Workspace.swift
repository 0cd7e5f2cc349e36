//  Workspace.swift
//
//  Scratch memory owned by a layer and reused from step to step, so the training step does not allocate.

/// A growable block of floats with a stable address, cut into per-thread slices.
///
/// Unlike a Swift array it can be written from several threads at once (each thread its own slice)
/// without exclusivity conflicts. Contents are unspecified after `reserve`.
public final class Workspace {
    public private(set) var base: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init() {
        capacity = 0
        base = .allocate(capacity: 1)
    }

    /// Makes room for at least `count` floats, reallocating only to grow.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            base.deallocate()
            base = .allocate(capacity: count)
            capacity = count
        }
        return base
    }

    deinit { base.deallocate() }
}
