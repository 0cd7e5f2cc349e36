// LayoutTests.swift — the exact byte layout we write: padding, offsets, order, golden bytes.

import Foundation
import SafeTensors
import XCTest

final class LayoutTests: XCTestCase {
    func testHeaderIsPaddedWithSpacesToAMultipleOf8() throws {
        // Names of every length 1...17 move the JSON's length through every residue mod 8.
        for length in 1...17 {
            let file = SafeTensorsFile(tensors: [TensorEntry(name: String(repeating: "n", count: length),
                                                             floats: [1, 2, 3], shape: [3])])
            let bytes = file.serialized()
            let n = declaredHeaderLength(bytes)
            XCTAssertEqual(n % 8, 0, "name length \(length)")
            let header = Array(bytes[8..<(8 + n)])
            let jsonEnd = try XCTUnwrap(header.lastIndex(of: UInt8(ascii: "}"))) + 1
            let padding = header[jsonEnd...]
            XCTAssertLessThan(padding.count, 8)
            XCTAssertTrue(padding.allSatisfy { $0 == 0x20 }, "padding must be spaces")
            XCTAssertEqual(bytes.count, 8 + n + 12)
            XCTAssertEqual(Array(bytes[(8 + n)...]), file.tensors[0].data, "data begins at 8 + N")
        }
    }

    func testDataIsContiguousInTheGivenOrder() throws {
        let tensors = [
            TensorEntry(name: "z.first", floats: [1, 2, 3, 4, 5], shape: [5]),
            TensorEntry(name: "a.second", int64: 7),
            TensorEntry(name: "m.third", dtype: .U8, shape: [3], data: [1, 2, 3]),
            TensorEntry(name: "b.fourth", dtype: .F16, shape: [1, 2], data: [0x00, 0x3C, 0x00, 0xC0]),
        ]
        let bytes = SafeTensorsFile(tensors: tensors, metadata: ["k": "v"]).serialized()
        let n = declaredHeaderLength(bytes)
        XCTAssertEqual(Array(bytes[(8 + n)...]), tensors.flatMap(\.data))

        let headerText = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        var expectedBegin = 0
        var previousKeyPosition = try XCTUnwrap(headerText.range(of: "\"__metadata__\"")).lowerBound
        XCTAssertEqual(headerText.distance(from: headerText.startIndex, to: previousKeyPosition), 1,
                       "__metadata__ comes first")
        for tensor in tensors {
            let entry = try XCTUnwrap(json[tensor.name] as? [String: Any])
            let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            XCTAssertEqual(offsets, [expectedBegin, expectedBegin + tensor.data.count], tensor.name)
            XCTAssertEqual(entry["dtype"] as? String, tensor.dtype.rawValue)
            XCTAssertEqual(entry["shape"] as? [Int], tensor.shape)
            expectedBegin += tensor.data.count
            // Keys appear in the header in the given order.
            let position = try XCTUnwrap(headerText.range(of: "\"\(tensor.name)\"")).lowerBound
            XCTAssertGreaterThan(position, previousKeyPosition, tensor.name)
            previousKeyPosition = position
        }
    }

    /// The expected bytes were written out by hand from the format description:
    /// the JSON is typed below, 135 bytes long, plus 1 space of padding = 136 = 0x88;
    /// 7 as I64 is 07 00 00 00 00 00 00 00; 1.0 as F32 is 0x3F800000, stored 00 00 80 3F;
    /// -2.0 is 0xC0000000, stored 00 00 00 C0. They are identical, byte for byte, to what
    /// the reference implementation writes for the same tensors (checked once by hand with
    /// Python safetensors 0.8.0: `safetensors.numpy.save({"a": np.array([1, -2], np.float32),
    /// "step": np.array(7, np.int64)}, metadata={"k": "v"})`, which orders I64 before F32).
    func testTinyFileMatchesHandWrittenBytes() throws {
        let json = #"{"__metadata__":{"k":"v"},"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"#
            + #""a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        XCTAssertEqual(json.utf8.count, 135)
        let expected: [UInt8] = [0x88, 0, 0, 0, 0, 0, 0, 0]
            + Array(json.utf8) + [0x20]
            + [0x07, 0, 0, 0, 0, 0, 0, 0]
            + [0x00, 0x00, 0x80, 0x3F]
            + [0x00, 0x00, 0x00, 0xC0]
        XCTAssertEqual(expected.count, 160)

        let file = SafeTensorsFile(tensors: [TensorEntry(name: "step", int64: 7),
                                             TensorEntry(name: "a", floats: [1, -2], shape: [2])],
                                   metadata: ["k": "v"])
        XCTAssertEqual(file.serialized(), expected)
        XCTAssertEqual(try SafeTensorsFile.parse(expected, file: "tiny.safetensors"), file)
    }

    func testReadsAFileWrittenByTheReferenceImplementation() throws {
        // Python safetensors 0.8.0: save({"b": np.arange(3, dtype=np.float64).reshape(3, 1),
        // "a": np.array([[1, 2], [3, 4]], np.int32)}, metadata={"format": "np"}) — note the
        // header lists "b" before "a" and data is sorted by dtype size.
        let json = #"{"__metadata__":{"format":"np"},"b":{"dtype":"F64","shape":[3,1],"data_offsets":[0,24]},"#
            + #""a":{"dtype":"I32","shape":[2,2],"data_offsets":[24,40]}}"#
        let padding = (8 - json.utf8.count % 8) % 8
        let header = Array(json.utf8) + [UInt8](repeating: 0x20, count: padding)
        let b: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0x40]
        let a: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]
        let bytes = littleEndian64(UInt64(header.count)) + header + b + a
        let file = try SafeTensorsFile.parse(bytes, file: "ref.safetensors")
        XCTAssertEqual(file.metadata, ["format": "np"])
        XCTAssertEqual(file.tensors.map(\.name), ["b", "a"])
        XCTAssertEqual(try file["b"]?.floats(), [0, 1, 2])
        XCTAssertEqual(file["b"]?.shape, [3, 1])
        XCTAssertEqual(try file["a"]?.int64Scalars(), [1, 2, 3, 4])
        XCTAssertEqual(file.serialized(), bytes, "the same order and padding rules give the same bytes")
    }
}
