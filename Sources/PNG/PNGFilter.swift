//  PNGFilter.swift
//
//  The five PNG scanline filters (PNG specification §9). For byte x of a row, with bpp bytes per pixel:
//    a = the byte bpp to the left (0 at the row start), b = the byte above (0 on the first row),
//    c = the byte above and to the left (0 where either is missing). All arithmetic is modulo 256.
//
//    type  name     filtered(x)                 reconstructed(x)
//    0     None     x                           filtered
//    1     Sub      x − a                       filtered + a
//    2     Up       x − b                       filtered + b
//    3     Average  x − ⌊(a + b) / 2⌋           filtered + ⌊(a + b) / 2⌋   (a + b without 8-bit overflow)
//    4     Paeth    x − paeth(a, b, c)          filtered + paeth(a, b, c)
//
//  paeth(a, b, c): p = a + b − c; the one of a, b, c closest to p, ties broken in the order a, b, c.

/// A PNG scanline filter; the raw value is the filter-type byte that starts each row.
public enum PNGFilter: UInt8, CaseIterable, Sendable {
    case none = 0, sub = 1, up = 2, average = 3, paeth = 4
}

/// How the encoder chooses each row's filter.
public enum PNGFilterChoice: Sendable, Equatable {
    /// The same filter on every row.
    case fixed(PNGFilter)
    /// Per row, the filter whose output has the smallest sum of absolute values as signed bytes (the
    /// heuristic of the PNG specification §12.8, and libpng's default); usually the smallest file.
    case adaptive
}

enum Filters {
    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// Writes `row` filtered with `filter` into `out` (row.count bytes). `prior` is the previous raw row,
    /// or nil for the first row.
    static func apply(_ filter: PNGFilter, row: UnsafeBufferPointer<UInt8>, prior: UnsafeBufferPointer<UInt8>?,
                      bpp: Int, into out: UnsafeMutableBufferPointer<UInt8>) {
        let n = row.count, head = min(bpp, n)
        guard n > 0 else { return }
        let x = row.baseAddress!, d = out.baseAddress!
        // Without a prior row, b = c = 0: Up is None, Average uses a/2, Paeth picks a.
        switch (filter, prior?.baseAddress) {
        case (.none, _), (.up, nil):
            d.update(from: x, count: n)
        case (.sub, _), (.paeth, nil):
            for i in 0..<head { d[i] = x[i] }
            for i in head..<n { d[i] = x[i] &- x[i - bpp] }
        case let (.up, b?):
            for i in 0..<n { d[i] = x[i] &- b[i] }
        case (.average, nil):
            for i in 0..<head { d[i] = x[i] }
            for i in head..<n { d[i] = x[i] &- x[i - bpp] / 2 }
        case let (.average, b?):
            for i in 0..<head { d[i] = x[i] &- b[i] / 2 }
            for i in head..<n { d[i] = x[i] &- UInt8((UInt16(x[i - bpp]) + UInt16(b[i])) / 2) }
        case let (.paeth, b?):
            for i in 0..<head { d[i] = x[i] &- b[i] }   // a = c = 0: paeth(0, b, 0) = b
            for i in head..<n { d[i] = x[i] &- paeth(x[i - bpp], b[i], b[i - bpp]) }
        }
    }

    /// Undoes `filter` in place on `row`, whose reconstructed predecessor is `prior` (nil on the first row).
    static func reconstruct(_ filter: PNGFilter, row: UnsafeMutableBufferPointer<UInt8>,
                            prior: UnsafeBufferPointer<UInt8>?, bpp: Int) {
        let n = row.count
        switch filter {
        case .none:
            break
        case .sub:
            if n > bpp { for i in bpp..<n { row[i] = row[i] &+ row[i - bpp] } }
        case .up:
            guard let prior else { return }
            for i in 0..<n { row[i] = row[i] &+ prior[i] }
        case .average:
            for i in 0..<n {
                let a = i >= bpp ? Int(row[i - bpp]) : 0
                let b = prior.map { Int($0[i]) } ?? 0
                row[i] = row[i] &+ UInt8((a + b) / 2)
            }
        case .paeth:
            for i in 0..<n {
                let a: UInt8 = i >= bpp ? row[i - bpp] : 0
                let b: UInt8 = prior?[i] ?? 0
                let c: UInt8 = i >= bpp ? (prior?[i - bpp] ?? 0) : 0
                row[i] = row[i] &+ paeth(a, b, c)
            }
        }
    }

    /// The adaptive heuristic's cost of a filtered row: Σ |byte as Int8|.
    static func cost(_ row: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var sum = 0
        for v in row { sum += v < 128 ? Int(v) : 256 - Int(v) }
        return sum
    }
}
