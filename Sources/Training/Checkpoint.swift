//  Checkpoint.swift
//
//  A model as a safetensors file that PyTorch loads unchanged:
//    tensors  "<i>.weight", "<i>.bias" (and "<i>.running_mean", "<i>.running_var", "<i>.num_batches_tracked"
//             for batch norm), where i is the layer's index in the nn.Sequential; PyTorch layouts
//             (conv (F, C, HH, WW), linear (out, in)); F32, num_batches_tracked I64 with shape [].
//    metadata "architecture" (one JSON object per layer), "input" (image shape and normalisation),
//             "crc32" (zlib CRC-32 of the tensor data, in file order, 8 hex digits), "class_names" (optional, a
//             JSON array with a name per output, see ClassNames.swift), and free extras.

import CNN
import CZlib
import Foundation
import SafeTensors

/// A network with its input description and metadata, as stored in a `.safetensors` checkpoint.
public struct Checkpoint {
    public var network: Sequential
    public var input: InputDescriptor
    /// Everything in `__metadata__`, including "architecture", "input" and "crc32".
    public var metadata: [String: String]

    public init(network: Sequential, input: InputDescriptor, metadata: [String: String] = [:]) {
        self.network = network
        self.input = input
        self.metadata = metadata
    }

    /// The safetensors file: tensors in layer order, metadata with architecture, input and checksum.
    public func file() -> SafeTensorsFile {
        var tensors: [TensorEntry] = []
        for (i, layer) in network.layers.enumerated() {
            for p in layer.parameters {
                tensors.append(TensorEntry(name: "\(i).\(p.name)", floats: p.value.scalars, shape: p.value.shape))
            }
            for b in layer.buffers {
                let t = b.get()
                tensors.append(TensorEntry(name: "\(i).\(b.name)", floats: t.scalars, shape: t.shape))
            }
            for c in layer.counters {
                tensors.append(TensorEntry(name: "\(i).\(c.name)", int64: c.get()))
            }
        }
        var meta = metadata
        meta["architecture"] = ArchitectureJSON.encode(network.specs)
        meta["input"] = ArchitectureJSON.encode(input)
        meta["crc32"] = Self.checksum(tensors)
        meta["format"] = "pt"
        return SafeTensorsFile(tensors: tensors, metadata: meta)
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename).
    public func write(to path: String) throws {
        try file().write(to: path)
    }

    /// Reads a checkpoint and rebuilds its network from the metadata alone.
    ///
    /// Throws `SafeTensorsError` for a malformed container and `CheckpointError` naming the file when the
    /// metadata is missing or malformed, the checksum does not match, or the tensors do not fit the architecture.
    public static func read(contentsOf path: String) throws -> Checkpoint {
        try Checkpoint(try SafeTensorsFile.read(contentsOf: path), path: path)
    }

    /// Rebuilds a checkpoint from a parsed file; `path` names it in errors.
    public init(_ file: SafeTensorsFile, path: String) throws {
        guard let architecture = file.metadata["architecture"] else { throw CheckpointError.missingMetadata(path, "architecture") }
        guard let inputText = file.metadata["input"] else { throw CheckpointError.missingMetadata(path, "input") }
        let specs: [LayerSpec], input: InputDescriptor
        do {
            specs = try ArchitectureJSON.decodeLayers(architecture)
            input = try ArchitectureJSON.decodeInput(inputText)
        } catch {
            throw CheckpointError.badMetadata(path, error.reason)
        }
        if let expected = file.metadata["crc32"] {
            let actual = Self.checksum(file.tensors)
            guard expected.lowercased() == actual else { throw CheckpointError.checksumMismatch(path, expected: expected, actual: actual) }
        } else {
            throw CheckpointError.missingMetadata(path, "crc32")
        }
        try Self.checkSizes(specs, input: input, path: path)
        guard !specs.isEmpty, Sequential.validate(specs, input: [1, input.channels, input.height, input.width]) else {
            throw CheckpointError.badMetadata(path, "the architecture does not fit its own input \(input.channels)×\(input.height)×\(input.width)")
        }
        // Check every tensor against the architecture before allocating the network.
        var expectedNames: Set<String> = []
        for (i, spec) in specs.enumerated() {
            for (name, shape) in spec.stateShapes {
                let full = "\(i).\(name)"
                guard let entry = file[full] else { throw CheckpointError.missingTensor(path, full) }
                if name == "num_batches_tracked" {
                    guard entry.dtype == .I64, entry.shape.isEmpty || entry.shape == [1] else {
                        throw CheckpointError.wrongTensor(path, full, "dtype \(entry.dtype.rawValue) shape \(entry.shape), expected an I64 scalar")
                    }
                } else {
                    guard entry.shape == shape else {
                        throw CheckpointError.wrongTensor(path, full, "shape \(entry.shape), the architecture needs \(shape)")
                    }
                    guard entry.dtype == .F32 else {
                        throw CheckpointError.wrongTensor(path, full, "dtype \(entry.dtype.rawValue), expected F32")
                    }
                }
                expectedNames.insert(full)
            }
        }
        if let extra = file.tensors.first(where: { !expectedNames.contains($0.name) }) {
            throw CheckpointError.unexpectedTensor(path, extra.name)
        }
        var generator = RandomGenerator(seed: 0)
        let network = Sequential(specs: specs, generator: &generator)
        for (i, layer) in network.layers.enumerated() {
            for p in layer.parameters {
                p.value = Tensor(shape: p.value.shape, scalars: try Self.floats("\(i).\(p.name)", in: file, path: path))
            }
            for b in layer.buffers {
                b.set(Tensor(shape: b.get().shape, scalars: try Self.floats("\(i).\(b.name)", in: file, path: path)))
            }
            for c in layer.counters {
                if let v = try file["\(i).\(c.name)"]?.int64Scalars().first { c.set(v) }
            }
        }
        // Class names, when there are any, must name each of the network's outputs.
        let outputs = network.outputShape(for: [1, input.channels, input.height, input.width])?.dropFirst().reduce(1, *) ?? 0
        _ = try ClassNames.decode(file.metadata, outputs: outputs, path: path)
        self.init(network: network, input: input, metadata: file.metadata)
    }

    /// The most values one image may have at any layer of a checkpoint's network (input and every output):
    /// 2^24, far beyond any network for MNIST-sized images, and small enough that a few bytes of metadata
    /// cannot make evaluation allocate gigabytes (a padding of 2^24, say).
    public static let maximumValuesPerImage = 1 << 24

    /// Walks the shapes layer by layer with overflow-checked arithmetic, before `Sequential.validate` (which
    /// trusts its numbers) sees them. Throws `badMetadata` naming the layer whose output is too large.
    static func checkSizes(_ specs: [LayerSpec], input: InputDescriptor, path: String) throws {
        func values(_ shape: [Int]) -> Int? {
            var product = 1
            for d in shape.dropFirst() {
                let (next, overflow) = product.multipliedReportingOverflow(by: d)
                guard !overflow, d >= 0, next <= maximumValuesPerImage else { return nil }
                product = next
            }
            return product
        }
        var shape = [1, input.channels, input.height, input.width]
        guard values(shape) != nil else {
            throw CheckpointError.badMetadata(path, "the input \(input.channels)×\(input.height)×\(input.width) has more than \(maximumValuesPerImage) values per image")
        }
        for (i, spec) in specs.enumerated() {
            // Every dimension is at most 2^24 here, and every number in a spec too (ArchitectureJSON), so the
            // output-size formulas cannot overflow.
            guard let next = spec.outputShape(for: shape) else { return }  // reported by Sequential.validate
            guard values(next) != nil else {
                throw CheckpointError.badMetadata(path, "layer \(i) (\(spec.typeName)) would output \(next.dropFirst().map(String.init).joined(separator: "×")) values per image, more than the limit of \(maximumValuesPerImage)")
            }
            shape = next
        }
    }

    private static func floats(_ name: String, in file: SafeTensorsFile, path: String) throws -> [Float] {
        guard let entry = file[name] else { throw CheckpointError.missingTensor(path, name) }
        return try entry.floats()
    }

    /// zlib CRC-32 over the tensors' data in order, as 8 lower-case hex digits.
    static func checksum(_ tensors: [TensorEntry]) -> String {
        var crc: UInt = crc32(0, nil, 0)
        for t in tensors {
            t.data.withUnsafeBufferPointer { crc = crc32(crc, $0.baseAddress, UInt32($0.count)) }
        }
        return String(format: "%08x", UInt32(truncatingIfNeeded: crc))
    }
}

/// What is wrong with a checkpoint whose container parsed.
public enum CheckpointError: Error, LocalizedError, Equatable {
    case missingMetadata(String, String)
    case badMetadata(String, String)
    case checksumMismatch(String, expected: String, actual: String)
    case missingTensor(String, String)
    case wrongTensor(String, String, String)
    case unexpectedTensor(String, String)
    case inputMismatch(String, checkpoint: String, data: String)

    public var errorDescription: String? {
        switch self {
        case let .missingMetadata(f, key):
            return "\(f): no \"\(key)\" in the safetensors metadata; HINT: give a checkpoint written by cnn-train"
        case let .badMetadata(f, why):
            return "\(f): \(why)"
        case let .checksumMismatch(f, e, a):
            return "\(f): tensor data checksum is \(a) but the metadata says \(e); the file is corrupt"
        case let .missingTensor(f, name):
            return "\(f): tensor \"\(name)\" is missing; the tensors do not fit the architecture"
        case let .wrongTensor(f, name, why):
            return "\(f): tensor \"\(name)\" has \(why)"
        case let .unexpectedTensor(f, name):
            return "\(f): tensor \"\(name)\" does not belong to the architecture"
        case let .inputMismatch(f, c, d):
            return "\(f): the checkpoint takes \(c) images but the data has \(d)"
        }
    }
}
