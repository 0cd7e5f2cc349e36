//  PNGTestSupport.swift
//
//  Helpers of the image tests: seeded pseudo-random bitmaps, and PNG files assembled chunk by chunk (zlib's
//  compress2 and crc32), so a test can build exactly the malformed file it needs.

import CZlib
import Foundation
import XCTest
@testable import Images

/// A small deterministic generator (SplitMix64), so failures repeat.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

/// A bitmap of smooth gradients plus noise: compressible like a real picture, yet every byte varies.
func randomBitmap(width: Int, height: Int, layout: Bitmap.Layout, seed: UInt64, noise: Int = 24) -> Bitmap {
    var g = SplitMix(seed: seed)
    var b = Bitmap(width: width, height: height, layout: layout)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<layout.channels {
                b[x, y, c] = UInt8(truncatingIfNeeded: x * 7 + y * 13 + c * 50 + Int(g.next() % UInt64(max(1, noise))))
            }
        }
    }
    return b
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
    }
    func bigEndianUInt32(at o: Int) -> UInt32 {
        UInt32(self[o]) << 24 | UInt32(self[o + 1]) << 16 | UInt32(self[o + 2]) << 8 | UInt32(self[o + 3])
    }
}

/// zlib's CRC-32 of `bytes`.
func crc(_ bytes: [UInt8]) -> UInt32 {
    UInt32(bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
}

/// A zlib stream of `bytes` (compress2, level 9).
func zlibCompress(_ bytes: [UInt8]) -> [UInt8] {
    var length = compressBound(UInt(bytes.count))
    var out = [UInt8](repeating: 0, count: Int(length))
    let status = out.withUnsafeMutableBufferPointer { o in
        bytes.withUnsafeBufferPointer { compress2(o.baseAddress, &length, $0.baseAddress, UInt($0.count), 9) }
    }
    precondition(status == Z_OK)
    return Array(out[0..<Int(length)])
}

/// One chunk: length, type, data, CRC (or `crc` if given, to make a bad one).
func chunk(_ type: String, _ data: [UInt8], crc stored: UInt32? = nil) -> [UInt8] {
    var out: [UInt8] = []
    out.appendBigEndian(UInt32(data.count))
    out += Array(type.utf8) + data
    out.appendBigEndian(stored ?? crc(Array(type.utf8) + data))
    return out
}

/// IHDR data: width, height, bit depth, colour type, compression, filter, interlace.
func ihdr(width: Int, height: Int, bitDepth: UInt8 = 8, colorType: UInt8 = 0, interlace: UInt8 = 0,
          compression: UInt8 = 0, filterMethod: UInt8 = 0) -> [UInt8] {
    var d: [UInt8] = []
    d.appendBigEndian(UInt32(width))
    d.appendBigEndian(UInt32(height))
    return d + [bitDepth, colorType, compression, filterMethod, interlace]
}

/// A whole PNG: signature, IHDR, optional extra chunks before IDAT, IDAT of `filteredRows` deflated, IEND.
func assemblePNG(header: [UInt8], filteredRows: [UInt8], before: [[UInt8]] = []) -> [UInt8] {
    PNG.signature + chunk("IHDR", header) + before.flatMap { $0 } + chunk("IDAT", zlibCompress(filteredRows)) + chunk("IEND", [])
}

/// Runs `body` and returns the ImageError it throws, or nil if it returns (or throws something else).
func imageError<T>(_ body: () throws -> T) -> ImageError? {
    do { _ = try body() } catch let error as ImageError { return error } catch { return nil }
    return nil
}

/// Asserts that `error` is one line that starts with the file name.
func assertOneLine(_ error: ImageError?, file name: String, _ message: String = "", line: UInt = #line) {
    guard let text = error?.errorDescription else { return XCTFail("no error \(message)", line: line) }
    XCTAssertTrue(text.hasPrefix(name + ": "), text, line: line)
    XCTAssertFalse(text.contains("\n"), text, line: line)
}

/// A fresh directory, removed when released.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "ImagesTests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}
