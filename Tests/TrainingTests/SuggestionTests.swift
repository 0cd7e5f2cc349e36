//  SuggestionTests.swift
//
//  "Did you mean": typos and prefixes of known names are suggested, unrelated words are not.

@testable import Training
import XCTest

final class SuggestionTests: XCTestCase {
    func testTyposAndPrefixesAreSuggested() {
        let presets = ["default", "cs231n", "lenet5", "pytorch-example"]
        XCTAssertEqual(Suggestion.closest(to: "lenet", among: presets), "lenet5")
        XCTAssertEqual(Suggestion.closest(to: "LeNet5", among: presets), "lenet5")
        XCTAssertEqual(Suggestion.closest(to: "defualt", among: presets), "default")
        XCTAssertEqual(Suggestion.closest(to: "pytorch", among: presets), "pytorch-example")
        XCTAssertEqual(Suggestion.closest(to: "rleu", among: ["relu", "bn", "flatten"]), "relu")
        XCTAssertEqual(Suggestion.closest(to: "curvs", among: ["curves", "confusion", "mistakes", "filters"]), "curves")
    }

    func testUnrelatedWordsAreNot() {
        XCTAssertNil(Suggestion.closest(to: "resnet50", among: ["default", "cs231n", "lenet5", "pytorch-example"]))
        XCTAssertNil(Suggestion.closest(to: "histogram", among: ["curves", "confusion", "mistakes", "filters"]))
        XCTAssertNil(Suggestion.closest(to: "", among: ["relu"]))
    }

    func testDistance() {
        XCTAssertEqual(Suggestion.distance(Array("kitten"), Array("sitting")), 3)
        XCTAssertEqual(Suggestion.distance(Array("ab"), Array("ba")), 1)
        XCTAssertEqual(Suggestion.distance(Array(""), Array("abc")), 3)
    }
}
