// TestHelpers.swift — building files byte by byte, asserting errors, temporary directories.

import Foundation
import SafeTensors
import XCTest

/// The 8-byte little-endian encoding of `value`.
func littleEndian64(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// A file made by hand: length prefix (the header's length unless `declaredLength` is given),
/// `header` exactly as given (no padding added), then `buffer`.
func handMadeFile(header: String, buffer: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    return littleEndian64(declaredLength ?? UInt64(headerBytes.count)) + headerBytes + buffer
}

/// The header of a single-tensor file: `{"<name>":{"dtype":..,"shape":..,"data_offsets":..}}`.
func entryJSON(_ name: String, _ dtype: String, _ shape: String, _ offsets: String) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
}

/// Asserts that parsing `bytes` as `file` throws a `SafeTensorsError` that `matches`, whose
/// `file` is `file` and whose one-line description starts with `file: `. Returns the error.
@discardableResult
func assertParseFails(_ bytes: [UInt8], file: String = "bad.safetensors",
                      _ matches: (SafeTensorsError) -> Bool,
                      _ message: String = "", line: UInt = #line) -> SafeTensorsError? {
    do {
        let parsed = try SafeTensorsFile.parse(bytes, file: file)
        XCTFail("parsed without error: \(parsed.tensors.map(\.name)) \(message)", line: line)
        return nil
    } catch let error as SafeTensorsError {
        XCTAssertTrue(matches(error), "unexpected error \(error) \(message)", line: line)
        assertNamesFile(error, file, line: line)
        return error
    } catch {
        XCTFail("not a SafeTensorsError: \(error) \(message)", line: line)
        return nil
    }
}

/// Asserts the error names `file` in its `file` property and at the start of its single-line
/// description.
func assertNamesFile(_ error: SafeTensorsError, _ file: String, line: UInt = #line) {
    XCTAssertEqual(error.file, file, line: line)
    let description = error.errorDescription ?? ""
    XCTAssertTrue(description.hasPrefix(file + ": "), "description does not name the file: \(description)", line: line)
    XCTAssertFalse(description.contains("\n"), "description is not one line: \(description)", line: line)
    XCTAssertEqual(error.localizedDescription, description, line: line)
}

/// Runs `body`, which must throw a `SafeTensorsError`; returns it (nil and a failure otherwise).
func thrownError(line: UInt = #line, _ body: () throws -> Void) -> SafeTensorsError? {
    do {
        try body()
        XCTFail("no error thrown", line: line)
    } catch let error as SafeTensorsError {
        return error
    } catch {
        XCTFail("not a SafeTensorsError: \(error)", line: line)
    }
    return nil
}

/// A fresh empty directory under the system's temporary directory.
func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "SafeTensorsTests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The names in `directory`, sorted.
func directoryListing(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

/// The bytes of the file at `path`.
func fileContents(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// The header length (first 8 bytes, little-endian) of a serialized file.
func declaredHeaderLength(_ bytes: [UInt8]) -> Int {
    Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
}
