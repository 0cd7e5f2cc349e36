//  CLITestSupport.swift
//
//  Helpers of the command-line tests: temporary directories, a small synthetic IDX dataset, capturing what a
//  command prints on standard output, and checking that parsing fails with a message naming the flag.

import ArgumentParser
import CNN
import Foundation
import IDX
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under the system temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init(_ prefix: String = "CLITests") throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Writes `trainCount` and `testCount` synthetic `size`×`size` images into `directory` under the MNIST file
/// names: class k is a bright horizontal bar at a row and a vertical bar at a column that depend on k, plus noise.
func writeSyntheticDataset(to directory: String, size: Int = 12, trainCount: Int = 256, testCount: Int = 100) throws {
    var generator = RandomGenerator(seed: UInt64(size))
    func images(_ count: Int) -> (pixels: [UInt8], labels: [UInt8]) {
        var pixels = [UInt8](repeating: 0, count: count * size * size), labels = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            let k = Int(generator.next() % 10)
            labels[i] = UInt8(k)
            let row = k * (size - 1) / 9, column = (9 - k) * (size - 1) / 9
            for r in 0..<size {
                for c in 0..<size {
                    let v = Int(generator.next() % 60) + (r == row || c == column ? 180 : 0)
                    pixels[(i * size + r) * size + c] = UInt8(min(255, v))
                }
            }
        }
        return (pixels, labels)
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (count, prefix) in [(trainCount, "train"), (testCount, "t10k")] {
        let set = images(count)
        try IDXArray(dimensions: [count, size, size], bytes: set.pixels).write(to: directory + "/\(prefix)-images-idx3-ubyte.gz")
        try IDXArray(dimensions: [count], bytes: set.labels).write(to: directory + "/\(prefix)-labels-idx1-ubyte.gz")
    }
}

/// Runs `body` with standard output redirected to a file, and returns what it printed.
func capturingStandardOutput(_ body: () throws -> Void) throws -> String {
    let dir = try TemporaryDirectory("CLITests-stdout")
    let path = dir.file("stdout.txt")
    fflush(stdout)
    let saved = dup(STDOUT_FILENO)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard saved >= 0, fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
    dup2(fd, STDOUT_FILENO)
    close(fd)
    defer {
        fflush(stdout)
        dup2(saved, STDOUT_FILENO)
        close(saved)
    }
    try body()
    fflush(stdout)
    return String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
}

/// Asserts that parsing `arguments` as `Command` fails, with a message (as ArgumentParser would print it)
/// that contains each of `mentions`; returns the message.
@discardableResult
func assertParseFails<Command: ParsableCommand>(
    _ command: Command.Type, _ arguments: [String], mentions: [String],
    file: StaticString = #filePath, line: UInt = #line
) -> String? {
    do {
        _ = try Command.parse(arguments)
        XCTFail("\(arguments) parsed, but should not have", file: file, line: line)
        return nil
    } catch {
        let message = Command.message(for: error)
        print("  \(arguments.joined(separator: " ")) → \(message)")
        XCTAssertEqual(Command.exitCode(for: error).rawValue, 64, "usage errors exit with 64", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(message.contains(m), "\"\(message)\" does not mention \"\(m)\"", file: file, line: line)
        }
        return message
    }
}
