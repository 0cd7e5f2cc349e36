//  LayeringTests.swift
//
//  Pictures draws what it is given: its sources import Images and Foundation only, never the modules that run
//  networks (CNN, Training), so the dependency between the two goes one way (CLI joins them).

import Foundation
import XCTest

final class LayeringTests: XCTestCase {
    func testPicturesImportsOnlyImagesAndFoundation() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let folder = url.appendingPathComponent("Sources/Pictures").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 5, "the Pictures sources are found")
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            let imports = text.split(separator: "\n").filter { $0.hasPrefix("import ") || $0.hasPrefix("@testable import ") }
                .map { String($0.split(separator: " ").last!) }
            for module in imports {
                XCTAssertTrue(["Foundation", "Images"].contains(module), "\(file) imports \(module)")
            }
        }
    }
}
