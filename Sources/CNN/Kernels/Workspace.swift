//  Workspace.swift
//
//  Scratch memory owned by a layer and reused from step to step, so the training step does not allocate.

/// A growable block of elements with a stable address, cut into per-thread slices.
///
/// Unlike a Swift array it can be written from several threads at once (each thread its own slice)
/// without exclusivity conflicts. Contents are unspecified after `reserve`.
public final class Workspace<Element> {
    public private(set) var base: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int

    public init() {
        capacity = 0
        base = .allocate(capacity: 1)
    }

    /// Makes room for at least `count` elements, reallocating only to grow.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            base.deallocate()
            base = .allocate(capacity: count)
            capacity = count
        }
        return base
    }

    deinit { base.deallocate() }
}
