//  PNGTestSupport.swift
//
//  Helpers of the PNG tests: seeded pseudo-random bitmaps and PNG files assembled chunk by chunk, so a test
//  can build exactly the malformed file it needs.

import Foundation
import XCTest
@testable import PNG

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
func randomBitmap(width: Int, height: Int, layout: Bitmap.Layout, seed: UInt64) -> Bitmap {
    var g = SplitMix(seed: seed)
    var b = Bitmap(width: width, height: height, layout: layout)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<layout.channels {
                b[x, y, c] = UInt8(truncatingIfNeeded: x * 7 + y * 13 + c * 50 + Int(g.byte() % 24))
            }
        }
    }
    return b
}

/// One chunk: length, type, data, CRC (or `crc` if given, to make a bad one).
func chunk(_ type: String, _ data: [UInt8], crc: UInt32? = nil) -> [UInt8] {
    var out: [UInt8] = []
    out.appendBigEndian(UInt32(data.count))
    out += Array(type.utf8) + data
    out.appendBigEndian(crc ?? Zlib.crc32(Array(type.utf8) + data))
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
    PNG.signature + chunk("IHDR", header) + before.flatMap { $0 } + chunk("IDAT", Zlib.compress(filteredRows)) + chunk("IEND", [])
}

/// Runs `body` and returns the PNGError it throws, or nil if it returns (or throws something else).
func pngError<T>(_ body: () throws -> T) -> PNGError? {
    do { _ = try body() } catch let error as PNGError { return error } catch { return nil }
    return nil
}

/// A fresh directory, removed when released.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "PNGTests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}
