// SafeTensorsFile+Serialize.swift — the exact bytes of a safetensors file.
//
// Output is deterministic: the same tensors and metadata always give the same bytes.
//   header  {"__metadata__":{...},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},...}
//           no whitespace; "__metadata__" first (omitted when empty), its keys sorted by UTF-8
//           bytes; then the tensors in `tensors` order; padded with spaces to a multiple of 8.
//   data    the tensors' bytes in `tensors` order, back to back, so begin of each = end of the
//           previous, starting at 0.
// The names and the metadata object are written by Foundation's JSONEncoder (keys sorted, slashes as they
// are), whose escaping is serde_json's (the reference implementation's): \" \\ \b \f \n \r \t, other
// control characters as \u00xx; everything else, non-ASCII too, as is. The outer object is put together
// here, because its order is the format's: "__metadata__", then the tensors in file order, each
// {"dtype","shape","data_offsets"} as the reference writes them (JSONEncoder keeps no order but sorted).

import Foundation

extension SafeTensorsFile {
    /// The complete file: 8-byte little-endian header length, padded JSON header, data.
    ///
    /// Names should be unique and not "__metadata__"; `write(to:)` checks this and throws,
    /// this function does not (a file with duplicate names is rejected when read).
    public func serialized() -> [UInt8] {
        assemble(header: headerBytes())
    }

    /// Length prefix, `header` (already padded) and the tensors' data.
    func assemble(header: [UInt8]) -> [UInt8] {
        let dataLength = tensors.reduce(0) { $0 + $1.data.count }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + dataLength)
        bytes += littleEndianBytes([UInt64(header.count)])
        bytes += header
        for tensor in tensors {
            bytes += tensor.data
        }
        return bytes
    }

    /// The JSON header, padded with spaces to a multiple of 8 bytes.
    func headerBytes() -> [UInt8] {
        var json: [UInt8] = []
        json.append(UInt8(ascii: "{"))
        var first = true
        func separate() {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separate()
            appendJSONString(metadataKey, to: &json)
            json.append(UInt8(ascii: ":"))
            appendJSONObject(metadata, to: &json)
        }
        var offset = 0
        for tensor in tensors {
            separate()
            let end = offset + tensor.data.count
            appendJSONString(tensor.name, to: &json)
            json += Array(":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[".utf8)
            json += Array(tensor.shape.map(String.init).joined(separator: ",").utf8)
            json += Array("],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        let padding = (8 - json.count % 8) % 8
        json += [UInt8](repeating: UInt8(ascii: " "), count: padding)
        return json
    }
}

/// Appends `text` as a JSON string literal, quotes included, written by Foundation's JSONEncoder (slashes
/// as they are): \" \\ \b \f \n \r \t, other control characters as \u00xx, everything else as is, which
/// is also how serde_json, in the reference implementation, escapes (tested against its bytes).
func appendJSONString(_ text: String, to json: inout [UInt8]) {
    json += headerEncoder.encodeInfallibly(text)
}

/// `metadata` as one JSON object, keys sorted.
func appendJSONObject(_ metadata: [String: String], to json: inout [UInt8]) {
    json += headerEncoder.encodeInfallibly(metadata)
}

/// The header's encoder: keys sorted, slashes not escaped.
private let headerEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}()

extension JSONEncoder {
    /// Strings and string dictionaries always encode.
    fileprivate func encodeInfallibly<T: Encodable>(_ value: T) -> [UInt8] {
        guard let data = try? encode(value) else { preconditionFailure("JSONEncoder failed on a \(T.self)") }
        return Array(data)
    }
}
