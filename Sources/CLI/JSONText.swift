//  JSONText.swift
//
//  Every JSON object the tools print is written by Foundation's JSONEncoder: keys in declaration order,
//  strings escaped as JSON requires (control characters too), slashes left as they are, and non-finite
//  numbers, which JSON has no literal for, as the strings "inf", "-inf" and "nan".

import Foundation

/// `value` as one line of JSON.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
