//  InvocationTests.swift
//
//  The hints the tools print name the tools the way this one was started, so they can be copied as they are.

@testable import CLI
import XCTest

final class InvocationTests: XCTestCase {
    func testStartedByAPathNamesTheToolsBesideIt() {
        XCTAssertEqual(invocation(of: "cnn-train", argument0: ".build/release/cnn-train"), ".build/release/cnn-train")
        XCTAssertEqual(invocation(of: "cnn-eval", argument0: ".build/release/cnn-train"), ".build/release/cnn-eval")
        XCTAssertEqual(invocation(of: "cnn-eval", argument0: "/opt/cnn/bin/cnn-plot"), "/opt/cnn/bin/cnn-eval")
        XCTAssertEqual(invocation(of: "cnn-eval", argument0: "./cnn-train"), "./cnn-eval")
    }

    func testStartedFromPathNamesTheToolsBare() {
        XCTAssertEqual(invocation(of: "cnn-train", argument0: "cnn-train"), "cnn-train")
        XCTAssertEqual(invocation(of: "cnn-eval", argument0: ""), "cnn-eval")
    }
}
