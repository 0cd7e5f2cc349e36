// ConversionTests.swift — reading tensors as Float and Int64 values.

import Foundation
import SafeTensors
import XCTest

final class ConversionTests: XCTestCase {
    func halfEntry(_ bits: [UInt16]) -> TensorEntry {
        TensorEntry(name: "h", dtype: .F16, shape: [bits.count],
                    data: bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
    }

    func testF16KnownValues() throws {
        // Values from the IEEE 754 binary16 table.
        let cases: [(UInt16, Float)] = [
            (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x3555, 0.333251953125),
            (0x0001, 0x1p-24), (0x03FF, 0x1.ff8p-15), (0x0400, 0x1p-14),
            (0x7C00, .infinity), (0xFC00, -.infinity), (0x0000, 0),
        ]
        let floats = try halfEntry(cases.map(\.0)).floats()
        XCTAssertEqual(floats, cases.map(\.1))
        let negativeZero = try halfEntry([0x8000]).floats()
        XCTAssertEqual(negativeZero.map(\.bitPattern), [0x8000_0000])
        let nan = try halfEntry([0x7E01]).floats()
        XCTAssertTrue(nan[0].isNaN)
        XCTAssertEqual(nan[0].bitPattern, 0x7FC0_2000, "payload moves to the top of the fraction")
    }

    #if !(os(macOS) && arch(x86_64))
    func testF16AgreesWithFloat16ForAllBitPatterns() throws {
        let all = (0...UInt16.max).map { $0 }
        let floats = try halfEntry(all).floats()
        for (bits, value) in zip(all, floats) {
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(value.isNaN, "0x\(String(bits, radix: 16))")
            } else {
                XCTAssertEqual(value.bitPattern, reference.bitPattern, "0x\(String(bits, radix: 16))")
            }
        }
    }
    #endif

    func testBF16AndF64() throws {
        // bfloat16 is the top half of a binary32: 0x3F80 = 1.0, 0xC049 = -3.140625.
        let bf16 = TensorEntry(name: "b", dtype: .BF16, shape: [2], data: [0x80, 0x3F, 0x49, 0xC0])
        XCTAssertEqual(try bf16.floats(), [1, -3.140625])
        let doubles: [Double] = [1.5, -0.1, 1e300, .pi]
        let f64 = TensorEntry(name: "d", dtype: .F64, shape: [4],
                              data: doubles.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } })
        XCTAssertEqual(try f64.floats(), [1.5, Float(-0.1), .infinity, Float(Double.pi)])
    }

    func testIntegersWiden() throws {
        let i32 = TensorEntry(name: "i", dtype: .I32, shape: [2], data: [0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 0, 0])
        XCTAssertEqual(try i32.int64Scalars(), [-1, 2])
        let i16 = TensorEntry(name: "i", dtype: .I16, shape: [1], data: [0x00, 0x80])
        XCTAssertEqual(try i16.int64Scalars(), [-32768])
        let i8 = TensorEntry(name: "i", dtype: .I8, shape: [2], data: [0x80, 0x7F])
        XCTAssertEqual(try i8.int64Scalars(), [-128, 127])
        let u8 = TensorEntry(name: "u", dtype: .U8, shape: [2], data: [0xFF, 0])
        XCTAssertEqual(try u8.int64Scalars(), [255, 0])
        let bool = TensorEntry(name: "b", dtype: .BOOL, shape: [2], data: [1, 0])
        XCTAssertEqual(try bool.int64Scalars(), [1, 0])
        let i64 = TensorEntry(name: "i", int64s: [-5, 6, .max], shape: [3, 1])
        XCTAssertEqual(try i64.int64Scalars(), [-5, 6, .max])
    }

    func testWrongDTypeNamesTheFile() throws {
        let bytes = SafeTensorsFile(tensors: [TensorEntry(name: "step", int64: 3),
                                              TensorEntry(name: "w", floats: [1], shape: [1])]).serialized()
        let file = try SafeTensorsFile.parse(bytes, file: "ckpt.safetensors")
        let floatError = thrownError { _ = try file["step"]?.floats() }
        XCTAssertEqual(floatError, .wrongDType(file: "ckpt.safetensors", name: "step", dtype: .I64,
                                               expected: "a floating-point dtype (F32, F64, F16 or BF16)"))
        if let floatError { assertNamesFile(floatError, "ckpt.safetensors") }
        let intError = thrownError { _ = try file["w"]?.int64Scalars() }
        XCTAssertEqual(intError?.file, "ckpt.safetensors")
        XCTAssertEqual(thrownError { _ = try TensorEntry(name: "x", int64: 1).floats() }?.file, "(in memory)")
    }
}
