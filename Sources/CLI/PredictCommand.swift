//  PredictCommand.swift
//
//  cnn-predict CHECKPOINT IMAGE...: classify pictures of single digits (PNG, JPEG, PGM or PPM, any size, dark on
//  light or light on dark), after the MNIST-style preprocessing of `Training.DigitPreprocessor`.

import ArgumentParser
import BuildInfo
import CNN
import Foundation
import Images
import Pictures
import Training

/// `cnn-predict`: the top classes of each image, as text or JSON.
public struct PredictCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-predict",
        abstract: "Classify pictures of handwritten digits (PNG, JPEG, PGM or PPM) with a checkpoint.",
        discussion: """
        Each image is turned into what the network was trained on: gray (alpha over white), inverted when \
        the digit is dark on light paper, cropped to the ink, scaled to fit 20×20 keeping its aspect ratio, \
        centred by its centre of mass in 28×28 (or the checkpoint's size), normalised with the checkpoint's \
        mean and std. --show prints that input. An image that cannot be read gets one line on standard error, \
        the others are still classified, and the exit status is 65.
        """,
        version: BuildInfo.versionLine(tool: "cnn-predict"))

    @Argument(help: "A .safetensors checkpoint written by cnn-train, or a run directory (its best model).")
    public var checkpoint: String

    @Argument(help: "Images of single digits: PNG (any colour type and depth), JPEG (EXIF orientation applied), PGM or PPM.")
    public var images: [String] = []

    @Flag(name: .long, help: "Print one JSON object with an entry per image.")
    public var json = false

    @Option(name: .long, help: "How many classes to list per image.")
    public var top = 3

    @Flag(name: .long, help: "Also print the preprocessed input of each image as text art.")
    public var show = false

    public init() {}

    /// Like ArgumentParser's, but every error is one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-predict") }

    public func validate() throws {
        if images.isEmpty { throw ValidationError("<images>: missing argument; HINT: give at least one image, e.g. \(invocation(of: "cnn-predict")) runs/x/model.safetensors digit.png") }
        if top < 1 || top > 100 { throw ValidationError("--top must be between 1 and 100 (got \(top))") }
    }

    public func run() throws {
        let model: Checkpoint
        do {
            model = try Checkpoint.read(contentsOf: try ModelPath.resolve(checkpoint))
            guard model.input.channels == 1 else {
                throw InferenceError.notGrayscale(checkpoint: checkpoint, channels: model.input.channels)
            }
        } catch {
            throw report(error, command: "cnn-predict")
        }
        let results = Self.predict(model, files: images)
        for r in results {
            if case let .failure(message) = r.outcome {
                FileHandle.standardError.write(Data("cnn-predict: error: \(message)\n".utf8))
            }
        }
        do {
            print(json ? try Self.json(results, checkpoint: checkpoint, top: top) : Self.text(results, top: top, show: show, input: model.input))
        } catch {
            throw report(error, command: "cnn-predict")
        }
        if results.contains(where: { if case .failure = $0.outcome { return true } else { return false } }) {
            throw ExitCode(ExitStatus.dataError.rawValue)
        }
    }

    /// What became of one image.
    public struct Result {
        public enum Outcome {
            /// Class probabilities, and the preprocessed intensities (H·W in [0, 1]) the network saw.
            case success(probabilities: [Double], intensities: [Double])
            /// One line saying what is wrong with the file.
            case failure(String)
        }
        public var file: String
        public var outcome: Outcome
    }

    /// Reads, preprocesses and classifies every file; one that fails does not stop the others.
    public static func predict(_ model: Checkpoint, files: [String]) -> [Result] {
        let preprocessor = DigitPreprocessor(input: model.input)
        var results: [Result] = []
        var inputs: [Float] = [], ready: [Int] = []
        for file in files {
            do {
                let bitmap = try ImageFile.read(contentsOf: file)
                let values = try preprocessor.intensities(of: bitmap, file: file)
                inputs += values.map { Float(($0 - model.input.mean) / model.input.std) }
                ready.append(results.count)
                results.append(Result(file: file, outcome: .success(probabilities: [], intensities: values)))
            } catch {
                let message = (error as? LocalizedError)?.errorDescription ?? "\(file): \(error)"
                results.append(Result(file: file, outcome: .failure(message)))
            }
        }
        let probabilities = Inference.probabilities(network: model.network, images: inputs, count: ready.count, input: model.input)
        for (k, i) in ready.enumerated() {
            if case let .success(_, values) = results[i].outcome {
                results[i].outcome = .success(probabilities: probabilities[k], intensities: values)
            }
        }
        return results
    }

    /// One line per image: the file, then the top classes with their probabilities.
    public static func text(_ results: [Result], top: Int, show: Bool = false, input: InputDescriptor = InputDescriptor()) -> String {
        let nameWidth = results.map(\.file.count).max() ?? 0
        var lines: [String] = []
        for r in results {
            guard case let .success(p, values) = r.outcome else { continue }
            let name = r.file.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let best = Inference.top(p, top).map { String(format: "%d %6.2f%%", $0.label, $0.probability * 100) }
            lines.append(name + "   " + best.joined(separator: "    "))
            if show { lines.append(art(values, width: input.width)) }
        }
        return lines.joined(separator: "\n")
    }

    /// The intensities as text, two characters per pixel so the digit keeps its shape.
    static func art(_ values: [Double], width: Int) -> String {
        let ramp = Array(" .:-=+*#%@")
        var rows: [String] = []
        for y in 0..<(values.count / width) {
            rows.append("    |" + (0..<width).map { x -> String in
                let c = ramp[min(ramp.count - 1, Int(values[y * width + x] * Double(ramp.count - 1) + 0.5))]
                return String(repeating: c, count: 2)
            }.joined() + "|")
        }
        return rows.joined(separator: "\n")
    }

    /// What `--json` prints: {"checkpoint": ..., "images": [{"file", "top": [{"class", "probability"}], "probabilities"} or {"file", "error"}]}.
    struct JSONReport: Encodable {
        struct Guess: Encodable {
            var label: Int, probability: Double
            enum CodingKeys: String, CodingKey { case label = "class", probability }
        }
        struct Image: Encodable {
            var file: String
            var top: [Guess]?
            var probabilities: [Double]?
            var error: String?
        }
        var checkpoint: String
        var images: [Image]
    }

    /// One JSON object (see `JSONReport`), written by JSONEncoder.
    public static func json(_ results: [Result], checkpoint: String, top: Int) throws -> String {
        let images = results.map { r -> JSONReport.Image in
            switch r.outcome {
            case let .success(p, _):
                return JSONReport.Image(file: r.file, top: Inference.top(p, top).map { JSONReport.Guess(label: $0.label, probability: $0.probability) },
                                        probabilities: p)
            case let .failure(message):
                return JSONReport.Image(file: r.file, error: message)
            }
        }
        return try jsonText(JSONReport(checkpoint: checkpoint, images: images))
    }
}
