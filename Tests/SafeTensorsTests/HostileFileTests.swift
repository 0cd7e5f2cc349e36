// HostileFileTests.swift — headers that claim far more than the file holds, and files that never end:
// refused from the header, naming the file, without allocating what they claim; and the inputs the fuzzer
// (scripts/fuzz.sh safetensors) starts from.

import Foundation
import SafeTensors
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class SafeTensorsHostileFileTests: XCTestCase {
    /// A header claiming a 10^12-element F32 tensor (4 TB) in a file of about a hundred bytes.
    func testTensorOfATrillionElementsInATinyFile() throws {
        let trillion = 1_000_000_000_000
        let start = Date()
        // Offsets that fit the file: the shape does not match them.
        assertParseFails(handMadeFile(header: "{" + entryJSON("w", "F32", "[\(trillion)]", "[0,4]") + "}", buffer: [0, 0, 0, 0])) {
            $0 == .shapeMismatch(file: "bad.safetensors", name: "w", expectedBytes: 4 * trillion, actualBytes: 4)
        }
        // Offsets that match the shape: they run past the file.
        assertParseFails(handMadeFile(header: "{" + entryJSON("w", "F32", "[\(trillion)]", "[0,\(4 * trillion)]") + "}", buffer: [0, 0, 0, 0])) {
            $0 == .offsetsOutOfRange(file: "bad.safetensors", name: "w", begin: 0, end: 4 * trillion, bufferLength: 4)
        }
        // As a 10^6 × 10^6 matrix, and as the second of two tensors.
        let two = "{" + entryJSON("a", "U8", "[4]", "[0,4]") + "," + entryJSON("w", "F32", "[1000000,1000000]", "[4,\(4 + 4 * trillion)]") + "}"
        assertParseFails(handMadeFile(header: two, buffer: [1, 2, 3, 4])) {
            $0 == .offsetsOutOfRange(file: "bad.safetensors", name: "w", begin: 4, end: 4 + 4 * trillion, bufferLength: 4)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertLessThan(peakResidentMegabytes(), 4096)
    }

    /// A header length of 2^63 - 1 in an 8-byte file: refused before any header is read.
    func testHeaderLengthOfTwoToTheSixtyThree() {
        assertParseFails(littleEndian64(UInt64(Int.max))) {
            $0 == .headerTooLarge(file: "bad.safetensors", headerLength: UInt64(Int.max), limit: SafeTensorsFile.maxHeaderLength)
        }
    }

    /// A device never ends: refused by type instead of being read until memory runs out.
    func testDeviceIsRefused() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/dev/zero"))
        let error = thrownError { _ = try SafeTensorsFile.read(contentsOf: "/dev/zero") }
        guard case .unreadable("/dev/zero", let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("device"), reason)
    }

    /// Every seed input of the fuzzer parses or gives an error naming the file on one line.
    func testFuzzSeedCorpus() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/fuzz/corpus/safetensors").path
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + name)))
            do {
                let file = try SafeTensorsFile.parse(bytes, file: name)
                XCTAssertEqual(try SafeTensorsFile.parse(file.serialized(), file: name), file, name)
            } catch let error as SafeTensorsError {
                assertNamesFile(error, name)
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
