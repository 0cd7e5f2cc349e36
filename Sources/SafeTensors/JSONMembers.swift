// JSONMembers.swift — the members of a JSON object as byte ranges, in text order.
//
// Foundation's JSONSerialization checks the syntax and decodes values, but returns a
// dictionary: it forgets the order of the keys and silently keeps only the last of duplicate
// keys. This scanner recovers both from the (already validated) text.

import Foundation

/// One `"key": value` member of a JSON object: the byte ranges of the key (quotes included)
/// and of the value (surrounding whitespace included) in the scanned text.
struct JSONMember {
    var key: Range<Int>
    var value: Range<Int>
}

/// Why `jsonObjectMembers` refused its input.
struct JSONScanError: Error {
    var reason: String
}

/// The members of the JSON object in `json`, in text order, duplicates kept.
///
/// `json` must already have passed JSONSerialization as one JSON object; for anything else the
/// result is an error or meaningless, but the scan never reads out of bounds. Runs in one pass
/// with no recursion.
///
/// - Throws: `JSONScanError` for a trailing comma anywhere (`{"a":1,}`, `[1,]`), which
///   Foundation on Linux accepts but JSON (and the reference implementation) does not, or if
///   the brackets do not balance.
func jsonObjectMembers(_ json: [UInt8]) throws -> [JSONMember] {
    let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    var members: [JSONMember] = []
    var depth = 0                    // 1 = directly inside the object being scanned
    var key: Range<Int>?             // the current member's key, once seen
    var valueStart: Int?             // just after the current member's colon
    var lastToken: UInt8 = 0         // the last byte outside strings and whitespace
    var index = 0
    while index < json.count {
        let byte = json[index]
        if byte == quote {
            let start = index
            index += 1
            while index < json.count, json[index] != quote {
                index += json[index] == backslash ? 2 : 1
            }
            guard index < json.count else { throw JSONScanError(reason: "unterminated string") }
            if depth == 1, key == nil {
                key = start..<(index + 1)
            }
            lastToken = quote
            index += 1
            continue
        }
        if (byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")) && lastToken == UInt8(ascii: ",") {
            throw JSONScanError(reason: "a trailing comma before '\(Character(Unicode.Scalar(byte)))' at header offset \(index)")
        }
        if !isJSONWhitespace(byte) { lastToken = byte }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","):
            if depth == 1, let memberKey = key, let start = valueStart {
                members.append(JSONMember(key: memberKey, value: start..<index))
                key = nil
                valueStart = nil
            }
            if byte != UInt8(ascii: ",") { depth -= 1 }
        case UInt8(ascii: ":"):
            if depth == 1 { valueStart = index + 1 }
        default:
            break
        }
        index += 1
    }
    guard depth == 0 else { throw JSONScanError(reason: "unbalanced brackets") }
    return members
}

/// Decodes one JSON value (a fragment such as `"text"`, `12` or `{...}`) with JSONSerialization.
func decodeJSONValue(_ bytes: ArraySlice<UInt8>) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}

/// `value` if it is a JSON integer in 0...Int.max; nil for booleans, fractions (even `1.0`),
/// exponents, negatives, out-of-range numbers and non-numbers.
///
/// JSONSerialization returns every number as an NSNumber; its storage type tells integers
/// (`q`, `i`, `Q`, ...) from doubles (`d`) and booleans (`c`).
func jsonNonNegativeInt(_ value: Any) -> Int? {
    guard let number = value as? NSNumber else { return nil }
    let integerTypes: Set<String> = ["i", "l", "q", "s", "I", "L", "Q", "S"]
    guard integerTypes.contains(String(cString: number.objCType)) else { return nil }
    guard let integer = value as? Int, integer >= 0 else { return nil }
    return integer
}

/// A short description of a decoded JSON value for error messages: `-3`, `1.5`, `true`,
/// `"text"`, `null`, `an array`, `an object`.
func describeJSONValue(_ value: Any) -> String {
    switch value {
    case let text as String:
        return "\"" + oneLine(text, limit: 40) + "\""
    case let number as NSNumber:
        if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
        return number.stringValue
    case is NSNull:
        return "null"
    case is [Any]:
        return "an array"
    case is [String: Any]:
        return "an object"
    default:
        return "an unexpected value"
    }
}
