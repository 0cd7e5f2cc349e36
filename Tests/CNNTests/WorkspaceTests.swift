import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import CNN

/// Workspaces hand out counted slices; each kernel checks its scratch slice against its own scratch function
/// in debug builds (the build `swift test` runs).
final class WorkspaceTests: XCTestCase {
    func testSlicesCountWhatWasReservedAndPiecesFollowEachOther() {
        let workspace = Workspace<Float>()
        let slice = workspace.reserve(12)
        XCTAssertEqual(slice.count, 12)
        XCTAssertEqual(Int(bitPattern: slice.start) % Workspace<Float>.alignment, 0)
        let piece = slice.piece(2, size: 4)
        XCTAssertEqual(piece.start, slice.start + 8)
        XCTAssertEqual(piece.count, 4)
        XCTAssertEqual(slice.dropFirst(5).count, 7)
        XCTAssertEqual(slice.dropFirst(5).start, slice.start + 5)
        // A smaller reservation keeps the block (and its contents) but counts only what was asked for.
        slice.start[3] = 42
        let smaller = workspace.reserve(6)
        XCTAssertEqual(smaller.start, slice.start)
        XCTAssertEqual(workspace.contents.count, 6)
        XCTAssertEqual(workspace.capacity, 12)
        XCTAssertEqual(workspace.contents.start[3], 42)
    }

    #if DEBUG
    /// Each kernel that takes a scratch, given one element less than its scratch function says, stops with
    /// a message naming it; given exactly that much, it runs. (Checked in a forked child, which the fatal
    /// error ends.)
    func testAKernelGivenLessScratchThanItNeedsStopsNamingItself() {
        let winograd = Winograd.Tiling(height: 16, width: 16, padding: 1)   // F(2×2) needs Wo ≥ 16
        let winograd4 = Winograd6.Tiling(height: 8, width: 8, padding: 1, variant: .f4x4k3)
        let padded = PaddedColumns(ConvGeometry(n: 1, c: 2, h: 6, w: 6, kh: 3, kw: 3, stride: 1, padding: 1))
        let direct = DirectConvolution(ConvGeometry(n: 1, c: 1, h: 12, w: 12, kh: 5, kw: 5, stride: 1, padding: 2))
        let (C, F) = (16, 16)
        let input = [Float](repeating: 0.5, count: C * 12 * 12 * 4), weights = [Float](repeating: 0.25, count: 36 * C * F)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 16)
        defer { output.deallocate() }
        let kernels: [(name: String, needs: Int, run: (WorkspaceSlice<Float>) -> Void)] = [
            ("Winograd.convolve", Winograd.scratchCount(inChannels: C, outChannels: F, winograd), { scratch in
                Winograd.convolve(input, inChannels: C, outChannels: F, winograd, filters: weights, bias: nil,
                                  scratch: scratch, into: output)
            }),
            ("Winograd.accumulateFilterGradient",
             Winograd.filterGradientScratchCount(inChannels: C, outChannels: F, winograd), { scratch in
                Winograd.accumulateFilterGradient(input, input, inChannels: C, outChannels: F, winograd,
                                                  scratch: scratch, into: output)
            }),
            ("Winograd6.convolve", Winograd6.scratchCount(inChannels: C, outChannels: F, winograd4), { scratch in
                Winograd6.convolve(input, inChannels: C, outChannels: F, winograd4, filters: weights, bias: nil,
                                     scratch: scratch, into: output)
            }),
            ("Winograd6.backward", Winograd6.backwardScratchCount(inChannels: C, outChannels: F, winograd4), { scratch in
                input.withUnsafeBufferPointer { x in
                    Winograd6.backward(x.baseAddress!, { _ in .plain(x.baseAddress!) }, inChannels: C, outChannels: F, winograd4,
                                         scratch: scratch, biasGradient: output, filterGradient: output + 64,
                                         inputGradient: nil)
                }
            }),
            ("PaddedColumns.lower", padded.paddedCount, { scratch in
                padded.lower(input, padded: scratch, into: output)
            }),
            ("DirectConvolution.pad", direct.paddedCount, { scratch in
                direct.pad(input, into: scratch)
            }),
            ("DirectConvolution.forward", direct.outputCount(filters: 4), { scratch in
                input.withUnsafeBufferPointer { x in
                    direct.forward(x.baseAddress!, weights: weights, bias: weights, filters: 4, into: scratch)
                }
            }),
        ]
        for kernel in kernels {
            let workspace = Workspace<Float>()
            // Exactly what the kernel's scratch function says: it runs.
            let enough = inChild { kernel.run(workspace.reserve(kernel.needs)) }
            XCTAssertEqual(enough.status, 0, "\(kernel.name) with \(kernel.needs) floats: \(enough.stderr)")
            // One float less: a fatal error that names the kernel and both counts.
            let short = inChild { kernel.run(workspace.reserve(kernel.needs - 1)) }
            XCTAssertNotEqual(short.status, 0, "\(kernel.name) ran on \(kernel.needs - 1) floats")
            XCTAssertTrue(short.stderr.contains("\(kernel.name) needs \(kernel.needs) elements of scratch, its slice holds \(kernel.needs - 1)"),
                          "\(kernel.name): \(short.stderr)")
        }
    }

    /// A thread's piece past the end of its slice stops with a message (the layers cut per-thread and
    /// per-image pieces with `piece`).
    func testAPiecePastTheSliceStops() {
        let workspace = Workspace<Float>()
        let inside = inChild { _ = workspace.reserve(8).piece(1, size: 4) }
        XCTAssertEqual(inside.status, 0, inside.stderr)
        let past = inChild { _ = workspace.reserve(7).piece(1, size: 4) }
        XCTAssertNotEqual(past.status, 0)
        XCTAssertTrue(past.stderr.contains("workspace piece 1 of 4 elements is past a slice of 7"), past.stderr)
    }

    /// Runs `body` in a forked child with its standard error in a pipe: the exit status (the signal's
    /// number + 128 when a signal ended it) and what it wrote. The kernels run on this thread, not on the
    /// `Parallel` pool, whose threads a forked child does not have.
    private func inChild(_ body: () -> Void) -> (status: Int32, stderr: String) {
        var pipe: [Int32] = [0, 0]
        XCTAssertEqual(Glibc.pipe(&pipe), 0)
        fflush(stdout); fflush(stderr)
        let pid = fork()
        if pid == 0 {
            close(pipe[0])
            dup2(pipe[1], 2)
            body()
            _exit(0)
        }
        close(pipe[1])
        // The child's stderr, read until it exits; a child still running after 60 s is killed (SIGKILL).
        var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        var status: Int32 = 0, ended = false, waited = 0
        while !ended {
            var fds = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            if poll(&fds, 1, 100) > 0 {
                let n = read(pipe[0], &buffer, buffer.count)
                if n > 0 { bytes += buffer[0..<n]; continue }
            }
            ended = waitpid(pid, &status, WNOHANG) == pid
            waited += 1
            if !ended && waited == 600 { kill(pid, SIGKILL) }
        }
        while case let n = read(pipe[0], &buffer, buffer.count), n > 0 { bytes += buffer[0..<n] }
        close(pipe[0])
        let signal = status & 0x7f, code = (status >> 8) & 0xff
        return (signal != 0 ? 128 + signal : code, String(decoding: bytes, as: UTF8.self))
    }
    #endif
}
