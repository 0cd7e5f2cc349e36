//  ImageLimits.swift
//
//  The caps every reader checks before it allocates anything for an untrusted file.

/// Size limits for decoding untrusted files.
public struct ImageLimits: Sendable, Equatable {
    /// The largest file read from disk.
    public var maxFileBytes: Int
    /// The largest width · height, checked against the file's header before the pixels are allocated.
    public var maxPixels: Int

    public init(maxFileBytes: Int = 256 << 20, maxPixels: Int = 1 << 26) {
        self.maxFileBytes = maxFileBytes
        self.maxPixels = maxPixels
    }

    public static let `default` = ImageLimits()

    /// Whether a `width` × `height` image is within `maxPixels` (overflow-checked).
    func allows(width: Int, height: Int) -> Bool {
        guard width > 0, height > 0 else { return false }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        return !overflow && pixels <= maxPixels
    }
}
