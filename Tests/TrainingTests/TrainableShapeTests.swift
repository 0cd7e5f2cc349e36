//  TrainableShapeTests.swift
//
//  Specs that parse but cannot train on the batches a run would give them are refused before anything is
//  written, as one line naming the layer: batch norm with one value per channel (batch 1 of 1×1 maps), also
//  when only the last, partial batch of an epoch has one image.

import CNN
import Foundation
import Training
import XCTest

final class TrainableShapeTests: XCTestCase {
    func testBatchNormWithOneValuePerChannelIsRefusedUpFront() throws {
        let data = try TemporaryDirectory("TrainableShapeTests-data"), out = try TemporaryDirectory("TrainableShapeTests-run")
        try writeDataset(train: .synthetic(count: 65, seed: 1), test: .synthetic(count: 10, seed: 2), to: data.path)
        // conv3k12 turns a 12×12 image into 1×1 maps.
        let arch = "conv3k12-bn-relu-fc10"
        var one = smallConfiguration(data: data.path, out: out.file("one"), arch: arch, epochs: 1, batchSize: 1)
        one.limit = 8
        assertThrows(try Trainer(configuration: one), as: ArchitectureError.self,
                     mentions: ["layer 1", "batchnorm2d", "more than one value per channel", "--batch-size"])
        // 65 images in batches of 32: the last batch holds one image.
        let lastBatch = smallConfiguration(data: data.path, out: out.file("last"), arch: arch, epochs: 1, batchSize: 32)
        assertThrows(try Trainer(configuration: lastBatch), as: ArchitectureError.self,
                     mentions: ["layer 1", "batchnorm2d", "batch of 1"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("one")), "nothing written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("last")), "nothing written")
        // 64 images in batches of 32, or 2×2 maps, train.
        var even = lastBatch
        even.limit = 64
        even.out = out.file("even")
        XCTAssertNoThrow(try Trainer(configuration: even))
        var maps = smallConfiguration(data: data.path, out: out.file("maps"), arch: "conv3k11-bn-relu-fc10", epochs: 1, batchSize: 1)
        maps.limit = 4
        XCTAssertNoThrow(try Trainer(configuration: maps).run())
    }
}
