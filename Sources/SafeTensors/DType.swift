// DType.swift — the element types a safetensors file can name.

/// The element type of a tensor, spelled as in the safetensors header (`"dtype": "F32"`).
///
/// The raw value is the exact header spelling, so `DType(rawValue: "F32")` parses a header
/// field and `dtype.rawValue` writes one. Every type is stored little-endian.
public enum DType: String, CaseIterable, Sendable {
    /// IEEE 754 binary64.
    case F64
    /// IEEE 754 binary32.
    case F32
    /// IEEE 754 binary16 (half precision).
    case F16
    /// bfloat16: the upper 16 bits of a binary32.
    case BF16
    /// Signed 64-bit integer.
    case I64
    /// Signed 32-bit integer.
    case I32
    /// Signed 16-bit integer.
    case I16
    /// Signed 8-bit integer.
    case I8
    /// Unsigned 8-bit integer.
    case U8
    /// Boolean, one byte per element (0 or 1).
    case BOOL

    /// The size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .F64, .I64: return 8
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }

    /// Whether `TensorEntry.floats()` can convert this type.
    public var isFloatingPoint: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16: return true
        case .I64, .I32, .I16, .I8, .U8, .BOOL: return false
        }
    }
}
