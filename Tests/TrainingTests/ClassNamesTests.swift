//  ClassNamesTests.swift
//
//  Class names (`--classes FILE`): the file's rules (one name a line, CR LF and spaces ignored, no empty,
//  repeated or over-long name, as many names as classes, each error naming the file); a run stores them in
//  config.json and in every checkpoint's metadata as a JSON array; a checkpoint without them reads as before,
//  one whose names do not fit its network is refused naming the file.

import CNN
import Foundation
import SafeTensors
@testable import Training
import XCTest

final class ClassNamesTests: XCTestCase {
    static let fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    func testTheFileHoldsOneNameALine() throws {
        let dir = try TemporaryDirectory("ClassNamesTests")
        let path = dir.file("classes.txt")
        try Data((Self.fashion.map { "  \($0) " }.joined(separator: "\r\n") + "\r\n").utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try ClassNames.read(contentsOf: path, classes: 10), Self.fashion, "CR LF, spaces and the final newline ignored")
        XCTAssertEqual(try ClassNames.parse("a\nb", path: path, classes: 2), ["a", "b"], "no final newline")

        func refused(_ text: String, _ mentions: [String]) {
            assertThrows(try ClassNames.parse(text, path: path, classes: 3), as: ClassNamesError.self, mentions: [path] + mentions)
        }
        refused("a\nb\n", ["2 names", "3 classes", "HINT"])
        refused("a\nb\nc\nd\n", ["4 names"])
        refused("a\n\nc\n", ["line 2 is empty"])
        refused("a\nb\na\n", ["line 3 repeats 'a' of line 1"])
        refused("a\nb\n" + String(repeating: "x", count: 41) + "\n", ["line 3", "longer than 40"])
        refused("a\nb\tc\nd\n", ["line 2", "control character"])
        assertThrows(try ClassNames.read(contentsOf: dir.file("missing.txt"), classes: 10), as: ClassNamesError.self,
                     mentions: ["--classes", dir.file("missing.txt"), "no such file"])
        assertThrows(try ClassNames.read(contentsOf: dir.path, classes: 10), as: ClassNamesError.self, mentions: ["directory"])
        try Data([0x61, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: dir.file("binary")))
        assertThrows(try ClassNames.read(contentsOf: dir.file("binary"), classes: 1), as: ClassNamesError.self, mentions: ["UTF-8"])
        for error in [ClassNamesError.unreadable(path, "x"), .malformed(path, "y"), .wrongCount(path, names: 1, classes: 10)] {
            XCTAssertFalse(error.errorDescription!.contains("\n"), "one line")
        }
    }

    func testARunStoresTheNamesInConfigAndEveryCheckpoint() throws {
        let data = try TemporaryDirectory("ClassNamesTests-data"), out = try TemporaryDirectory("ClassNamesTests-run")
        try writeDataset(train: .synthetic(count: 64, seed: 1), test: .synthetic(count: 20, seed: 2), to: data.path)
        var c = smallConfiguration(data: data.path, out: out.file("run"), epochs: 1)
        c.classNames = Self.fashion
        let summary = try Trainer(configuration: c).run()

        for path in [summary.modelPath, out.file("run") + "/checkpoints/epoch-0001.safetensors"] {
            let file = try SafeTensorsFile.read(contentsOf: path)
            let value = try XCTUnwrap(file.metadata["class_names"])
            XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String], Self.fashion)
            XCTAssertTrue(value.contains("T-shirt/top"), "slashes are not escaped: \(value)")
            XCTAssertEqual(try Checkpoint.read(contentsOf: path).classNames, Self.fashion)
        }
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(fileBytes(out.file("run") + "/config.json"))) as? [String: Any])
        let settings = try XCTUnwrap(config["configuration"] as? [String: Any])
        XCTAssertEqual(settings["class_names"] as? [String], Self.fashion)
        XCTAssertEqual(try Trainer.readConfiguration(directory: out.file("run")).classNames, Self.fashion)

        // Without names: no key, and nil.
        c.classNames = nil
        c.out = out.file("plain")
        let plain = try Trainer(configuration: c).run()
        XCTAssertNil(try SafeTensorsFile.read(contentsOf: plain.modelPath).metadata["class_names"])
        XCTAssertNil(try Checkpoint.read(contentsOf: plain.modelPath).classNames)
        XCTAssertEqual(ClassNames.label(7, in: nil), "7")
        XCTAssertEqual(ClassNames.label(7, in: Self.fashion), "Sneaker")

        // Names that do not fit the network's outputs in config.json (edited by hand) stop the run before it starts.
        c.classNames = ["a", "b"]
        c.out = out.file("two")
        assertThrows(try Trainer(configuration: c), as: RunError.self, mentions: ["2 names", "10"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.out + "/config.json"))
    }

    func testACheckpointWhoseNamesDoNotFitIsRefused() throws {
        let dir = try TemporaryDirectory("ClassNamesTests-checkpoint")
        var generator = RandomGenerator(seed: 1)
        let input = InputDescriptor(channels: 1, height: 12, width: 12)
        let specs = try Architecture.resolve("fc10", input: input)
        let network = Sequential(specs: specs, generator: &generator)
        for (value, mentions) in [("[\"a\",\"b\"]", ["2 names", "10 classes"]), ("not json", ["not a JSON array"]),
                                  ("[1,2,3,4,5,6,7,8,9,10]", ["not a JSON array of strings"])] {
            let path = dir.file("bad.safetensors")
            try Checkpoint(network: network, input: input, metadata: ["class_names": value]).write(to: path)
            assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path] + mentions)
        }
        let path = dir.file("good.safetensors")
        try Checkpoint(network: network, input: input, metadata: ["class_names": try ClassNames.metadataValue(Self.fashion)]).write(to: path)
        XCTAssertEqual(try Checkpoint.read(contentsOf: path).classNames, Self.fashion)
        XCTAssertEqual(try Checkpoint.read(contentsOf: path).outputs, 10)
    }
}
