//  Bitmap.swift
//
//  Legend: W width, H height, C channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
//  Pixel (x, y), channel c lives at pixels[(y·W + x)·C + c]: rows top to bottom, channels interleaved.

/// An 8-bit image in memory: what the PNG and PNM decoders produce and the PNG encoder takes.
public struct Bitmap: Equatable, Sendable {
    /// How the channels of a pixel are laid out; the raw value is the channel count.
    public enum Layout: Int, Sendable, CaseIterable, CustomStringConvertible {
        case gray = 1, grayAlpha = 2, rgb = 3, rgba = 4

        /// Bytes per pixel.
        public var channels: Int { rawValue }
        /// Whether the last channel is alpha (0 transparent, 255 opaque).
        public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }

        public var description: String {
            switch self {
            case .gray: return "grayscale"
            case .grayAlpha: return "grayscale+alpha"
            case .rgb: return "RGB"
            case .rgba: return "RGBA"
            }
        }
    }

    /// W, at least 1.
    public let width: Int
    /// H, at least 1.
    public let height: Int
    public let layout: Layout
    /// W·H·C bytes, row-major, channels interleaved.
    public var pixels: [UInt8]

    /// An image over existing bytes; `pixels.count` must be `width · height · layout.channels`.
    public init(width: Int, height: Int, layout: Layout, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "Bitmap: size \(width)×\(height) must be positive")
        precondition(pixels.count == width * height * layout.channels,
                     "Bitmap: \(width)×\(height) \(layout) needs \(width * height * layout.channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.layout = layout
        self.pixels = pixels
    }

    /// An image with every byte set to `value`.
    public init(width: Int, height: Int, layout: Layout, repeating value: UInt8 = 0) {
        self.init(width: width, height: height, layout: layout,
                  pixels: [UInt8](repeating: value, count: width * height * layout.channels))
    }

    /// Channel `channel` of pixel (x, y).
    public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        get { pixels[(y * width + x) * layout.channels + channel] }
        set { pixels[(y * width + x) * layout.channels + channel] = newValue }
    }

    /// Bytes per row: W·C.
    public var rowBytes: Int { width * layout.channels }
}
