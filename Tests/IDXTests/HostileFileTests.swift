//  HostileFileTests.swift
//
//  Tiny files whose headers claim enormous arrays: refused with `tooLarge` naming the file, quickly, without
//  allocating what the header claims; and the inputs the fuzzer (scripts/fuzz.sh idx) starts from.

import Foundation
import IDX
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class IDXHostileFileTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
    }

    override func tearDown() { directory = nil }

    /// A 20-byte file whose header says 2^31 × 2^31 bytes follow (2^62: fits an Int, far over any limit).
    func testTwentyByteFileClaiming2To31By2To31() throws {
        let bytes = idxBytes(dimensions: [1 << 31, 1 << 31], payload: [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(bytes.count, 20)
        let start = Date()
        for (gzip, name) in [(false, "claims.idx"), (true, "claims.idx.gz")] {
            let path = try directory.write(gzip ? Gzip.compress(bytes) : bytes, to: name)
            assertIDXError(try IDXArray.read(contentsOf: path), .tooLarge(file: path, limit: IDXArray.defaultByteLimit))
            // Under a small caller limit too, and however the byte limit compares.
            assertIDXError(try IDXArray.read(contentsOf: path, byteLimit: 1 << 20), .tooLarge(file: path, limit: 1 << 20))
        }
        // Three such dimensions overflow Int: the same error, no trap.
        let overflow = idxBytes(dimensions: [1 << 31, 1 << 31, 1 << 31], payload: [])
        assertIDXError(try IDXArray.parse(overflow, file: "overflow.idx"), .tooLarge(file: "overflow.idx", limit: IDXArray.defaultByteLimit))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "refused from the header, not by reading")
        XCTAssertLessThan(peakResidentMegabytes(), 4096)
    }

    /// The same as a dataset: the images file is named, and the labels file is never needed.
    func testDatasetWhoseImagesFileClaimsTooMuch() throws {
        let images = try directory.write(idxBytes(dimensions: [1 << 31, 28, 28], payload: [0, 0, 0, 0]), to: "train-images-idx3-ubyte")
        try directory.write(idxBytes(dimensions: [1], payload: [0]), to: "train-labels-idx1-ubyte")
        assertIDXError(try LabeledImages.load(directory: directory.path, split: .train),
                       .tooLarge(file: images, limit: IDXArray.defaultByteLimit))
    }

    /// A gzip stream that inflates far beyond its header, with a caller limit: stopped at the limit.
    func testGzipBombStopsAtTheCallerLimit() throws {
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: 20_000_000))
        XCTAssertLessThan(bomb.count, 40_000)
        XCTAssertThrowsError(try Gzip.decompress(bomb, file: "bomb.gz", byteLimit: 1 << 20)) { error in
            XCTAssertEqual(error as? IDXError, .tooLarge(file: "bomb.gz", limit: 1 << 20))
        }
    }

    /// Every seed input of the fuzzer gives an array or an error with a one-line message.
    func testFuzzSeedCorpus() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/fuzz/corpus/idx").path
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + name)))
            do {
                let array = try IDXArray.parse(bytes, file: name)
                XCTAssertEqual(try IDXArray.parse(array.encoded(), file: name), array, name)
            } catch {
                XCTAssertFalse((error.errorDescription ?? "\n").contains("\n"), name)
            }
        }
    }
}

/// The process's peak resident set so far, in MiB.
func peakResidentMegabytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
}
