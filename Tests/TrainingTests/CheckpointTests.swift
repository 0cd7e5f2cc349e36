//  CheckpointTests.swift
//
//  Checkpoints as safetensors files: the round trip is bit-exact; tensor names, shapes and dtypes are those of
//  nn.Sequential's state_dict; the metadata is the documented JSON; and every way a file can be wrong gives a
//  CheckpointError (or SafeTensorsError) naming the file.

import CNN
import Foundation
import SafeTensors
import Training
import XCTest

final class CheckpointTests: XCTestCase {
    /// 1×8×8 images, so the network is tiny.
    let input = InputDescriptor(channels: 1, height: 8, width: 8, mean: 0.1307, std: 0.3081)

    /// conv(1→4, k3, p1) → bn(4) → relu → maxpool(2) → flatten → linear(4·4·4 → 10).
    let specs: [LayerSpec] = [
        .conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, stride: 1, padding: 1),
        .batchNorm2d(numFeatures: 4, eps: 1e-5, momentum: 0.1), .relu, .maxPool2d(kernelSize: 2, stride: 2), .flatten,
        .linear(inFeatures: 64, outFeatures: 10),
    ]

    /// The network of `specs`, with batch-norm statistics moved away from their initial values by a few
    /// training-mode passes, and some awkward floats (−0, a subnormal, the largest finite) in the weights.
    func makeNetwork(seed: UInt64 = 3) -> Sequential {
        var generator = RandomGenerator(seed: seed)
        let network = Sequential(specs: specs, generator: &generator)
        for _ in 0..<3 {
            var x = Tensor<Float>(shape: [5, 1, 8, 8])
            for i in 0..<x.count { x.scalars[i] = generator.nextNormal() * 2 + 0.5 }
            _ = network.forward(x, mode: .training)
        }
        let conv = network.layers[0].parameters[0]
        conv.value.scalars[0] = -0.0
        conv.value.scalars[1] = .leastNonzeroMagnitude
        conv.value.scalars[2] = .greatestFiniteMagnitude
        let bn = network.layers[1] as! BatchNorm2D
        bn.numBatchesTracked = 123_456_789_012   // past 2^32, to catch a 32-bit truncation
        return network
    }

    func write(_ network: Sequential, metadata: [String: String] = ["seed": "42"]) throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory("CheckpointTests")
        let path = dir.file("model.safetensors")
        try Checkpoint(network: network, input: input, metadata: metadata).write(to: path)
        return (dir, path)
    }

    // MARK: Round trip

    func testWriteThenReadIsBitExact() throws {
        let network = makeNetwork()
        let (dir, path) = try write(network)
        _ = dir
        let loaded = try Checkpoint.read(contentsOf: path)

        XCTAssertEqual(loaded.network.specs, network.specs)
        XCTAssertEqual(loaded.input, input)
        XCTAssertEqual(loaded.metadata["seed"], "42", "extra metadata is kept")
        XCTAssertEqual(loaded.network.layers.count, network.layers.count)
        for (i, (a, b)) in zip(network.layers, loaded.network.layers).enumerated() {
            XCTAssertEqual(a.parameters.map(\.name), b.parameters.map(\.name), "layer \(i)")
            for (p, q) in zip(a.parameters, b.parameters) {
                XCTAssertEqual(p.value.shape, q.value.shape, "\(i).\(p.name)")
                XCTAssertEqual(p.value.scalars.map(\.bitPattern), q.value.scalars.map(\.bitPattern), "\(i).\(p.name)")
            }
            XCTAssertEqual(a.buffers.map(\.name), b.buffers.map(\.name), "layer \(i)")
            for (x, y) in zip(a.buffers, b.buffers) {
                XCTAssertEqual(x.get().shape, y.get().shape, "\(i).\(x.name)")
                XCTAssertEqual(x.get().scalars.map(\.bitPattern), y.get().scalars.map(\.bitPattern), "\(i).\(x.name)")
            }
        }
        let bn = try XCTUnwrap(loaded.network.layers[1] as? BatchNorm2D)
        XCTAssertEqual(bn.numBatchesTracked, 123_456_789_012)
        XCTAssertNotEqual(bn.runningMean.scalars, [0, 0, 0, 0], "the statistics were moved before writing")

        // Writing the loaded checkpoint again gives the same bytes.
        let again = dir.file("again.safetensors")
        try loaded.write(to: again)
        XCTAssertEqual(fileBytes(again), fileBytes(path))
    }

    func testLoadedNetworkComputesTheSameOutputs() throws {
        let network = makeNetwork()
        let conv = network.layers[0].parameters[0]
        conv.value.scalars[2] = 0.25   // keep the outputs finite for this comparison
        let (dir, path) = try write(network)
        _ = dir
        let loaded = try Checkpoint.read(contentsOf: path).network
        var generator = RandomGenerator(seed: 9)
        var x = Tensor<Float>(shape: [3, 1, 8, 8])
        for i in 0..<x.count { x.scalars[i] = generator.nextNormal() }
        let a = network.forward(x, mode: .evaluation), b = loaded.forward(x, mode: .evaluation)
        XCTAssertEqual(a.shape, [3, 10])
        XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern))
    }

    // MARK: Layout

    func testTensorNamesShapesAndDTypesFollowTheStateDict() throws {
        let (dir, path) = try write(makeNetwork())
        _ = dir
        let file = try SafeTensorsFile.read(contentsOf: path)
        let layout = file.tensors.map { "\($0.name) \($0.dtype.rawValue) \($0.shape)" }
        XCTAssertEqual(layout, [
            "0.weight F32 [4, 1, 3, 3]", "0.bias F32 [4]",
            "1.weight F32 [4]", "1.bias F32 [4]", "1.running_mean F32 [4]", "1.running_var F32 [4]",
            "1.num_batches_tracked I64 []",
            // relu (2), maxpool (3) and flatten (4) take an index but own no tensors.
            "5.weight F32 [10, 64]", "5.bias F32 [10]",
        ])
        XCTAssertEqual(try file["1.num_batches_tracked"]?.int64Scalars(), [123_456_789_012])
        // Linear weights are (out, in), row-major: element (o, i) is the o-th row's i-th entry.
        let linear = makeNetwork().layers[5].parameters[0].value
        XCTAssertEqual(try file["5.weight"]?.floats(), linear.scalars)
        XCTAssertEqual(file.metadata["format"], "pt")
    }

    func testArchitectureAndInputMetadataAreTheDocumentedJSON() throws {
        let (dir, path) = try write(makeNetwork())
        _ = dir
        let file = try SafeTensorsFile.read(contentsOf: path)
        XCTAssertEqual(file.metadata["architecture"], """
            [{"in_channels":1,"kernel_size":3,"out_channels":4,"padding":1,"stride":1,"type":"conv2d"},\
            {"eps":1e-05,"momentum":0.1,"num_features":4,"type":"batchnorm2d"},\
            {"type":"relu"},{"kernel_size":2,"stride":2,"type":"maxpool2d"},{"type":"flatten"},\
            {"in_features":64,"out_features":10,"type":"linear"}]
            """)
        XCTAssertEqual(file.metadata["input"], #"{"channels":1,"height":8,"mean":0.1307,"std":0.3081,"width":8}"#)
        // Both parse as JSON.
        for key in ["architecture", "input"] {
            let text = try XCTUnwrap(file.metadata[key])
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8)), key)
        }
    }

    func testOtherLayersInTheArchitectureJSON() throws {
        let specs = try Architecture.resolve("conv2k3s2-avgpool2s1-drop0.25-fc10", input: input)
        var generator = RandomGenerator(seed: 1)
        let dir = try TemporaryDirectory("CheckpointTests")
        let path = dir.file("m.safetensors")
        try Checkpoint(network: Sequential(specs: specs, generator: &generator), input: input).write(to: path)
        let file = try SafeTensorsFile.read(contentsOf: path)
        XCTAssertEqual(file.metadata["architecture"], """
            [{"in_channels":1,"kernel_size":3,"out_channels":2,"padding":0,"stride":2,"type":"conv2d"},\
            {"kernel_size":2,"stride":1,"type":"avgpool2d"},{"p":0.25,"type":"dropout"},{"type":"flatten"},\
            {"in_features":8,"out_features":10,"type":"linear"}]
            """)
        XCTAssertEqual(file.tensors.map(\.name), ["0.weight", "0.bias", "4.weight", "4.bias"])
        XCTAssertEqual(try Checkpoint.read(contentsOf: path).network.specs, specs)
    }

    func testChecksumIsTheCRC32OfTheTensorDataInFileOrder() throws {
        let (dir, path) = try write(makeNetwork())
        _ = dir
        let file = try SafeTensorsFile.read(contentsOf: path)
        let crc = try XCTUnwrap(file.metadata["crc32"])
        XCTAssertEqual(crc.count, 8)
        XCTAssertEqual(crc, checksumString(file.tensors))
    }

    // MARK: Corrupt or foreign files

    /// Writes `file` to a new path and returns the directory (keep it alive) and the path.
    func store(_ file: SafeTensorsFile, name: String = "bad.safetensors") throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory("CheckpointTests")
        let path = dir.file(name)
        try file.write(to: path)
        return (dir, path)
    }

    func goodFile() -> SafeTensorsFile {
        Checkpoint(network: makeNetwork(), input: input).file()
    }

    /// `file` with its tensors replaced by `tensors` and the checksum brought up to date, so only the
    /// change of tensors is wrong.
    func withTensors(_ file: SafeTensorsFile, _ tensors: [TensorEntry]) -> SafeTensorsFile {
        var f = file
        f.tensors = tensors
        f.metadata["crc32"] = checksumString(tensors)
        return f
    }

    func testFlippedDataByteIsAChecksumMismatch() throws {
        let (dir, path) = try write(makeNetwork())
        _ = dir
        var bytes = fileBytes(path)
        let expected = try XCTUnwrap(try SafeTensorsFile.read(contentsOf: path).metadata["crc32"])
        bytes[bytes.count - 3] ^= 0x10   // inside the last tensor's data; the header is untouched
        let corrupt = dir.file("corrupt.safetensors")
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        XCTAssertNoThrow(try SafeTensorsFile.read(contentsOf: corrupt), "the container itself still parses")
        assertThrows(try Checkpoint.read(contentsOf: corrupt), as: CheckpointError.self, mentions: [corrupt, expected, "corrupt"]) {
            guard case let .checksumMismatch(file, e, a) = $0 else { return XCTFail("got \($0)") }
            XCTAssertEqual(file, corrupt)
            XCTAssertEqual(e, expected)
            XCTAssertNotEqual(a, expected)
        }
    }

    func testMissingMetadata() throws {
        for key in ["architecture", "input", "crc32"] {
            var file = goodFile()
            file.metadata[key] = nil
            let (dir, path) = try store(file)
            _ = dir
            assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, key]) {
                XCTAssertEqual($0, .missingMetadata(path, key))
            }
        }
        // A safetensors file with no metadata at all, e.g. written by safetensors.torch.save_file.
        let (dir, path) = try store(SafeTensorsFile(tensors: [TensorEntry(name: "w", floats: [1], shape: [1])]))
        _ = dir
        assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, "architecture"]) {
            XCTAssertEqual($0, .missingMetadata(path, "architecture"))
        }
    }

    func testMalformedArchitectureJSON() throws {
        let cases: [(String, String)] = [
            (#"[{"type":"conv2d""#, "not a JSON array"),
            (#"{"type":"relu"}"#, "not a JSON array"),
            (#"[{"type":"conv2d","in_channels":1}]"#, #"layer 0"#),
            (#"[{"type":"conv2d","in_channels":1,"out_channels":4,"kernel_size":3,"stride":1,"padding":1},{"type":"lstm"}]"#,
             #"unknown layer type "lstm""#),
            (#"[{"type":"conv2d","in_channels":1,"out_channels":4.5,"kernel_size":3,"stride":1,"padding":1}]"#, "out_channels"),
            (#"[{"type":"linear","in_features":64,"out_features":-10}]"#, "out_features"),
            (#"[{"kernel_size":2}]"#, #"not an object with a "type""#),
            ("[]", "does not fit"),
        ]
        for (architecture, reason) in cases {
            var file = goodFile()
            file.metadata["architecture"] = architecture
            let (dir, path) = try store(file)
            _ = dir
            assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, reason]) {
                guard case let .badMetadata(f, _) = $0 else { return XCTFail("\(architecture): got \($0)") }
                XCTAssertEqual(f, path)
            }
        }
    }

    func testMalformedInputMetadata() throws {
        for text in [#"{"channels":1}"#, #"{"channels":1,"height":8,"width":8,"mean":0.1,"std":0}"#, "28x28"] {
            var file = goodFile()
            file.metadata["input"] = text
            let (dir, path) = try store(file)
            _ = dir
            assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, "input"]) {
                guard case .badMetadata = $0 else { return XCTFail("\(text): got \($0)") }
            }
        }
    }

    func testArchitectureThatDoesNotFitItsInput() throws {
        var file = goodFile()
        file.metadata["input"] = #"{"channels":1,"height":4,"width":4,"mean":0.1307,"std":0.3081}"#
        let (dir, path) = try store(file)
        _ = dir
        assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, "1×4×4"]) {
            guard case .badMetadata = $0 else { return XCTFail("got \($0)") }
        }
    }

    func testTensorWithTheWrongShape() throws {
        let good = goodFile()
        // Same bytes, so the same checksum: only the shape is wrong.
        let tensors = good.tensors.map { t in
            t.name == "0.weight" ? TensorEntry(name: t.name, dtype: t.dtype, shape: [4, 9], data: t.data) : t
        }
        var file = good
        file.tensors = tensors
        XCTAssertEqual(checksumString(tensors), good.metadata["crc32"])
        let (dir, path) = try store(file)
        _ = dir
        assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, "0.weight", "[4, 9]", "[4, 1, 3, 3]"]) {
            guard case let .wrongTensor(f, name, _) = $0 else { return XCTFail("got \($0)") }
            XCTAssertEqual(f, path)
            XCTAssertEqual(name, "0.weight")
        }
    }

    func testTensorWithTheWrongDType() throws {
        let good = goodFile()
        let asF32 = good.tensors.map { t in t.name == "1.num_batches_tracked" ? TensorEntry(name: t.name, floats: [7], shape: []) : t }
        let (dir1, path1) = try store(withTensors(good, asF32))
        _ = dir1
        assertThrows(try Checkpoint.read(contentsOf: path1), as: CheckpointError.self, mentions: [path1, "1.num_batches_tracked", "I64"]) {
            guard case .wrongTensor(path1, "1.num_batches_tracked", _) = $0 else { return XCTFail("got \($0)") }
        }
        let asI64 = good.tensors.map { t in t.name == "0.bias" ? TensorEntry(name: t.name, int64s: [1, 2, 3, 4], shape: [4]) : t }
        let (dir2, path2) = try store(withTensors(good, asI64))
        _ = dir2
        assertThrows(try Checkpoint.read(contentsOf: path2), as: CheckpointError.self, mentions: [path2, "0.bias", "F32"]) {
            guard case .wrongTensor(path2, "0.bias", _) = $0 else { return XCTFail("got \($0)") }
        }
    }

    func testMissingTensor() throws {
        let good = goodFile()
        for name in ["1.running_var", "1.num_batches_tracked", "5.bias"] {
            let (dir, path) = try store(withTensors(good, good.tensors.filter { $0.name != name }))
            _ = dir
            assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, name]) {
                XCTAssertEqual($0, .missingTensor(path, name))
            }
        }
    }

    func testExtraTensor() throws {
        let good = goodFile()
        for name in ["2.weight", "9.weight", "optimizer.velocity"] {
            let (dir, path) = try store(withTensors(good, good.tensors + [TensorEntry(name: name, floats: [1, 2], shape: [2])]))
            _ = dir
            assertThrows(try Checkpoint.read(contentsOf: path), as: CheckpointError.self, mentions: [path, name]) {
                XCTAssertEqual($0, .unexpectedTensor(path, name))
            }
        }
    }

    func testNotASafetensorsFile() throws {
        let dir = try TemporaryDirectory("CheckpointTests")
        let path = dir.file("notes.safetensors")
        try Data("not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: path))
        assertThrows(try Checkpoint.read(contentsOf: path), as: SafeTensorsError.self, mentions: [path])
        let missing = dir.file("missing.safetensors")
        assertThrows(try Checkpoint.read(contentsOf: missing), as: SafeTensorsError.self, mentions: [missing]) {
            XCTAssertEqual($0, .fileNotFound(file: missing))
        }
    }
}
