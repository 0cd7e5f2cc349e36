//  PredictCommand.swift
//
//  cnn-predict CHECKPOINT IMAGE-OR-FOLDER...: classify pictures of single digits or read written numbers (PNG,
//  JPEG, PGM or PPM, any size, dark on light or light on dark), after the MNIST-style preprocessing of
//  `Training.DigitPreprocessor`, saying when an answer is doubtful (`Training.DigitReader`).

import ArgumentParser
import BuildInfo
import CNN
import Foundation
import Images
import Pictures
import Training

/// `cnn-predict`: the top classes of each image, as text, JSON or CSV, with a word when an image is probably
/// not one digit.
public struct PredictCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cnn-predict",
        abstract: "Classify pictures of handwritten digits (PNG, JPEG, PGM or PPM) with a checkpoint.",
        discussion: """
        Each image is turned into what the network was trained on: the background levelled (uneven light, \
        shadows), the ink found by Otsu's threshold, the largest mark taken for the digit, thin strokes \
        thickened, scaled to fit 20×20, centred by its centre of mass in 28×28 (or the checkpoint's size). \
        JPEGs are turned upright by their EXIF orientation. An answer is marked uncertain, with the reason, \
        when there is no or little ink, when the ink barely stands out from the paper's grain, when other \
        marks of similar size are there, when the strokes are far longer than a digit's (a scribble), or \
        when the top probability is below --min-confidence. A FOLDER stands for the images in it. An image that cannot \
        be read gets one line on standard error, the others are still classified, and the exit status is 65.
        """,
        version: BuildInfo.versionLine(tool: "cnn-predict"))

    @Argument(help: "A .safetensors checkpoint written by cnn-train, or a run directory (its best model).")
    public var checkpoint: String

    @Argument(help: ArgumentHelp("Images (PNG of any colour type and depth, JPEG, PGM or PPM) or folders of them.", valueName: "image-or-folder"))
    public var images: [String] = []

    @Flag(name: .long, help: "Print one JSON object with an entry per image.")
    public var json = false

    @Flag(name: .long, help: "Print CSV: file,prediction,probability,uncertain,reasons,error.")
    public var csv = false

    @Option(name: .long, help: "How many classes to list per image.")
    public var top = 3

    @Option(name: .long, help: "Below this top probability (0 to 1) an answer is marked uncertain.")
    public var minConfidence = 0.8

    @Flag(name: .long, help: "Read a written number: split the marks, classify each left to right, print the digits.")
    public var number = false

    @Flag(name: .long, help: "Also print the preprocessed input of each image as text art.")
    public var show = false

    public init() {}

    /// Like ArgumentParser's, but every error is one line (see `runMain`).
    public static func main() { runMain(Self.self, name: "cnn-predict") }

    public func validate() throws {
        if images.isEmpty { throw ValidationError("<images>: missing argument; HINT: give at least one image, e.g. \(invocation(of: "cnn-predict")) runs/x/model.safetensors digit.png") }
        if top < 1 || top > 100 { throw ValidationError("--top must be between 1 and 100 (got \(top))") }
        if !(0...1).contains(minConfidence) { throw ValidationError("--min-confidence must be between 0 and 1 (got \(minConfidence))") }
        if json && csv { throw ValidationError("--json and --csv cannot be given together") }
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
        var failed = false
        var files: [String] = []
        for path in images {
            do { files += try Self.expand(path) } catch {
                failed = true
                FileHandle.standardError.write(Data("cnn-predict: error: \((error as? LocalizedError)?.errorDescription ?? "\(error)")\n".utf8))
            }
        }
        let results = Self.predict(model, files: files, number: number, minConfidence: minConfidence)
        for r in results {
            if case let .failure(message) = r.outcome {
                FileHandle.standardError.write(Data("cnn-predict: error: \(message)\n".utf8))
                failed = true
            }
        }
        do {
            let names = model.classNames
            if json {
                print(try Self.json(results, checkpoint: checkpoint, top: top, names: names))
            } else if csv {
                print(Self.csv(results, names: names), terminator: "")
            } else {
                let text = Self.text(results, top: top, show: show, input: model.input, names: names)
                if !text.isEmpty { print(text) }
            }
        } catch {
            throw report(error, command: "cnn-predict")
        }
        if failed { throw ExitCode(ExitStatus.dataError.rawValue) }
    }

    /// The image files a path stands for: itself, or for a folder the files in it whose names end in .png,
    /// .jpg, .jpeg, .pgm or .ppm (any case), sorted by name.
    public static func expand(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw ImageError.unreadable(file: path, reason: "cannot list the folder")
        }
        let extensions: Set<String> = ["png", "jpg", "jpeg", "pgm", "ppm"]
        let found = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !found.isEmpty else { throw ImageError.unreadable(file: path, reason: "the folder holds no .png, .jpg, .jpeg, .pgm or .ppm file") }
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return found.map { prefix + $0 }
    }

    /// What became of one image.
    public struct Result {
        public enum Outcome {
            /// The network's answer, with what it saw and any reason to doubt it.
            case success(DigitReading)
            /// One line saying what is wrong with the file.
            case failure(String)
        }
        public var file: String
        public var outcome: Outcome
    }

    /// Reads, preprocesses and classifies every file; one that fails does not stop the others.
    public static func predict(_ model: Checkpoint, files: [String], number: Bool = false, minConfidence: Double = 0.8) -> [Result] {
        let reader = DigitReader(model, minConfidence: minConfidence)
        var results: [Result] = []
        var bitmaps: [Bitmap] = [], ready: [Int] = []
        // In groups, so that a folder of phone photos is never all in memory at once.
        func flush() {
            for (k, reading) in reader.read(bitmaps, number: number).enumerated() { results[ready[k]].outcome = .success(reading) }
            bitmaps.removeAll(); ready.removeAll()
        }
        for file in files {
            do {
                bitmaps.append(try ImageFile.read(contentsOf: file))
                ready.append(results.count)
                results.append(Result(file: file, outcome: .failure("")))
                if bitmaps.count == 16 { flush() }
            } catch {
                let message = (error as? LocalizedError)?.errorDescription ?? "\(file): \(error)"
                results.append(Result(file: file, outcome: .failure(message)))
            }
        }
        flush()
        return results
    }

    /// One line per image: the file, then the top classes with their probabilities (or the number read),
    /// then "uncertain: " and the reasons when there are any. A class is given by its name when the checkpoint
    /// has `names`, by its digit otherwise; a number read (`--number`) is always digits.
    public static func text(_ results: [Result], top: Int, show: Bool = false, input: InputDescriptor = InputDescriptor(),
                            names: [String]? = nil) -> String {
        let nameWidth = results.map(\.file.count).max() ?? 0
        var lines: [String] = []
        for r in results {
            guard case let .success(reading) = r.outcome else { continue }
            let name = r.file.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            var line = name + "   "
            if reading.probabilities.count == 1, let p = reading.probabilities.first {
                line += Inference.top(p, top).map { ClassNames.label($0.label, in: names) + String(format: " %6.2f%%", $0.probability * 100) }
                    .joined(separator: "    ")
            } else if reading.probabilities.isEmpty {
                line += "-"
            } else {
                line += "number \(reading.number)   (" + reading.probabilities.map { p in
                    let best = Inference.top(p, 1)[0]
                    return String(format: "%d %.1f%%", best.label, best.probability * 100)
                }.joined(separator: ", ") + ")"
            }
            if reading.uncertain { line += "   uncertain: " + reading.doubts.map(\.detail).joined(separator: "; ") }
            lines.append(line)
            if show { lines += reading.intensities.map { art($0, width: input.width) } }
        }
        return lines.joined(separator: "\n")
    }

    /// CSV with a header: file, prediction (the digit, or the number's digits), probability (of the digit;
    /// the lowest of a number's), uncertain (true/false), reasons (their names, separated by "; "), error. With
    /// `names`, the prediction of a single image is its class's name.
    public static func csv(_ results: [Result], names: [String]? = nil) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = "file,prediction,probability,uncertain,reasons,error\n"
        for r in results {
            switch r.outcome {
            case let .success(reading):
                let p = reading.probabilities.map { Inference.top($0, 1)[0].probability }.min()
                let single = reading.probabilities.count == 1 ? reading.probabilities.first.map { Inference.top($0, 1)[0].label } : nil
                let prediction = single.map { ClassNames.label($0, in: names) } ?? reading.number
                out += [field(r.file), field(prediction), p.map { String(format: "%.6f", $0) } ?? "",
                        reading.uncertain ? "true" : "false", field(reading.doubts.map(\.doubt.rawValue).joined(separator: "; ")), ""]
                    .joined(separator: ",") + "\n"
            case let .failure(message):
                out += [field(r.file), "", "", "", "", field(message)].joined(separator: ",") + "\n"
            }
        }
        return out
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

    /// What `--json` prints: {"checkpoint", "images": [...]}; per image {"file", "prediction", "probability",
    /// "top": [{"class", "probability"}], "probabilities", "uncertain", "reasons": [{"reason", "detail"}]}, with
    /// "number" and "digits" ({"class", "probability"} each) instead of the single-digit fields for a number
    /// of several digits, no prediction with no ink, or {"file", "error"}.
    struct JSONReport: Encodable {
        struct Guess: Encodable {
            var label: Int, probability: Double
            /// The class's name, when the checkpoint has names.
            var name: String? = nil
            enum CodingKeys: String, CodingKey { case label = "class", probability, name }
        }
        struct Reason: Encodable {
            var reason: String, detail: String
        }
        struct Image: Encodable {
            var file: String
            var prediction: Int?
            /// The predicted class's name, when the checkpoint has names.
            var predictionName: String?
            var probability: Double?
            var top: [Guess]?
            var probabilities: [Double]?
            var number: String?
            var digits: [Guess]?
            var uncertain: Bool?
            var reasons: [Reason]?
            var error: String?
            enum CodingKeys: String, CodingKey {
                case file, prediction, predictionName = "prediction_name", probability, top, probabilities, number, digits
                case uncertain, reasons, error
            }
        }
        var checkpoint: String
        var images: [Image]
    }

    /// One JSON object (see `JSONReport`), written by JSONEncoder.
    public static func json(_ results: [Result], checkpoint: String, top: Int, names: [String]? = nil) throws -> String {
        let images = results.map { r -> JSONReport.Image in
            switch r.outcome {
            case let .success(reading):
                var image = JSONReport.Image(file: r.file, uncertain: reading.uncertain,
                                             reasons: reading.doubts.map { JSONReport.Reason(reason: $0.doubt.rawValue, detail: $0.detail) })
                if reading.probabilities.count == 1, let p = reading.probabilities.first {
                    let best = Inference.top(p, top)
                    image.prediction = best[0].label
                    image.predictionName = names.map { ClassNames.label(best[0].label, in: $0) }
                    image.probability = best[0].probability
                    image.top = best.map { g in
                        JSONReport.Guess(label: g.label, probability: g.probability, name: names.map { ClassNames.label(g.label, in: $0) })
                    }
                    image.probabilities = p
                } else if !reading.probabilities.isEmpty {
                    image.number = reading.number
                    image.digits = reading.probabilities.map { p in
                        let best = Inference.top(p, 1)[0]
                        return JSONReport.Guess(label: best.label, probability: best.probability)
                    }
                }
                return image
            case let .failure(message):
                return JSONReport.Image(file: r.file, error: message)
            }
        }
        return try jsonText(JSONReport(checkpoint: checkpoint, images: images))
    }
}
