//  Workspace.swift
//
//  Scratch memory owned by a layer and reused from step to step, so the training step does not allocate.

/// A growable block of elements with a stable address, cut into per-thread slices.
///
/// Unlike a Swift array it can be written from several threads at once (each thread its own slice)
/// without exclusivity conflicts. Contents are unspecified after `reserve`.
///
/// The block starts on a 64-byte boundary (a cache line, and one AVX-512 vector), so that kernels whose
/// vectors fall on whole multiples of 16 floats from it never split a load or a store across two lines.
public final class Workspace<Element> {
    public private(set) var base: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int

    /// The alignment of `base`, in bytes.
    public static var alignment: Int { max(64, MemoryLayout<Element>.alignment) }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Element> {
        UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Element>.stride, alignment: alignment)
            .bindMemory(to: Element.self, capacity: max(1, count))
    }

    public init() {
        capacity = 0
        base = Self.allocate(1)
    }

    /// Makes room for at least `count` elements, reallocating only to grow.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            UnsafeMutableRawPointer(base).deallocate()
            base = Self.allocate(count)
            capacity = count
        }
        return base
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}
