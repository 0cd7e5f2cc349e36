//  Color.swift
//
//  8-bit sRGB colours, the run palette, and the colour maps of the heat map and filter tiles.

/// An opaque 8-bit sRGB colour.
public struct RGB: Equatable, Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// From 0xRRGGBB.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xff), UInt8((hex >> 8) & 0xff), UInt8(hex & 0xff))
    }

    /// A gray of `level` 0 (black) to 255 (white).
    public static func gray(_ level: UInt8) -> RGB { RGB(level, level, level) }

    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
    /// Text and axes.
    public static let ink = RGB(hex: 0x222222)
    /// Secondary text (tick labels, notes).
    public static let mutedInk = RGB(hex: 0x555555)
    /// Grid lines.
    public static let grid = RGB(hex: 0xE6E6E6)
    public static let red = RGB(hex: 0xC62828)
    public static let green = RGB(hex: 0x2E7D32)

    /// `self` moved towards `other` by `t` in [0, 1].
    public func mixed(with other: RGB, _ t: Double) -> RGB {
        let t = max(0, min(1, t))
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded()) }
        return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    /// Relative luminance in [0, 1] (Rec. 709 weights on the 8-bit values; good enough to pick a text colour).
    public var luminance: Double { (0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)) / 255 }

    /// Ten distinct colours for runs (matplotlib's tab10), then repeating.
    public static let palette: [RGB] = [0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD,
                                        0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF].map { RGB(hex: $0) }

    /// A sequential map from white (t = 0) through light blue to dark navy (t = 1), monotone in luminance.
    public static func blues(_ t: Double) -> RGB {
        let stops: [RGB] = [0xF7FBFF, 0xDEEBF7, 0xC6DBEF, 0x9ECAE1, 0x6BAED6, 0x4292C6, 0x2171B5, 0x08519C, 0x08306B].map { RGB(hex: $0) }
        let x = max(0, min(1, t)) * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(x))
        return stops[i].mixed(with: stops[i + 1], x - Double(i))
    }
}
