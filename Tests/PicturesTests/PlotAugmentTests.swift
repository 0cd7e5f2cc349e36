//  PlotAugmentTests.swift
//
//  cnn-plot augment on the repository's MNIST: a PNG whose size follows from the rows and columns it draws, and
//  flags checked before anything runs.

import ArgumentParser
import Foundation
import Images
@testable import CLI
import XCTest

final class PlotAugmentTests: XCTestCase {
    let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Data").path

    func testAugmentDrawsOriginalsBesideTheirWarps() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("augment.png")
        var small = try PlotCommand.parseAsRoot(["augment", "--data", data, "--count", "2", "--epochs", "3", "--out", out])
        try small.run()
        let two = try PNG.read(contentsOf: out)
        var large = try PlotCommand.parseAsRoot(["augment", "--data", data, "--count", "4", "--epochs", "3", "--out", out])
        try large.run()
        let four = try PNG.read(contentsOf: out)
        XCTAssertEqual(four.width, two.width)
        XCTAssertGreaterThan(four.height, two.height + 100, "two more rows of digits")
        let command = try XCTUnwrap(try PlotCommand.parseAsRoot(["augment", "--shift", "3"]) as? PlotAugmentCommand)
        XCTAssertEqual(command.augmentation.shift, 3)
        XCTAssertEqual(command.augmentation.rotate, 10, "the rest from --recipe record")
        for (arguments, mention) in [(["augment", "--count", "0"], "--count"), (["augment", "--recipe", "x"], "--recipe"),
                                     (["augment", "--rotate", "500"], "--rotate")] {
            XCTAssertThrowsError(try PlotCommand.parseAsRoot(arguments)) { XCTAssertTrue(PlotCommand.message(for: $0).contains(mention)) }
        }
    }
}
