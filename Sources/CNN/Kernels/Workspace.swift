//  Workspace.swift
//
//  Scratch memory owned by a layer and reused from step to step, so the training step does not allocate.
//
//  A workspace hands out counted slices (`WorkspaceSlice`): a start and the number of elements its user may
//  touch. Each kernel that takes a scratch says how much it needs in a function beside it (`scratchCount`,
//  `paddedCount`, …), the layer reserves that much through the same function, and the kernel checks its
//  slice against it on entry. The checks are compiled only in debug builds (`#if DEBUG`; `fatalError`, whose
//  message survives the module's -O, where a failed precondition's does not): `swift test` runs with them,
//  release builds carry none.

/// A growable block of elements with a stable address, cut into per-thread slices.
///
/// Unlike a Swift array it can be written from several threads at once (each thread its own slice)
/// without exclusivity conflicts. Contents are unspecified after a `reserve` that grows it.
///
/// The block starts on a 64-byte boundary (a cache line, and one AVX-512 vector), so that kernels whose
/// vectors fall on whole multiples of 16 floats from it never split a load or a store across two lines.
public final class Workspace<Element> {
    private var start: UnsafeMutablePointer<Element>
    /// Elements allocated.
    public private(set) var capacity: Int
    /// Elements asked for by the last `reserve`: the count of `contents`.
    public private(set) var reservedCount = 0

    /// The alignment of the block, in bytes.
    public static var alignment: Int { max(64, MemoryLayout<Element>.alignment) }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Element> {
        UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Element>.stride, alignment: alignment)
            .bindMemory(to: Element.self, capacity: max(1, count))
    }

    public init() {
        capacity = 0
        start = Self.allocate(1)
    }

    /// Makes room for at least `count` elements, reallocating only to grow, and returns the first `count`.
    @discardableResult
    public func reserve(_ count: Int) -> WorkspaceSlice<Element> {
        precondition(count >= 0, "Workspace.reserve: negative count \(count)")
        if count > capacity {
            UnsafeMutableRawPointer(start).deallocate()
            start = Self.allocate(count)
            capacity = count
        }
        reservedCount = count
        return WorkspaceSlice(start: start, count: count)
    }

    /// What the last `reserve` handed out, with what was written there since (a forward's argmax or
    /// columns, read by its backward).
    public var contents: WorkspaceSlice<Element> { WorkspaceSlice(start: start, count: reservedCount) }

    deinit { UnsafeMutableRawPointer(start).deallocate() }
}

/// `count` elements from `start`, cut from a `Workspace`.
///
/// Every way in says how much it will touch: `piece(_:size:)` (thread t's or image n's share), `dropFirst`,
/// and `pointer(for:_:)`, which a kernel calls with its own scratch function. In debug builds each checks
/// that it stays inside the slice and stops with a fatal error naming its user; in release builds
/// they are plain pointer arithmetic.
@frozen
public struct WorkspaceSlice<Element> {
    public let start: UnsafeMutablePointer<Element>
    public let count: Int

    @inlinable @inline(__always)
    public init(start: UnsafeMutablePointer<Element>, count: Int) {
        self.start = start
        self.count = count
    }

    /// Piece `index` of consecutive pieces of `size` elements: elements index·size ..< (index + 1)·size.
    @inlinable @inline(__always)
    public func piece(_ index: Int, size: Int) -> WorkspaceSlice {
        #if DEBUG
        if index < 0 || size < 0 || (index + 1) * size > count {
            fatalError("workspace piece \(index) of \(size) elements is past a slice of \(count)")
        }
        #endif
        return WorkspaceSlice(start: start + index * size, count: size)
    }

    /// The elements after the first `n`.
    @inlinable @inline(__always)
    public func dropFirst(_ n: Int) -> WorkspaceSlice {
        #if DEBUG
        if n < 0 || n > count { fatalError("workspace: dropping \(n) elements of a slice of \(count)") }
        #endif
        return WorkspaceSlice(start: start + n, count: count - n)
    }

    /// `start`, for `user`, which touches the first `needed` elements.
    @inlinable @inline(__always)
    public func pointer(for needed: Int, _ user: StaticString) -> UnsafeMutablePointer<Element> {
        #if DEBUG
        if needed > count { fatalError("\(user) needs \(needed) elements of scratch, its slice holds \(count)") }
        #endif
        return start
    }
}
