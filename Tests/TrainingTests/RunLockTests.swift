//  RunLockTests.swift
//
//  RunLock in one process: the lock line it writes, a second lock on the same directory refused with the
//  holder named, a stale train.lock (its process gone) taken over and rewritten, release, a missing directory,
//  and a refused fresh run leaving no folder. The same across processes, with SIGKILL, is in the CLI tests
//  (OneProcessPerRunTests), which run the built cnn-train.

import Foundation
import Training
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class RunLockTests: XCTestCase {
    func lockLine(_ dir: String) -> String {
        String(decoding: FileManager.default.contents(atPath: dir + "/train.lock") ?? Data(), as: UTF8.self)
    }

    func testTheLockWritesWhoHoldsItAndASecondLockIsRefused() throws {
        let tmp = try TemporaryDirectory("RunLockTests")
        let dir = try tmp.subdirectory("run")
        let lock = try XCTUnwrap(try RunLock(directory: dir, create: false))
        XCTAssertEqual(lock.holder.pid, getpid())
        let line = lockLine(dir)
        XCTAssertTrue(line.hasPrefix("pid=\(getpid()) host=\(lock.holder.host) since=20"), line)
        XCTAssertTrue(line.hasSuffix("Z\n"), "one line, the time in UTC: \(line)")
        XCTAssertEqual(RunLock.holder(of: dir), lock.holder)

        assertThrows(try RunLock(directory: dir, create: false), as: RunError.self,
                     mentions: ["\(dir) is being trained by \(getpid()) on \(lock.holder.host) since \(lock.holder.since)"]) {
            XCTAssertEqual($0, .busy(dir, lock.holder))
        }
        // The refused attempt did not drop the lock (closing a descriptor of the file would have).
        XCTAssertEqual(RunLock.holder(of: dir), lock.holder)
        XCTAssertEqual(lockLine(dir), line)

        lock.release()
        XCTAssertNil(RunLock.holder(of: dir), "released")
        XCTAssertEqual(lockLine(dir), line, "the file stays, with the last holder's line")
        let again = try XCTUnwrap(try RunLock(directory: dir, create: false))
        XCTAssertEqual(RunLock.holder(of: dir), again.holder)
    }

    func testAStaleLockFileIsTakenOverAndRewritten() throws {
        let tmp = try TemporaryDirectory("RunLockTests")
        let dir = try tmp.subdirectory("run")
        // What a process killed while training leaves: its line, longer than ours, and no lock.
        let stale = "pid=2147483000 host=a-node-that-is-gone.example.org since=2026-01-01T00:00:00Z\n"
        try Data(stale.utf8).write(to: URL(fileURLWithPath: dir + "/train.lock"))
        XCTAssertNil(RunLock.holder(of: dir), "nobody holds it")
        let lock = try XCTUnwrap(try RunLock(directory: dir, create: false))
        XCTAssertEqual(lockLine(dir), "pid=\(getpid()) host=\(lock.holder.host) since=\(lock.holder.since)\n")
    }

    func testAMissingDirectoryIsCreatedOnlyForAFreshRunAndRemovedWhenUnused() throws {
        let tmp = try TemporaryDirectory("RunLockTests")
        let missing = tmp.file("a/b/run")
        XCTAssertNil(try RunLock(directory: missing, create: false))
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "nothing created")

        let lock = try XCTUnwrap(try RunLock(directory: missing, create: true))
        XCTAssertTrue(FileManager.default.fileExists(atPath: missing + "/train.lock"))
        lock.releaseRemovingUnusedDirectory()
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "a refused fresh run leaves no folder")
        XCTAssertNil(RunLock.holder(of: missing))

        // A directory the run wrote into, or one that was there before, stays.
        let used = try XCTUnwrap(try RunLock(directory: missing, create: true))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: missing + "/config.json"))
        used.releaseRemovingUnusedDirectory()
        XCTAssertTrue(FileManager.default.fileExists(atPath: missing + "/config.json"))
        let existing = try tmp.subdirectory("existing")
        try XCTUnwrap(try RunLock(directory: existing, create: true)).releaseRemovingUnusedDirectory()
        XCTAssertTrue(FileManager.default.fileExists(atPath: existing + "/train.lock"))
    }

    func testALockThatCannotBeCreatedIsOneLineNamingTheFile() throws {
        let tmp = try TemporaryDirectory("RunLockTests")
        let file = tmp.file("a-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        // A "directory" that is a regular file: train.lock cannot be made under it.
        assertThrows(try RunLock(directory: file, create: false), as: RunError.self, mentions: [file + "/train.lock"]) {
            guard case .cannotWrite = $0 else { return XCTFail("got \($0)") }
        }
    }
}
