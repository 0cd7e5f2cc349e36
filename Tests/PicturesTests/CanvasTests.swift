//  CanvasTests.swift
//
//  The drawing primitives: nice axis ticks, the font's coverage, text measurement, anti-aliased lines,
//  rotated text, and a canvas surviving the trip through PNG.

import Images
@testable import Pictures
import XCTest

final class CanvasTests: XCTestCase {
    func testNiceTicks() {
        let loss = Axis(covering: 0, 0.43)
        XCTAssertEqual(loss.lower, 0)
        XCTAssertEqual(loss.upper, 0.5, accuracy: 1e-12)
        XCTAssertEqual(loss.ticks.map { loss.label($0) }, ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5"])
        let accuracy = Axis(covering: 97.1, 98.9)
        XCTAssertEqual(accuracy.ticks.map { accuracy.label($0) }, ["97.0", "97.5", "98.0", "98.5", "99.0"])
        let epochs = Axis(covering: 1, 1, integers: true)
        XCTAssertEqual(epochs.ticks, [0, 1, 2])
        let many = Axis(covering: 1, 50, count: 10, integers: true)
        XCTAssertEqual(many.ticks.first, 0)
        XCTAssertTrue(many.ticks.allSatisfy { $0 == $0.rounded() })
        XCTAssertEqual(Axis.niceStep(0.03), 0.05, accuracy: 1e-12)
        XCTAssertEqual(Axis(covering: 0, 1, count: 4).label(0.25), "0.25")
    }

    func testFontCoversPrintableASCIIAndTheArrow() {
        let question = Font.pixels(of: "?").map { "\($0)" }
        for scalar in 32...126 where scalar != 63 {
            let c = Character(UnicodeScalar(UInt8(scalar)))
            let lit = Font.pixels(of: c)
            XCTAssertTrue(lit.allSatisfy { (0..<5).contains($0.0) && (0..<9).contains($0.1) }, "glyph '\(c)' outside its cell")
            if c != " " { XCTAssertNotEqual(lit.map { "\($0)" }, question, "no glyph for '\(c)'") }
        }
        for c: Character in ["→", "×", "−", "·"] { XCTAssertNotEqual(Font.pixels(of: c).map { "\($0)" }, question, "\(c)") }
        XCTAssertEqual(Font.width(of: "7 → 2", scale: 2), (5 * 6 - 1) * 2)
    }

    func testTextLandsWhereMeasured() {
        var canvas = Canvas(width: 200, height: 40)
        let w = canvas.text("ACCURACY 98%", x: 100, y: 10, scale: 2, color: .black, alignment: .center)
        var minX = Int.max, maxX = Int.min, minY = Int.max, maxY = Int.min
        for y in 0..<40 { for x in 0..<200 where canvas[x, y] == .black { minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y) } }
        XCTAssertEqual(maxX - minX + 1, w, "ink spans the measured width")
        XCTAssertEqual(minX, 100 - w / 2)
        XCTAssertEqual(minY, 10)
        XCTAssertEqual(maxY, 10 + 7 * 2 - 1, "no descenders in this text")
    }

    func testVerticalTextReadsUpwards() {
        var canvas = Canvas(width: 40, height: 120)
        canvas.verticalText("L", centerX: 20, centerY: 60, scale: 2, color: .black)
        // 'L' turned anticlockwise: its foot (the bottom row) becomes a vertical bar on the right,
        // its stem a horizontal bar at the bottom.
        var xs: [Int] = [], ys: [Int] = []
        for y in 0..<120 { for x in 0..<40 where canvas[x, y] == .black { xs.append(x); ys.append(y) } }
        let bottomRow = ys.max()!
        let stem = xs.indices.filter { ys[$0] == bottomRow }.count
        XCTAssertEqual(stem, 7 * 2, "the stem, 7 rows tall, lies along the bottom")
    }

    func testLinesAreAntiAliasedAndDashesHaveGaps() throws {
        var canvas = Canvas(width: 100, height: 20)
        canvas.polyline([(x: 5, y: 10), (x: 95, y: 10)], color: .black, lineWidth: 2)
        XCTAssertEqual(canvas[50, 9], .black)
        XCTAssertEqual(canvas[50, 10], .black)
        XCTAssertEqual(canvas[50, 7], .white)
        var dashed = Canvas(width: 100, height: 20)
        dashed.polyline([(x: 5, y: 10), (x: 95, y: 10)], color: .black, lineWidth: 2, dash: (on: 8, off: 6))
        let row = (0..<100).map { dashed[$0, 9] == .white }
        let gaps = zip(row, row.dropFirst()).filter { !$0 && $1 }.count
        XCTAssertGreaterThanOrEqual(gaps, 5, "a 90 px dashed line with a 14 px period has about 6 gaps")
        // A diagonal line has partly covered pixels: shades between black and white.
        var diagonal = Canvas(width: 30, height: 30)
        diagonal.line(from: (x: 2, y: 3), to: (x: 27, y: 20), color: .black, lineWidth: 1.5)
        let grays = Set((0..<30).flatMap { y in (0..<30).map { diagonal[$0, y].r } }).filter { $0 > 0 && $0 < 255 }
        XCTAssertGreaterThan(grays.count, 5)
        _ = try roundTrip(diagonal)
    }
}
