//  JSONText.swift
//
//  Every JSON object the tools print is written by Foundation's JSONEncoder as `JSONLine` sets it up: keys
//  sorted, strings escaped as JSON requires (control characters too), slashes left as they are, and
//  non-finite numbers, which JSON has no literal for, as the strings "inf", "-inf" and "nan".

import Foundation
import Training

/// `value` as one line of JSON.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    try JSONLine.text(value)
}
