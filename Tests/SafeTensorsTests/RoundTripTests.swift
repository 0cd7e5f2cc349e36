// RoundTripTests.swift — write then read gives back exactly what was written.

import Foundation
import SafeTensors
import XCTest

final class RoundTripTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes `file` to disk, reads it back, and checks equality.
    func roundTrip(_ file: SafeTensorsFile, line: UInt = #line) throws -> SafeTensorsFile {
        let path = directory + "/model.safetensors"
        try file.write(to: path)
        let read = try SafeTensorsFile.read(contentsOf: path)
        XCTAssertEqual(read, file, line: line)
        XCTAssertEqual(try fileContents(path), file.serialized(), line: line)
        XCTAssertEqual(read.serialized(), file.serialized(), "re-serializing changed the bytes", line: line)
        return read
    }

    func testFloatSpecialValuesAreBitExact() throws {
        let patterns: [UInt32] = [
            0x7FC0_0001,  // quiet NaN with a payload
            0xFFC1_2345,  // negative quiet NaN with a payload
            0x7F80_0001,  // signalling NaN
            0x8000_0000,  // -0.0
            0x0000_0001,  // smallest subnormal
            0x807F_FFFF,  // largest negative subnormal
            0x7F80_0000, 0xFF80_0000,  // ±infinity
            0x7F7F_FFFF,  // greatest finite
            0x3F80_0000,  // 1.0
            0x4049_0FDB,  // pi
        ]
        let floats = patterns.map(Float.init(bitPattern:))
        let file = SafeTensorsFile(tensors: [TensorEntry(name: "w", floats: floats, shape: [11])])
        let read = try roundTrip(file)
        let entry = try XCTUnwrap(read["w"])
        XCTAssertEqual(try entry.floats().map(\.bitPattern), patterns)
        XCTAssertEqual(entry.dtype, .F32)
        XCTAssertEqual(entry.shape, [11])
        XCTAssertEqual(entry.data.count, 44)
        // Little-endian: the first float 0x7FC00001 is stored 01 00 C0 7F.
        XCTAssertEqual(Array(entry.data.prefix(4)), [0x01, 0x00, 0xC0, 0x7F])
    }

    func testInt64ScalarHasEmptyShape() throws {
        let file = SafeTensorsFile(tensors: [
            TensorEntry(name: "step", int64: 123_456_789_012),
            TensorEntry(name: "min", int64: .min),
            TensorEntry(name: "max", int64: .max),
        ])
        let read = try roundTrip(file)
        for (name, value) in [("step", Int64(123_456_789_012)), ("min", .min), ("max", .max)] {
            let entry = try XCTUnwrap(read[name: name])
            XCTAssertEqual(entry.shape, [])
            XCTAssertEqual(entry.dtype, .I64)
            XCTAssertEqual(entry.elementCount, 1)
            XCTAssertEqual(try entry.int64Scalars(), [value])
        }
        XCTAssertTrue(String(decoding: file.serialized(), as: UTF8.self)
            .contains(#""step":{"dtype":"I64","shape":[],"data_offsets":[0,8]}"#))
    }

    func testEmptyMetadataIsOmittedAndReadsBackEmpty() throws {
        let file = SafeTensorsFile(tensors: [TensorEntry(name: "a", floats: [1], shape: [1])], metadata: [:])
        let read = try roundTrip(file)
        XCTAssertEqual(read.metadata, [:])
        XCTAssertFalse(String(decoding: file.serialized(), as: UTF8.self).contains("__metadata__"))
        // A file with an explicitly empty "__metadata__" object reads the same.
        let explicit = handMadeFile(header: "{\"__metadata__\":{}," + entryJSON("a", "F32", "[1]", "[0,4]") + "}",
                                    buffer: file.tensors[0].data)
        XCTAssertEqual(try SafeTensorsFile.parse(explicit, file: "explicit.safetensors"), file)
    }

    func testEscapedAndNonASCIIStringsRoundTrip() throws {
        let metadata = [
            "quote\"key": "say \"hi\"",
            "back\\slash": "C:\\path\\",
            "newline": "line 1\nline 2\r\n\tindented",
            "control": "\u{01}\u{08}\u{0C}\u{1F}\u{7F}",
            "unicode é 日本語 🙂": "ünïcödé / slash 🙂",
            "": "empty key",
            "format": "pt",
        ]
        let names = ["layer\"1\".weight", "back\\slash", "tab\there", "日本語.bias", "🙂", ""]
        let tensors = names.enumerated().map { index, name in
            TensorEntry(name: name, floats: [Float(index), -Float(index)], shape: [2])
        }
        let file = SafeTensorsFile(tensors: tensors, metadata: metadata)
        let read = try roundTrip(file)
        XCTAssertEqual(read.metadata, metadata)
        XCTAssertEqual(read.tensors.map(\.name), names)

        // The escapes are those of serde_json; non-ASCII and "/" are written as they are.
        let header = String(decoding: file.serialized(), as: UTF8.self)
        for fragment in [#""quote\"key":"say \"hi\"""#, #""back\\slash":"C:\\path\\""#,
                         #""line 1\nline 2\r\n\tindented""#, "\"\\u0001\\b\\f\\u001f\u{7F}\"",
                         "\"unicode é 日本語 🙂\":\"ünïcödé / slash 🙂\"", "\"\":\"empty key\""] {
            XCTAssertTrue(header.contains(fragment), "header lacks \(fragment)")
        }
        // Foundation's own parser agrees with what we wrote.
        let n = declaredHeaderLength(file.serialized())
        let json = try JSONSerialization.jsonObject(with: Data(file.serialized()[8..<(8 + n)])) as? [String: Any]
        XCTAssertEqual(json?["__metadata__"] as? [String: String], metadata)
    }

    func testEveryDTypeRoundTrips() throws {
        let tensors = DType.allCases.enumerated().map { index, dtype in
            TensorEntry(name: dtype.rawValue, dtype: dtype, shape: [3, 1],
                        data: (0..<(3 * dtype.byteCount)).map { UInt8(truncatingIfNeeded: $0 * 37 + index) })
        }
        let read = try roundTrip(SafeTensorsFile(tensors: tensors, metadata: ["k": "v"]))
        XCTAssertEqual(read.tensors.map(\.dtype), DType.allCases)
        XCTAssertEqual(DType.allCases.map(\.byteCount), [8, 4, 2, 2, 8, 4, 2, 1, 1, 1])
    }

    func testZeroElementTensorsAndEmptyFile() throws {
        let file = SafeTensorsFile(tensors: [
            TensorEntry(name: "empty0", floats: [], shape: [0, 3]),
            TensorEntry(name: "a", floats: [1, 2], shape: [2]),
            TensorEntry(name: "empty1", floats: [], shape: [4, 0]),
            TensorEntry(name: "empty2", dtype: .I64, shape: [0], data: []),
        ])
        let read = try roundTrip(file)
        XCTAssertEqual(read.tensors.map(\.name), ["empty0", "a", "empty1", "empty2"])
        XCTAssertEqual(try read["empty1"]?.floats(), [])

        let nothing = try roundTrip(SafeTensorsFile())
        XCTAssertEqual(nothing.tensors, [])
        XCTAssertEqual(SafeTensorsFile().serialized(), littleEndian64(8) + Array("{}      ".utf8))
    }

    func testSerializationIsDeterministic() throws {
        var first = SafeTensorsFile(tensors: [TensorEntry(name: "a", floats: [1, 2, 3], shape: [3])])
        first.metadata["zeta"] = "1"
        first.metadata["alpha"] = "2"
        first.metadata["émile"] = "3"
        var second = SafeTensorsFile(tensors: first.tensors)
        second.metadata["émile"] = "3"
        second.metadata["alpha"] = "2"
        second.metadata["zeta"] = "1"
        XCTAssertEqual(first.serialized(), second.serialized())
        XCTAssertEqual(first.serialized(), first.serialized())
        // Metadata keys are sorted by their UTF-8 bytes.
        let header = String(decoding: first.serialized(), as: UTF8.self)
        XCTAssertTrue(header.contains(#"{"__metadata__":{"alpha":"2","zeta":"1","émile":"3"},"a":"#))
    }

    func testTensorsAreReturnedInOffsetOrder() throws {
        // "b" is listed first in the header but its data comes second.
        let header = "{" + entryJSON("b", "U8", "[1]", "[2,3]") + "," + entryJSON("a", "U8", "[2]", "[0,2]") + "}"
        let read = try SafeTensorsFile.parse(handMadeFile(header: header, buffer: [10, 11, 12]), file: "order.safetensors")
        XCTAssertEqual(read.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(read["a"]?.data, [10, 11])
        XCTAssertEqual(read["b"]?.data, [12])
        XCTAssertEqual(read["a"]?.sourcePath, "order.safetensors")
        XCTAssertNil(read["c"])
    }

    func testReadAcceptsUnpaddedAndWhitespacePaddedHeaders() throws {
        let entry = entryJSON("x", "U8", "[1]", "[0,1]")
        for header in ["{" + entry + "}", "{" + entry + "}   ", "{ " + entry + " }\n\t ",
                       "{" + entry + ",\"__metadata__\":{\"k\":\"v\"}}"] {
            let read = try SafeTensorsFile.parse(handMadeFile(header: header, buffer: [42]), file: "ok.safetensors")
            XCTAssertEqual(read.tensors, [TensorEntry(name: "x", dtype: .U8, shape: [1], data: [42])], header)
        }
    }

    func testSourcePathIsNotPartOfEquality() throws {
        let inMemory = TensorEntry(name: "a", floats: [1], shape: [1])
        let path = directory + "/one.safetensors"
        try SafeTensorsFile(tensors: [inMemory]).write(to: path)
        let read = try XCTUnwrap(SafeTensorsFile.read(contentsOf: path)["a"])
        XCTAssertEqual(read.sourcePath, path)
        XCTAssertNil(inMemory.sourcePath)
        XCTAssertEqual(read, inMemory)
    }
}
