// MalformedFileTests.swift — every kind of broken file gives its own error, naming the file,
// and nothing traps.

import Foundation
import SafeTensors
import XCTest

final class MalformedFileTests: XCTestCase {
    /// A header `{...}` around `members`, and a buffer.
    func file(_ members: String, buffer: [UInt8] = []) -> [UInt8] {
        handMadeFile(header: "{" + members + "}", buffer: buffer)
    }

    // MARK: Reading the file

    func testMissingFile() throws {
        let error = thrownError { _ = try SafeTensorsFile.read(contentsOf: "/nonexistent-dir/missing.safetensors") }
        XCTAssertEqual(error, .fileNotFound(file: "/nonexistent-dir/missing.safetensors"))
        if let error { assertNamesFile(error, "/nonexistent-dir/missing.safetensors") }
    }

    func testDirectoryIsUnreadable() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = thrownError { _ = try SafeTensorsFile.read(contentsOf: directory) }
        guard case .unreadable(directory, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.lowercased().contains("directory"), reason)
    }

    // MARK: Header length

    func testShorterThan8Bytes() {
        for size in 0..<8 {
            assertParseFails([UInt8](repeating: 0, count: size)) { $0 == .tooShort(file: "bad.safetensors", size: size) }
        }
    }

    func testHeaderLengthBeyondTheFile() {
        let bytes = littleEndian64(9_999_999) + [UInt8](repeating: 0x20, count: 112)
        let error = assertParseFails(bytes, file: "model.safetensors") {
            $0 == .headerBeyondFile(file: "model.safetensors", headerLength: 9_999_999, fileSize: 120)
        }
        XCTAssertEqual(error?.errorDescription,
                       "model.safetensors: header length 9999999 exceeds the file size (120 bytes); the file is truncated or not safetensors")
        // One byte short.
        let valid = SafeTensorsFile().serialized()
        assertParseFails(littleEndian64(9) + Array(valid[8...])) {
            $0 == .headerBeyondFile(file: "bad.safetensors", headerLength: 9, fileSize: 16)
        }
    }

    func testHeaderTooLarge() {
        for length: UInt64 in [100_000_001, UInt64(Int.max), .max] {
            assertParseFails(littleEndian64(length) + Array("{}".utf8)) {
                $0 == .headerTooLarge(file: "bad.safetensors", headerLength: length, limit: 100_000_000)
            }
        }
    }

    /// A file that is plainly something else is named as such, not by the huge header length its first 8
    /// bytes give (`cnn-eval README.md` said "header length 4686569831647092771 exceeds the limit").
    func testTextGzipAndPNGAreNotSafeTensors() {
        let error = assertParseFails(Array("# cnn\n\nTrain convolutional networks\n".utf8), file: "README.md") {
            $0 == .notSafeTensors(file: "README.md", looksLike: "text")
        }
        XCTAssertEqual(error?.errorDescription,
                       "README.md: not a safetensors file (it is text); HINT: give a .safetensors checkpoint or a run directory")
        assertParseFails(Array("hello, world, not a model\n".utf8)) { $0 == .notSafeTensors(file: "bad.safetensors", looksLike: "text") }
        assertParseFails([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 1, 2, 3]) { $0 == .notSafeTensors(file: "bad.safetensors", looksLike: "a gzip file") }
        assertParseFails([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]) {
            $0 == .notSafeTensors(file: "bad.safetensors", looksLike: "a PNG image")
        }
    }

    // MARK: Header JSON

    func testInvalidJSON() {
        let isInvalidJSON: (SafeTensorsError) -> Bool = {
            if case .invalidJSON("bad.safetensors", _) = $0 { return true } else { return false }
        }
        for header in ["{\"a\":", "{'a':1}", "{\"a\":1,}", "{\"a\" 1}", "{}}", "{\"a\":NaN}", "{\"a\":1e400}",
                       " {}", "\n{}", "{\"a\":\"\\ud800\"}", "{\"a\":\"tab\there\"}",
                       // Trailing commas, which Foundation on Linux accepts but JSON does not.
                       "{" + entryJSON("w", "U8", "[1]", "[0,1]") + ",}", "{" + entryJSON("w", "U8", "[1,]", "[0,1]") + "}",
                       "{\"__metadata__\":{\"k\":\"v\" , }}"] {
            assertParseFails(handMadeFile(header: header), isInvalidJSON, header)
        }
        assertParseFails(littleEndian64(0), isInvalidJSON, "empty header")
        assertParseFails(littleEndian64(4) + [0x7B, 0xFF, 0xFE, 0x7D], isInvalidJSON, "not UTF-8")
        assertParseFails(littleEndian64(4) + [0x7B, 0xC0, 0x80, 0x7D], isInvalidJSON, "overlong UTF-8 NUL")
        assertParseFails(littleEndian64(3) + [0x7B, 0x00, 0x7D], isInvalidJSON, "raw NUL")
        let utf16 = Array("{\"a\":{}}".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        assertParseFails(littleEndian64(UInt64(utf16.count)) + utf16, isInvalidJSON, "UTF-16")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        assertParseFails(handMadeFile(header: "{\"a\":" + deep + "}"), isInvalidJSON, "deeply nested")
    }

    func testJSONThatIsNotAnObject() {
        for (header, found) in [("[1,2]", "an array"), ("\"text\"", "\"text\""), ("42", "42"),
                                ("null", "null"), ("true", "true")] {
            assertParseFails(handMadeFile(header: header)) { $0 == .notAnObject(file: "bad.safetensors", found: found) }
        }
    }

    func testMetadataMustMapStringsToStrings() {
        let isBadMetadata: (SafeTensorsError) -> Bool = {
            if case .badMetadata("bad.safetensors", _) = $0 { return true } else { return false }
        }
        for metadata in ["{\"k\":1}", "{\"k\":null}", "{\"k\":true}", "{\"k\":[\"v\"]}", "{\"k\":{\"a\":\"b\"}}",
                         "[]", "\"text\"", "null", "{\"k\":\"v\",\"k\":\"w\"}"] {
            assertParseFails(file("\"__metadata__\":" + metadata), isBadMetadata, metadata)
        }
        assertParseFails(file("\"__metadata__\":{},\"__metadata__\":{}"), isBadMetadata, "twice")
        let error = assertParseFails(file("\"__metadata__\":{\"epoch\":3}"), isBadMetadata)
        XCTAssertEqual(error, .badMetadata(file: "bad.safetensors", reason: "the value of 'epoch' is 3, not a string"))
    }

    // MARK: Tensor entries

    func testUnknownDType() {
        for dtype in ["F8_E4M3", "f32", "U64", "", "F32 "] {
            assertParseFails(file(entryJSON("w", dtype, "[1]", "[0,1]"), buffer: [0])) {
                $0 == .unknownDType(file: "bad.safetensors", name: "w", dtype: dtype)
            }
        }
    }

    func testMalformedEntries() {
        let isBadEntry: (SafeTensorsError) -> Bool = {
            if case .badEntry("bad.safetensors", "w", _) = $0 { return true } else { return false }
        }
        let members = [
            "\"w\":5", "\"w\":[]", "\"w\":\"F32\"", "\"w\":null",
            "\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}",
            "\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}",
            "\"w\":{\"dtype\":\"F32\",\"shape\":[1]}",
            "\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}",
            "\"w\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}",
            "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}",
            "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}",
            "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"begin\":0}}",
        ]
        for member in members {
            assertParseFails(file(member, buffer: [0, 0, 0, 0]), isBadEntry, member)
        }
    }

    func testNegativeFractionalAndOtherBadShapeEntries() {
        let isBadEntry: (SafeTensorsError) -> Bool = {
            if case .badEntry("bad.safetensors", "w", _) = $0 { return true } else { return false }
        }
        for shape in ["[-1]", "[1.5]", "[1.0]", "[1e0]", "[true]", "[false]", "[\"1\"]", "[null]", "[[1]]",
                      "[-0.0]", "[9223372036854775808]", "[18446744073709551616]", "[1, -4]"] {
            assertParseFails(file(entryJSON("w", "U8", shape, "[0,1]"), buffer: [0]), isBadEntry, shape)
        }
        let error = assertParseFails(file(entryJSON("w", "U8", "[2,-3]", "[0,1]"), buffer: [0]), isBadEntry)
        XCTAssertEqual(error, .badEntry(file: "bad.safetensors", name: "w",
                                        reason: "shape[1] is -3; dimensions must be integers from 0 to \(Int.max)"))
        // Element count or byte count beyond Int: no overflow trap, no allocation.
        for shape in ["[9223372036854775807,2]", "[4611686018427387904,4611686018427387904]", "[2305843009213693952]"] {
            assertParseFails(file(entryJSON("w", "F32", shape, "[0,4]"), buffer: [0, 0, 0, 0]), isBadEntry, shape)
        }
    }

    func testBadDataOffsets() {
        let isBadEntry: (SafeTensorsError) -> Bool = {
            if case .badEntry("bad.safetensors", "w", _) = $0 { return true } else { return false }
        }
        for offsets in ["[-4,0]", "[0,4.0]", "[0.5,4]", "[true,4]", "[0,\"4\"]", "[0,null]", "[0,9223372036854775808]"] {
            assertParseFails(file(entryJSON("w", "F32", "[1]", offsets), buffer: [0, 0, 0, 0]), isBadEntry, offsets)
        }
        let reversed = assertParseFails(file(entryJSON("w", "F32", "[1]", "[8,4]"), buffer: [UInt8](repeating: 0, count: 8)), isBadEntry)
        XCTAssertEqual(reversed, .badEntry(file: "bad.safetensors", name: "w", reason: "\"data_offsets\" [8, 4] end before they begin"))
    }

    func testShapeAndByteLengthMismatch() {
        assertParseFails(file(entryJSON("w", "F32", "[3]", "[0,8]"), buffer: [UInt8](repeating: 0, count: 8))) {
            $0 == .shapeMismatch(file: "bad.safetensors", name: "w", expectedBytes: 12, actualBytes: 8)
        }
        assertParseFails(file(entryJSON("s", "I64", "[]", "[0,4]"), buffer: [0, 0, 0, 0])) {
            $0 == .shapeMismatch(file: "bad.safetensors", name: "s", expectedBytes: 8, actualBytes: 4)
        }
    }

    func testOffsetsOutOfRange() {
        assertParseFails(file(entryJSON("w", "F32", "[4]", "[0,16]"), buffer: [UInt8](repeating: 0, count: 8))) {
            $0 == .offsetsOutOfRange(file: "bad.safetensors", name: "w", begin: 0, end: 16, bufferLength: 8)
        }
        // A header claiming 2^61 bytes in a tiny file: rejected without allocating anything.
        let huge = 2_305_843_009_213_693_952
        assertParseFails(file(entryJSON("w", "U8", "[\(huge)]", "[0,\(huge)]"), buffer: [1, 2])) {
            $0 == .offsetsOutOfRange(file: "bad.safetensors", name: "w", begin: 0, end: huge, bufferLength: 2)
        }
    }

    func testOverlappingOffsets() {
        let buffer = [UInt8](repeating: 0, count: 12)
        assertParseFails(file(entryJSON("a", "F32", "[2]", "[0,8]") + "," + entryJSON("b", "F32", "[2]", "[4,12]"), buffer: buffer)) {
            $0 == .overlap(file: "bad.safetensors", name: "b", other: "a")
        }
        assertParseFails(file(entryJSON("a", "F32", "[2]", "[0,8]") + "," + entryJSON("b", "F32", "[2]", "[0,8]"), buffer: [UInt8](repeating: 0, count: 8))) {
            $0 == .overlap(file: "bad.safetensors", name: "b", other: "a")
        }
        // An empty tensor inside another one's bytes.
        assertParseFails(file(entryJSON("a", "F32", "[2]", "[0,8]") + "," + entryJSON("e", "F32", "[0]", "[4,4]"), buffer: [UInt8](repeating: 0, count: 8))) {
            $0 == .overlap(file: "bad.safetensors", name: "e", other: "a")
        }
    }

    func testGapsAndTrailingBytes() {
        let buffer = [UInt8](repeating: 0, count: 12)
        assertParseFails(file(entryJSON("a", "F32", "[1]", "[0,4]") + "," + entryJSON("b", "F32", "[1]", "[8,12]"), buffer: buffer)) {
            $0 == .gap(file: "bad.safetensors", name: "b", expectedBegin: 4, begin: 8)
        }
        assertParseFails(file(entryJSON("a", "F32", "[1]", "[4,8]"), buffer: [UInt8](repeating: 0, count: 8))) {
            $0 == .gap(file: "bad.safetensors", name: "a", expectedBegin: 0, begin: 4)
        }
        assertParseFails(file(entryJSON("a", "F32", "[1]", "[0,4]"), buffer: [UInt8](repeating: 0, count: 8))) {
            $0 == .trailingBytes(file: "bad.safetensors", used: 4, bufferLength: 8)
        }
        assertParseFails(file("", buffer: [1, 2, 3, 4])) {
            $0 == .trailingBytes(file: "bad.safetensors", used: 0, bufferLength: 4)
        }
        // Padding written after the data instead of in the header.
        var padded = SafeTensorsFile(tensors: [TensorEntry(name: "a", floats: [1], shape: [1])]).serialized()
        padded += [0x20, 0x20]
        assertParseFails(padded) { $0 == .trailingBytes(file: "bad.safetensors", used: 4, bufferLength: 6) }
    }

    func testDuplicateNames() {
        let buffer = [UInt8](repeating: 0, count: 8)
        assertParseFails(file(entryJSON("a", "F32", "[1]", "[0,4]") + "," + entryJSON("a", "F32", "[1]", "[4,8]"), buffer: buffer)) {
            $0 == .duplicateName(file: "bad.safetensors", name: "a")
        }
        // The same name spelled with an escape.
        assertParseFails(file(entryJSON("a", "F32", "[1]", "[0,4]") + "," + entryJSON("\\u0061", "F32", "[1]", "[4,8]"), buffer: buffer)) {
            $0 == .duplicateName(file: "bad.safetensors", name: "a")
        }
    }

    func testMessagesAreOneLineEvenForHostileNames() {
        let name = "evil\\nname" + String(repeating: "x", count: 500)
        let error = assertParseFails(file(entryJSON(name, "F32", "[1]", "[0,4]"), buffer: [0, 0])) {
            if case .offsetsOutOfRange = $0 { return true } else { return false }
        }
        let description = error?.errorDescription ?? ""
        XCTAssertTrue(description.contains("evil\\nname"), description)
        XCTAssertLessThan(description.count, 300)
    }

    // MARK: Nothing traps

    /// Every truncation of a valid file and many single-byte corruptions of it are rejected
    /// or read, never trap.
    func testTruncationsAndByteFlipsNeverTrap() throws {
        let valid = SafeTensorsFile(tensors: [TensorEntry(name: "step", int64: 7),
                                              TensorEntry(name: "w", floats: [1, 2, 3, 4], shape: [2, 2])],
                                    metadata: ["k": "v\"\n"]).serialized()
        var accepted = 0
        for length in 0..<valid.count {
            if (try? SafeTensorsFile.parse(Array(valid.prefix(length)), file: "t")) != nil { accepted += 1 }
        }
        XCTAssertEqual(accepted, 0, "no proper prefix is a valid file")
        let replacements: [UInt8] = [0x00, 0xFF, 0x80, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x2D, 0x2E, 0x30, 0x39, 0x20, 0x65]
        for position in 0..<valid.count {
            for replacement in replacements {
                var bytes = valid
                bytes[position] = replacement
                _ = try? SafeTensorsFile.parse(bytes, file: "t")
            }
        }
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int(generator.next() % 4 + 1) {
                let position = Int(generator.next() % UInt64(bytes.count))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? SafeTensorsFile.parse(bytes, file: "t")
        }
    }
}

/// A small seeded generator so the corruption test repeats exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
