// SafeTensorsFile.swift — a safetensors file in memory: tensors in file order plus metadata.
//
// The format (https://github.com/huggingface/safetensors):
//
//   bytes [0, 8)         N, the header length, unsigned 64-bit little-endian
//   bytes [8, 8 + N)     the header: UTF-8 JSON, an object
//                          { "__metadata__": { "key": "value", ... },            (optional)
//                            "name": { "dtype": "F32", "shape": [2, 3],
//                                      "data_offsets": [begin, end] }, ... }
//                        padded with spaces (0x20) to a multiple of 8 bytes
//   bytes [8 + N, EOF)   the data buffer; tensor `name` is bytes [begin, end) of it,
//                        little-endian, row-major; the tensors cover it with no gap
//
// Parsing is in SafeTensorsFile+Parse.swift, writing in SafeTensorsFile+Serialize.swift.

/// A safetensors file in memory: its tensors, in file order, and its string metadata.
///
/// Read one with `read(contentsOf:)` (or `parse(_:file:)` for bytes already in memory),
/// write one with `write(to:)` (atomic) or `serialized()`.
public struct SafeTensorsFile: Equatable, Sendable {
    /// The tensors, in file order: the order of their data in the buffer. Names must be unique
    /// and must not be "__metadata__" for the file to be written.
    public var tensors: [TensorEntry]
    /// The header's `__metadata__`, string to string; empty when the file has none.
    public var metadata: [String: String]

    /// The largest header accepted when reading, or produced when writing: 100,000,000 bytes,
    /// the limit of the reference implementation.
    public static let maxHeaderLength = 100_000_000

    /// A file with `tensors` (their data laid out in this order) and `metadata`.
    public init(tensors: [TensorEntry] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The first tensor called `name`, or nil: `file["conv1.weight"]`.
    public subscript(name: String) -> TensorEntry? {
        tensors.first { $0.name == name }
    }

    /// The first tensor called `name`, or nil: `file[name: "conv1.weight"]`.
    public subscript(name name: String) -> TensorEntry? {
        self[name]
    }

    /// Reads and checks the file at `path`.
    ///
    /// - Throws: `SafeTensorsError.fileNotFound` or `.unreadable` if it cannot be read, and any
    ///   error of `parse(_:file:)` if its contents are not a valid safetensors file.
    public static func read(contentsOf path: String) throws -> SafeTensorsFile {
        try parse(readFileBytes(path), file: path)
    }

    /// Writes the file to `path` atomically (see `AtomicFile.write`): after a failure the old
    /// file at `path`, if any, is unchanged and no temporary file is left.
    ///
    /// - Throws: `SafeTensorsError.duplicateName` or `.badEntry` (a tensor called
    ///   "__metadata__") before anything is written, `.headerTooLarge` if the header would
    ///   exceed `maxHeaderLength`, and `.writeFailed` if the file system refuses.
    public func write(to path: String) throws {
        try checkNames(file: path)
        let header = headerBytes()
        guard header.count <= SafeTensorsFile.maxHeaderLength else {
            throw SafeTensorsError.headerTooLarge(file: path, headerLength: UInt64(header.count),
                                                  limit: SafeTensorsFile.maxHeaderLength)
        }
        try AtomicFile.write(assemble(header: header), to: path)
    }

    /// Throws if a name would make the file unreadable: a duplicate, or "__metadata__".
    func checkNames(file: String) throws {
        var seen = Set<String>()
        for tensor in tensors {
            guard tensor.name != metadataKey else {
                throw SafeTensorsError.badEntry(file: file, name: tensor.name,
                                                reason: "the name \"__metadata__\" is reserved for the metadata; rename the tensor")
            }
            guard seen.insert(tensor.name).inserted else {
                throw SafeTensorsError.duplicateName(file: file, name: tensor.name)
            }
        }
    }
}

/// The reserved header key holding the string metadata.
let metadataKey = "__metadata__"
