// SafeTensorsFile+Parse.swift — checking and reading the bytes of a safetensors file.
//
// Every file is treated as hostile: no input traps, numbers from the file are checked before
// any arithmetic, and tensors are only slices of the bytes given (a tiny file never causes a
// large allocation). The checks, in order:
//   1. at least 8 bytes; header length N <= maxHeaderLength and N <= file size - 8 (when not, a file that
//      plainly is something else, text, gzip or PNG, is named as such)
//   2. header: UTF-8 with no NUL byte, valid JSON (JSONSerialization), an object, starts with '{'
//   3. no duplicate keys; "__metadata__", if present, maps strings to strings
//   4. each tensor: known dtype; shape of integers >= 0; data_offsets two integers >= 0 with
//      begin <= end; shape × dtype size (overflow-checked) == end - begin; end <= buffer length
//   5. sorted by offsets, the tensors cover the buffer from 0 to its end: no overlap, no gap,
//      nothing trailing.

import Foundation

/// What a file whose header length cannot be right plainly is instead, from its first 8 bytes (at least 8 are
/// given): "text" when they are all printable ASCII, tabs or line breaks (a real length below the header limit
/// has zero high bytes), "a gzip file" or "a PNG image" by their signatures; nil otherwise.
func foreignKind(_ bytes: [UInt8]) -> String? {
    let head = bytes.prefix(8)
    if head.starts(with: [0x1F, 0x8B]) { return "a gzip file" }
    if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "a PNG image" }
    if head.allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return "text" }
    return nil
}

extension SafeTensorsFile {
    /// Checks `bytes` as a complete safetensors file and returns its tensors (sorted by their
    /// data offsets, i.e. in file order) and metadata. `file` names the source in errors.
    ///
    /// Accepts every file the reference implementation writes (trailing spaces after the JSON,
    /// any key order, zero-element tensors, shape `[]`); rejects anything that breaks the
    /// format. Tensor names are compared as Swift strings, so two names that differ only in
    /// Unicode normalization count as duplicates.
    ///
    /// - Throws: `SafeTensorsError`, naming `file` and the first problem found.
    public static func parse(_ bytes: [UInt8], file: String) throws -> SafeTensorsFile {
        // 1. The header length.
        guard bytes.count >= 8 else {
            throw SafeTensorsError.tooShort(file: file, size: bytes.count)
        }
        var declaredLength: UInt64 = 0
        for index in 0..<8 {
            declaredLength |= UInt64(bytes[index]) << (8 * UInt64(index))
        }
        guard declaredLength <= UInt64(maxHeaderLength) else {
            if let kind = foreignKind(bytes) { throw SafeTensorsError.notSafeTensors(file: file, looksLike: kind) }
            throw SafeTensorsError.headerTooLarge(file: file, headerLength: declaredLength, limit: maxHeaderLength)
        }
        let headerLength = Int(declaredLength)   // <= maxHeaderLength, so it fits
        guard headerLength <= bytes.count - 8 else {
            if let kind = foreignKind(bytes) { throw SafeTensorsError.notSafeTensors(file: file, looksLike: kind) }
            throw SafeTensorsError.headerBeyondFile(file: file, headerLength: declaredLength, fileSize: bytes.count)
        }
        let header = Array(bytes[8..<(8 + headerLength)])
        let bufferStart = 8 + headerLength
        let bufferLength = bytes.count - bufferStart

        // 2.-4. The header.
        let (metadata, infos) = try parseHeader(header, file: file)
        for info in infos {
            guard info.end <= bufferLength else {
                throw SafeTensorsError.offsetsOutOfRange(file: file, name: info.name, begin: info.begin,
                                                         end: info.end, bufferLength: bufferLength)
            }
        }

        // 5. Coverage: sorted by (begin, end, header order), each begins where the last ended.
        let sorted = infos.enumerated().sorted { lhs, rhs in
            (lhs.element.begin, lhs.element.end, lhs.offset) < (rhs.element.begin, rhs.element.end, rhs.offset)
        }.map(\.element)
        var covered = 0
        var previous: String?
        for info in sorted {
            if info.begin < covered, let previous {
                throw SafeTensorsError.overlap(file: file, name: info.name, other: previous)
            }
            guard info.begin == covered else {
                throw SafeTensorsError.gap(file: file, name: info.name, expectedBegin: covered, begin: info.begin)
            }
            covered = info.end
            previous = info.name
        }
        guard covered == bufferLength else {
            throw SafeTensorsError.trailingBytes(file: file, used: covered, bufferLength: bufferLength)
        }

        let tensors = sorted.map { info in
            TensorEntry(unchecked: info.name, dtype: info.dtype, shape: info.shape,
                        data: Array(bytes[(bufferStart + info.begin)..<(bufferStart + info.end)]),
                        sourcePath: file)
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// A tensor's header entry, checked except against the buffer.
    struct TensorInfo {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Steps 2.-4.: the metadata and the tensors' entries, in header order.
    static func parseHeader(_ header: [UInt8], file: String) throws -> (metadata: [String: String], tensors: [TensorInfo]) {
        guard !header.isEmpty else {
            throw SafeTensorsError.invalidJSON(file: file, reason: "the header is empty (length 0)")
        }
        if let offset = firstInvalidUTF8Offset(header) {
            throw SafeTensorsError.invalidJSON(file: file, reason: "the header is not UTF-8 (bad byte at header offset \(offset))")
        }
        if let offset = header.firstIndex(of: 0) {
            // A NUL can never occur in JSON text; refusing it also stops JSONSerialization from
            // guessing UTF-16 or UTF-32.
            throw SafeTensorsError.invalidJSON(file: file, reason: "NUL byte at header offset \(offset)")
        }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(header), options: [.fragmentsAllowed])
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw SafeTensorsError.invalidJSON(file: file, reason: reason ?? "JSONSerialization refused it")
        }
        guard root is [String: Any] else {
            throw SafeTensorsError.notAnObject(file: file, found: describeJSONValue(root))
        }
        guard header.first == UInt8(ascii: "{") else {
            throw SafeTensorsError.invalidJSON(file: file, reason: "the header must start with '{' (no whitespace or byte-order mark before it)")
        }
        let members: [JSONMember]
        do {
            members = try jsonObjectMembers(header)
        } catch let error as JSONScanError {
            throw SafeTensorsError.invalidJSON(file: file, reason: error.reason)
        }

        var metadata: [String: String]?
        var tensors: [TensorInfo] = []
        var names = Set<String>()
        for member in members {
            guard let name = decodeJSONValue(header[member.key]) as? String else {
                throw SafeTensorsError.invalidJSON(file: file, reason: "cannot decode the key at header offset \(member.key.lowerBound)")
            }
            guard names.insert(name).inserted else {
                if name == metadataKey {
                    throw SafeTensorsError.badMetadata(file: file, reason: "\"__metadata__\" appears more than once")
                }
                throw SafeTensorsError.duplicateName(file: file, name: name)
            }
            let valueBytes = Array(header[member.value])
            guard let value = decodeJSONValue(valueBytes[...]) else {
                throw SafeTensorsError.invalidJSON(file: file, reason: "cannot decode the value of \(quoted(name))")
            }
            if name == metadataKey {
                metadata = try parseMetadata(value, bytes: valueBytes, file: file)
            } else {
                tensors.append(try parseTensorInfo(name: name, value: value, file: file))
            }
        }
        return (metadata ?? [:], tensors)
    }

    /// `"__metadata__"`: an object whose values are all strings, keys unique.
    static func parseMetadata(_ value: Any, bytes: [UInt8], file: String) throws -> [String: String] {
        guard value is [String: Any] else {
            throw SafeTensorsError.badMetadata(file: file, reason: "it is \(describeJSONValue(value)), not an object")
        }
        let start = bytes.firstIndex { !isJSONWhitespace($0) } ?? 0
        let end = (bytes.lastIndex { !isJSONWhitespace($0) } ?? (bytes.count - 1)) + 1
        let object = Array(bytes[start..<min(max(start, end), bytes.count)])
        guard let members = try? jsonObjectMembers(object) else {
            throw SafeTensorsError.badMetadata(file: file, reason: "cannot split it into members")
        }
        var metadata: [String: String] = [:]
        for member in members {
            guard let key = decodeJSONValue(object[member.key]) as? String,
                  let entry = decodeJSONValue(object[member.value]) else {
                throw SafeTensorsError.badMetadata(file: file, reason: "cannot decode the member at offset \(member.key.lowerBound)")
            }
            guard let text = entry as? String else {
                throw SafeTensorsError.badMetadata(file: file, reason: "the value of \(quoted(key)) is \(describeJSONValue(entry)), not a string")
            }
            guard metadata.updateValue(text, forKey: key) == nil else {
                throw SafeTensorsError.badMetadata(file: file, reason: "the key \(quoted(key)) appears more than once")
            }
        }
        return metadata
    }

    /// One tensor's entry: `{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}`.
    /// Other fields are ignored, as the reference implementation does.
    static func parseTensorInfo(name: String, value: Any, file: String) throws -> TensorInfo {
        func bad(_ reason: String) -> SafeTensorsError {
            .badEntry(file: file, name: name, reason: reason)
        }
        guard let fields = value as? [String: Any] else {
            throw bad("the entry is \(describeJSONValue(value)), not an object with dtype, shape and data_offsets")
        }
        guard let dtypeValue = fields["dtype"] else { throw bad("the \"dtype\" field is missing") }
        guard let dtypeName = dtypeValue as? String else {
            throw bad("\"dtype\" is \(describeJSONValue(dtypeValue)), not a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(file: file, name: name, dtype: dtypeName)
        }

        guard let shapeValue = fields["shape"] else { throw bad("the \"shape\" field is missing") }
        guard let shapeArray = shapeValue as? [Any] else {
            throw bad("\"shape\" is \(describeJSONValue(shapeValue)), not an array")
        }
        var shape: [Int] = []
        shape.reserveCapacity(shapeArray.count)
        for (axis, dimension) in shapeArray.enumerated() {
            guard let size = jsonNonNegativeInt(dimension) else {
                throw bad("shape[\(axis)] is \(describeJSONValue(dimension)); dimensions must be integers from 0 to \(Int.max)")
            }
            shape.append(size)
        }

        guard let offsetsValue = fields["data_offsets"] else { throw bad("the \"data_offsets\" field is missing") }
        guard let offsets = offsetsValue as? [Any], offsets.count == 2 else {
            throw bad("\"data_offsets\" is \(describeJSONValue(offsetsValue)); it must be an array [begin, end]")
        }
        guard let begin = jsonNonNegativeInt(offsets[0]), let end = jsonNonNegativeInt(offsets[1]) else {
            throw bad("\"data_offsets\" are [\(describeJSONValue(offsets[0])), \(describeJSONValue(offsets[1]))]; they must be integers from 0 to \(Int.max)")
        }
        guard begin <= end else {
            throw bad("\"data_offsets\" [\(begin), \(end)] end before they begin")
        }

        guard let expectedBytes = TensorEntry.byteLength(dtype: dtype, shape: shape) else {
            throw bad("the shape \(describeShape(shape)) of \(dtype.rawValue) has more bytes than can be addressed")
        }
        guard expectedBytes == end - begin else {
            throw SafeTensorsError.shapeMismatch(file: file, name: name, expectedBytes: expectedBytes, actualBytes: end - begin)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }
}

/// Space, tab, line feed or carriage return: the whitespace JSON allows between tokens.
func isJSONWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}

/// The offset of the first byte of `bytes` that does not belong to valid UTF-8, or nil.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
    var decoder = UTF8()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar):
            offset += UTF8.width(scalar)
        case .emptyInput:
            return nil
        case .error:
            return offset
        }
    }
}

/// `[2, 3]`, or the first 8 dimensions and "…" for longer shapes (for error messages).
func describeShape(_ shape: [Int]) -> String {
    let shown = shape.prefix(8).map(String.init).joined(separator: ", ")
    return "[" + shown + (shape.count > 8 ? ", …]" : "]")
}
