//  ModelSummaryTests.swift
//
//  The summary of LeNet-5 on 28×28 images: output shapes, parameter counts and forward FLOPs worked out by
//  hand, each convolution's chosen algorithm, the layers its fused step absorbs, and the totals.

import CNN
@testable import Training
import XCTest

final class ModelSummaryTests: XCTestCase {
    func testLeNet5() throws {
        let input = InputDescriptor()
        let specs = try Architecture.resolve("lenet5", input: input)
        let summary = ModelSummary.make(specs, input: input, batchSize: 8)
        XCTAssertEqual(summary.rows.map(\.outputShape).first, [6, 28, 28])
        XCTAssertEqual(summary.rows.last?.outputShape, [10])
        // conv 6·1·25 + 6; conv 16·6·25 + 16; fc 400·120 + 120; 120·84 + 84; 84·10 + 10.
        XCTAssertEqual(summary.parameters, 156 + 2416 + 48120 + 10164 + 850)
        // 2·F·Ho·Wo·C·K² for the convolutions, 2·D·M for the linear layers.
        let convolutionFLOPs: Double = 2 * 6 * 28 * 28 * 25 + 2 * 16 * 10 * 10 * 6 * 25
        let linearFLOPs: Double = 2 * 400 * 120 + 2 * 120 * 84 + 2 * 84 * 10
        XCTAssertEqual(summary.flops, convolutionFLOPs + linearFLOPs)
        let convolutions = summary.rows.filter { $0.layer.hasPrefix("Conv2d") || $0.layer.lowercased().hasPrefix("conv") }
        XCTAssertEqual(convolutions.count, 2, summary.text)
        for row in convolutions { XCTAssertFalse(row.algorithm.isEmpty, "the plan of layer \(row.index): \(summary.text)") }
        XCTAssertEqual(summary.rows[1].algorithm, "fused into layer 0", summary.text)
        let text = summary.text
        print(text)
        XCTAssertTrue(text.hasPrefix("input: 1×28×28\n"), text)
        XCTAssertTrue(text.hasSuffix("total: 61,706 parameters (246,824 bytes as float32), 833,040 forward FLOPs per image"), text)
    }
}
