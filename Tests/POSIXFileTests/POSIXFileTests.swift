// POSIXFileTests.swift — the one file helper: replace, append, capped read, stale temporary files.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import POSIXFile
import XCTest

final class POSIXFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "POSIXFileTests-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    func testReplaceThenReadGivesTheBytesBackAndLeavesOnlyTheFile() throws {
        let path = directory + "/a.bin"
        try POSIXFile.replace([1, 2, 3], at: path)
        try POSIXFile.replace(Array(0..<200).map(UInt8.init), at: path)
        XCTAssertEqual(try POSIXFile.read(path), Array(0..<200).map(UInt8.init))
        XCTAssertEqual(names(), ["a.bin"])
    }

    func testReplaceIntoAMissingDirectoryFailsNamingTheStep() {
        let path = directory + "/missing/a.bin"
        XCTAssertThrowsError(try POSIXFile.replace([1], at: path)) { error in
            guard case let .writeFailed(file, reason)? = error as? POSIXFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, path)
            XCTAssertTrue(reason.contains("cannot create a temporary file") && reason.contains("create it first"), reason)
        }
    }

    func testReadRefusesWhatItCannotOrShouldNotReadWhole() throws {
        let path = directory + "/b.bin"
        try POSIXFile.replace([UInt8](repeating: 7, count: 11), at: path)
        XCTAssertEqual(try POSIXFile.read(path, limit: 11).count, 11)
        XCTAssertThrowsError(try POSIXFile.read(path, limit: 10)) {
            XCTAssertEqual($0 as? POSIXFileError, .tooLarge(file: path, limit: 10))
        }
        XCTAssertThrowsError(try POSIXFile.read(directory + "/none")) {
            XCTAssertEqual($0 as? POSIXFileError, .notFound(file: directory + "/none"))
        }
        XCTAssertThrowsError(try POSIXFile.read(directory)) {
            XCTAssertEqual($0 as? POSIXFileError, .unreadable(file: directory, reason: "it is a directory"))
        }
        XCTAssertThrowsError(try POSIXFile.read("/dev/zero")) {
            XCTAssertEqual($0 as? POSIXFileError, .unreadable(file: "/dev/zero", reason: "it is a device, not a regular file"))
        }
        XCTAssertEqual(POSIXFileError.tooLarge(file: path, limit: 10).description, "\(path): larger than 10 bytes")
    }

    func testAppendLineAddsWholeLines() throws {
        let path = directory + "/log.jsonl"
        try POSIXFile.appendLine("{\"a\":1}", to: path)
        try POSIXFile.appendLine("{\"b\":2}", to: path)
        XCTAssertEqual(String(decoding: try POSIXFile.read(path), as: UTF8.self), "{\"a\":1}\n{\"b\":2}\n")
    }

    /// A temporary file of a process that no longer exists goes; one of a live process (this one's parent)
    /// and an ordinary dot file stay.
    func testStaleTemporaryFilesOfDeadProcessesAreRemoved() throws {
        // A pid that is not running: the highest pid the kernel can hand out is below 2^22.
        var dead: Int32 = 4_194_303
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let stale = ".model.safetensors.tmp-\(dead)-1a2b", live = ".config.json.tmp-\(getppid())-3c4d"
        for name in [stale, live, ".hidden", "model.safetensors"] {
            try POSIXFile.replace([0], at: directory + "/" + name)
        }
        POSIXFile.removeStaleTemporaryFiles(in: directory)
        XCTAssertEqual(names(), [live, ".hidden", "model.safetensors"].sorted())
    }
}
