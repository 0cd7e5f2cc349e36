// TensorEntry.swift — one named tensor: dtype, shape and its raw little-endian bytes.

/// One tensor of a safetensors file: a name, an element type, a shape and the raw bytes.
///
/// `data` holds `shape.reduce(1, *) * dtype.byteCount` bytes, little-endian, row-major
/// (the last dimension varies fastest). The initialisers check this, so every entry is
/// consistent; `shape == []` is a scalar with one element.
///
/// Entries read from a file remember its path in `sourcePath`, so conversion errors
/// (`floats()`, `int64Scalars()`) name the file. `sourcePath` is not part of equality.
public struct TensorEntry: Equatable, Sendable {
    /// The tensor's name, the key in the header (e.g. "conv1.weight").
    public let name: String
    /// The element type.
    public let dtype: DType
    /// The dimensions, outermost first; `[]` for a scalar. Every entry is >= 0.
    public let shape: [Int]
    /// The elements' bytes, little-endian, row-major: `elementCount * dtype.byteCount` bytes.
    public let data: [UInt8]
    /// The file this entry was read from, or nil for an entry made in memory.
    public let sourcePath: String?

    /// An entry from raw bytes.
    ///
    /// - Precondition: every dimension is >= 0, their product times `dtype.byteCount` does not
    ///   overflow, and `data.count` equals it. (A programming error, so it traps with both
    ///   sizes in the message; files are checked by `SafeTensorsFile.parse`, which throws.)
    public init(name: String, dtype: DType, shape: [Int], data: [UInt8]) {
        let bytes = TensorEntry.byteLength(dtype: dtype, shape: shape)
        precondition(bytes != nil, "TensorEntry \(name): shape \(shape) has a negative dimension or too many elements")
        precondition(bytes == data.count,
                     "TensorEntry \(name): shape \(shape) of \(dtype.rawValue) needs \(bytes ?? -1) bytes, got \(data.count)")
        self.init(unchecked: name, dtype: dtype, shape: shape, data: data, sourcePath: nil)
    }

    /// An F32 tensor from `floats`, stored little-endian bit for bit (NaN payloads, -0.0 and
    /// subnormals are kept).
    ///
    /// - Precondition: `floats.count` equals the product of `shape` (every dimension >= 0).
    public init(name: String, floats: [Float], shape: [Int]) {
        let count = TensorEntry.elementCount(shape: shape)
        precondition(count == floats.count,
                     "TensorEntry \(name): shape \(shape) holds \(count.map(String.init) ?? "an invalid number of") elements, got \(floats.count) floats")
        self.init(unchecked: name, dtype: .F32, shape: shape,
                  data: littleEndianBytes(floats.map(\.bitPattern)), sourcePath: nil)
    }

    /// An I64 tensor from `int64s`, stored little-endian.
    ///
    /// - Precondition: `int64s.count` equals the product of `shape` (every dimension >= 0).
    public init(name: String, int64s: [Int64], shape: [Int]) {
        let count = TensorEntry.elementCount(shape: shape)
        precondition(count == int64s.count,
                     "TensorEntry \(name): shape \(shape) holds \(count.map(String.init) ?? "an invalid number of") elements, got \(int64s.count) integers")
        self.init(unchecked: name, dtype: .I64, shape: shape,
                  data: littleEndianBytes(int64s), sourcePath: nil)
    }

    /// An I64 scalar (shape `[]`), e.g. a step counter.
    public init(name: String, int64: Int64) {
        self.init(name: name, int64s: [int64], shape: [])
    }

    /// An entry whose consistency the caller has already checked (the parser).
    init(unchecked name: String, dtype: DType, shape: [Int], data: [UInt8], sourcePath: String?) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
        self.sourcePath = sourcePath
    }

    /// The number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int {
        data.count / dtype.byteCount
    }

    /// Equal when name, dtype, shape and bytes are equal; `sourcePath` is ignored.
    public static func == (lhs: TensorEntry, rhs: TensorEntry) -> Bool {
        lhs.name == rhs.name && lhs.dtype == rhs.dtype && lhs.shape == rhs.shape && lhs.data == rhs.data
    }

    /// The product of `shape`, multiplied left to right; nil if a dimension is negative or the
    /// product overflows `Int`.
    static func elementCount(shape: [Int]) -> Int? {
        var product = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            product = next
        }
        return product
    }

    /// `elementCount(shape:) * dtype.byteCount`; nil if invalid or it overflows `Int`.
    static func byteLength(dtype: DType, shape: [Int]) -> Int? {
        guard let count = elementCount(shape: shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        return overflow ? nil : bytes
    }
}

/// The little-endian bytes of `values`, one after another.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    let size = MemoryLayout<T>.size
    var bytes = [UInt8](repeating: 0, count: values.count * size)
    bytes.withUnsafeMutableBytes { raw in
        for (index, value) in values.enumerated() {
            raw.storeBytes(of: value.littleEndian, toByteOffset: index * size, as: T.self)
        }
    }
    return bytes
}

/// `bytes` read as consecutive little-endian values of `T` (a trailing partial value is ignored).
func littleEndianValues<T: FixedWidthInteger>(_ bytes: [UInt8], as type: T.Type) -> [T] {
    let size = MemoryLayout<T>.size
    let count = bytes.count / size
    return bytes.withUnsafeBytes { raw in
        (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
    }
}
