// SafeTensorsFile+Serialize.swift — the exact bytes of a safetensors file.
//
// Output is deterministic: the same tensors and metadata always give the same bytes.
//   header  {"__metadata__":{...},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},...}
//           no whitespace; "__metadata__" first (omitted when empty), its keys sorted by UTF-8
//           bytes; then the tensors in `tensors` order; padded with spaces to a multiple of 8.
//   data    the tensors' bytes in `tensors` order, back to back, so begin of each = end of the
//           previous, starting at 0.
// Strings are escaped as serde_json (used by the reference implementation) does: \" \\ \b \f
// \n \r \t, other control characters as \u00xx; everything else, non-ASCII too, as is.

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
            json.append(UInt8(ascii: "{"))
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(metadata[key] ?? "", to: &json)
            }
            json.append(UInt8(ascii: "}"))
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

/// Appends `text` as a JSON string literal, quotes included, escaped as serde_json does.
func appendJSONString(_ text: String, to json: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    json.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""): json += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): json += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case 0x08: json += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
        case 0x0C: json += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
        case 0x0A: json += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case 0x0D: json += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case 0x09: json += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        case 0x00..<0x20:
            json += Array("\\u00".utf8)
            json.append(hex[Int(byte >> 4)])
            json.append(hex[Int(byte & 0x0F)])
        default:
            json.append(byte)
        }
    }
    json.append(UInt8(ascii: "\""))
}
