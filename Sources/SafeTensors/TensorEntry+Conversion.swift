// TensorEntry+Conversion.swift — reading a tensor's bytes as Float or Int64 values.

extension TensorEntry {
    /// The elements as `Float`, in row-major order.
    ///
    /// F32 is returned bit for bit (NaN payloads, -0.0 and subnormals kept). F16 and BF16
    /// widen exactly; F64 is rounded to the nearest `Float` (large values become infinity).
    ///
    /// - Throws: `SafeTensorsError.wrongDType` for integer and boolean tensors.
    public func floats() throws -> [Float] {
        switch dtype {
        case .F32:
            return littleEndianValues(data, as: UInt32.self).map(Float.init(bitPattern:))
        case .F64:
            return littleEndianValues(data, as: UInt64.self).map { Float(Double(bitPattern: $0)) }
        case .F16:
            return littleEndianValues(data, as: UInt16.self).map(floatFromHalfBits)
        case .BF16:
            return littleEndianValues(data, as: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
        case .I64, .I32, .I16, .I8, .U8, .BOOL:
            throw SafeTensorsError.wrongDType(file: sourcePath ?? "(in memory)", name: name, dtype: dtype,
                                              expected: "a floating-point dtype (F32, F64, F16 or BF16)")
        }
    }

    /// The elements as `Int64`, in row-major order; for a scalar (shape `[]`) one value.
    ///
    /// I64 is returned as stored; I32, I16 and I8 are sign-extended, U8 and BOOL zero-extended.
    ///
    /// - Throws: `SafeTensorsError.wrongDType` for floating-point tensors.
    public func int64Scalars() throws -> [Int64] {
        switch dtype {
        case .I64: return littleEndianValues(data, as: Int64.self)
        case .I32: return littleEndianValues(data, as: Int32.self).map(Int64.init)
        case .I16: return littleEndianValues(data, as: Int16.self).map(Int64.init)
        case .I8: return data.map { Int64(Int8(bitPattern: $0)) }
        case .U8, .BOOL: return data.map(Int64.init)
        case .F64, .F32, .F16, .BF16:
            throw SafeTensorsError.wrongDType(file: sourcePath ?? "(in memory)", name: name, dtype: dtype,
                                              expected: "an integer or boolean dtype (I64, I32, I16, I8, U8 or BOOL)")
        }
    }
}

/// IEEE 754 binary16 bits widened exactly to `Float` (written out rather than using
/// `Float16`, which is unavailable on Intel macOS).
///
/// binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits.
/// binary32: 1 sign bit, 8 exponent bits (bias 127), 23 fraction bits.
func floatFromHalfBits(_ half: UInt16) -> Float {
    let sign = UInt32(half & 0x8000) << 16
    let exponent = UInt32((half >> 10) & 0x1F)
    let fraction = UInt32(half & 0x03FF)
    switch exponent {
    case 0x1F:
        // Infinity or NaN: all-ones exponent, fraction (NaN payload) moved to the top bits.
        return Float(bitPattern: sign | 0x7F80_0000 | (fraction << 13))
    case 0:
        // Zero or subnormal: value = fraction × 2^-24, exact in binary32.
        let magnitude = Float(fraction) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    default:
        // Normal: rebias the exponent (−15 + 127 = +112), widen the fraction.
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (fraction << 13))
    }
}
