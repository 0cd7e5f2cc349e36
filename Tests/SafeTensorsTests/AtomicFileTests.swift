// AtomicFileTests.swift — writes replace the file whole or not at all, and leave no temporary file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SafeTensors
import XCTest

final class AtomicFileTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    let model = SafeTensorsFile(tensors: [TensorEntry(name: "w", floats: [1, 2, 3], shape: [3])], metadata: ["k": "v"])

    func testWriteLeavesOnlyTheTarget() throws {
        let path = directory + "/model.safetensors"
        try model.write(to: path)
        XCTAssertEqual(try directoryListing(directory), ["model.safetensors"])
        XCTAssertEqual(try fileContents(path), model.serialized())
        // Overwriting replaces the contents, still with no temporary file left.
        let other = SafeTensorsFile(tensors: [TensorEntry(name: "step", int64: 9)])
        try other.write(to: path)
        XCTAssertEqual(try SafeTensorsFile.read(contentsOf: path), other)
        XCTAssertEqual(try directoryListing(directory), ["model.safetensors"])
    }

    func testAtomicFileWritesAnyBytes() throws {
        let path = directory + "/config.json"
        try AtomicFile.write(Array("{\"a\": 1}\n".utf8), to: path)
        XCTAssertEqual(try fileContents(path), Array("{\"a\": 1}\n".utf8))
        try AtomicFile.write([], to: path)
        XCTAssertEqual(try fileContents(path), [])
        let large = (0..<(1 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try AtomicFile.write(large, to: path)
        XCTAssertEqual(try fileContents(path), large)
        XCTAssertEqual(try directoryListing(directory), ["config.json"])
    }

    func testRelativePathWithoutDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try AtomicFile.write([1, 2, 3], to: "plain.bin")
        XCTAssertEqual(try fileContents(directory + "/plain.bin"), [1, 2, 3])
        XCTAssertEqual(try directoryListing(directory), ["plain.bin"])
    }

    func testWriteUnderARegularFileFails() throws {
        // A regular file used as a directory fails even for root (ENOTDIR).
        let notADirectory = directory + "/somefile"
        try AtomicFile.write([7], to: notADirectory)
        let path = notADirectory + "/x.safetensors"
        let error = thrownError { try model.write(to: path) }
        guard case .writeFailed(path, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("Not a directory"), reason)
        if let error { assertNamesFile(error, path) }
        XCTAssertEqual(try fileContents(notADirectory), [7])
        XCTAssertEqual(try directoryListing(directory), ["somefile"])
    }

    func testWriteIntoAMissingDirectoryFails() throws {
        let path = directory + "/missing/model.safetensors"
        let error = thrownError { try model.write(to: path) }
        guard case .writeFailed(path, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("No such file or directory"), reason)
        XCTAssertEqual(try directoryListing(directory), [])
    }

    /// A write that fails halfway (here: the file-size limit, EFBIG, standing in for a full
    /// disk) leaves the old file as it was and removes the temporary file.
    func testFailedWriteKeepsTheOldFile() throws {
        let path = directory + "/model.safetensors"
        try model.write(to: path)
        let old = try fileContents(path)

        let big = SafeTensorsFile(tensors: [TensorEntry(name: "w", floats: [Float](repeating: 1, count: 4096), shape: [4096])])
        var limit = rlimit()
        XCTAssertEqual(getrlimit(resourceFileSize, &limit), 0)
        let savedLimit = limit
        let savedHandler = signal(SIGXFSZ, SIG_IGN)
        limit.rlim_cur = 1024
        XCTAssertEqual(setrlimit(resourceFileSize, &limit), 0)
        let error = thrownError { try big.write(to: path) }
        var restored = savedLimit
        XCTAssertEqual(setrlimit(resourceFileSize, &restored), 0)
        signal(SIGXFSZ, savedHandler)

        guard case .writeFailed(path, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("File too large"), reason)
        XCTAssertEqual(try fileContents(path), old)
        XCTAssertEqual(try directoryListing(directory), ["model.safetensors"])
    }

    func testTargetThatIsADirectoryFails() throws {
        let path = directory + "/taken"
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        let error = thrownError { try model.write(to: path) }
        guard case .writeFailed(path, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("renaming"), reason)
        XCTAssertEqual(try directoryListing(directory), ["taken"])
        XCTAssertEqual(thrownError { try model.write(to: directory + "/") }?.file, directory + "/")
    }

    func testInvalidFilesAreRefusedBeforeWriting() throws {
        let path = directory + "/model.safetensors"
        try model.write(to: path)
        let old = try fileContents(path)
        let duplicate = SafeTensorsFile(tensors: [TensorEntry(name: "a", int64: 1), TensorEntry(name: "a", int64: 2)])
        XCTAssertEqual(thrownError { try duplicate.write(to: path) }, .duplicateName(file: path, name: "a"))
        let reserved = SafeTensorsFile(tensors: [TensorEntry(name: "__metadata__", int64: 1)])
        guard case .badEntry(path, "__metadata__", _)? = thrownError({ try reserved.write(to: path) }) else {
            return XCTFail("a tensor called __metadata__ was written")
        }
        XCTAssertEqual(try fileContents(path), old)
        XCTAssertEqual(try directoryListing(directory), ["model.safetensors"])
    }
}

#if canImport(Glibc)
private let resourceFileSize = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#else
private let resourceFileSize = RLIMIT_FSIZE
#endif
