/// The element type codes of the IDX format: the third byte of the magic number.
///
/// Only ``unsignedByte`` (0x08), which MNIST and its relatives use, is read; the others are
/// recognised so that a file using them is refused with its type named, rather than being called
/// "not an IDX file".
public enum IDXElementType: UInt8, Sendable, CaseIterable {
    case unsignedByte = 0x08
    case signedByte = 0x09
    case short = 0x0B
    case int = 0x0C
    case float = 0x0D
    case double = 0x0E

    /// The name used by the IDX description on Yann LeCun's MNIST page, e.g. "float".
    public var name: String {
        switch self {
        case .unsignedByte: return "unsigned byte"
        case .signedByte: return "signed byte"
        case .short: return "short"
        case .int: return "int"
        case .float: return "float"
        case .double: return "double"
        }
    }

    /// Bytes per element (big-endian in the file for the multi-byte types).
    public var byteWidth: Int {
        switch self {
        case .unsignedByte, .signedByte: return 1
        case .short: return 2
        case .int, .float: return 4
        case .double: return 8
        }
    }

    /// `0x0D`, as written in error messages.
    var hexCode: String { hex(rawValue, digits: 2) }
}

/// `value` as `0x` followed by at least `digits` hex digits: `hex(13, digits: 2)` is `0x0D`.
func hex<T: BinaryInteger>(_ value: T, digits: Int, uppercase: Bool = true) -> String {
    let text = String(value, radix: 16, uppercase: uppercase)
    return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
}
