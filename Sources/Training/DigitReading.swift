//  DigitReading.swift
//
//  What a network says about a picture, with an honest word when the picture is probably not one digit:
//    no ink         no mark stands out from the levelled background, or the digit's marks are faint (the 90th
//                   percentile of their levelled ink under 0.2: paper texture, not a pen)
//    little ink     the digit's marks span less than 3% of the picture's longer side
//    several marks  another mark, not part of the digit, has at least 40% of the digit's ink
//    low confidence the most probable class has less than `minConfidence`
//    weak ink       the digit's ink stands out from the paper by less than 9 times the paper's grain: the
//                   median levelled ink of its marks over the standard deviation of the levelled paper (the
//                   pixels not taken for ink); specks of grain and shadow rather than a pen
//    unlike a digit the strokes are longer than 3.5 times the digit's side: boundary pixels / 2 over the
//                   longer side of the marks' box, at working resolution, which a pen's width does not change;
//                   none of MNIST's first 5,000 training digits (enlarged 8×, bicubic) exceed 3.3 (99.9% are
//                   under 3.03); digits enlarged by repeating pixels read longer (staircase edges, up to 3.2)
//  and, for a written number, the digits left to right (`DigitPreprocessor.digitsLeftToRight`).

import Foundation
import Images

/// Why a reading may be wrong.
public enum Doubt: String, CaseIterable, Sendable {
    case noInk = "no_ink", littleInk = "little_ink", severalMarks = "several_marks", lowConfidence = "low_confidence"
    case weakInk = "weak_ink", unlikeADigit = "unlike_a_digit"
}

/// A network's answer about one picture.
public struct DigitReading: Sendable {
    /// Class probabilities of the digit (of each digit for a number, left to right); empty with no ink.
    public var probabilities: [[Double]]
    /// What the network saw: H·W intensities in [0, 1] per digit.
    public var intensities: [[Double]]
    /// The reasons to doubt the answer, each with a sentence saying what was seen; empty when none.
    public var doubts: [(doubt: Doubt, detail: String)]

    /// Whether the picture is probably not what was asked for (one digit, or a number).
    public var uncertain: Bool { !doubts.isEmpty }
    /// The most probable class of each digit.
    public var digits: [Int] { probabilities.map { Inference.top($0, 1).first?.label ?? 0 } }
    /// The digits as one string ("42"); "" with no ink.
    public var number: String { digits.map(String.init).joined() }
}

/// Reads pictures of digits with a checkpoint's network.
public struct DigitReader {
    public let checkpoint: Checkpoint
    public var preprocessor: DigitPreprocessor
    /// Below this top probability a digit is doubted.
    public var minConfidence: Double

    /// Fractions behind the doubts (see the file header).
    public static let littleInkSide = 0.03, similarMark = 0.4, faintInk = 0.2
    /// The ratios behind `weak ink` and `unlike a digit` (see the file header), chosen on a photo_digits.py set
    /// of another seed than the one reported (scripts/README.md).
    public static let weakInkToGrain = 9.0, strokeLengthToSide = 3.5

    public init(_ checkpoint: Checkpoint, minConfidence: Double = 0.8) {
        self.checkpoint = checkpoint
        self.preprocessor = DigitPreprocessor(input: checkpoint.input)
        self.minConfidence = minConfidence
    }

    /// Reads `bitmaps` (each one digit, or with `number` a written number), in one batch through the network.
    public func read(_ bitmaps: [Bitmap], number: Bool = false) -> [DigitReading] {
        var readings: [DigitReading] = []
        var inputs: [Float] = []
        let input = checkpoint.input
        for bitmap in bitmaps {
            let analysis = preprocessor.analyse(bitmap)
            var doubts: [(Doubt, String)] = []
            let rendered: [[Double]]
            if number {
                rendered = preprocessor.digitsLeftToRight(analysis)
            } else {
                rendered = preprocessor.render(analysis, marks: analysis.digit).map { [$0] } ?? []
            }
            if rendered.isEmpty {
                doubts.append((.noInk, "no ink stands out from the background"))
            } else {
                let side = analysis.digit.map { i -> Int in
                    let c = analysis.marks.components[i]
                    return max(c.width, c.height)
                }.max() ?? 0
                let fraction = Double(side) / Double(max(analysis.levels.width, analysis.levels.height))
                var ink = analysis.levels.levelled.indices.filter { analysis.digit.contains(Int(analysis.marks.labels[$0])) }
                    .map { analysis.levels.levelled[$0] }
                let contrast = InkLevels.quantile(&ink, 0.9)
                if contrast < Self.faintInk {
                    doubts.append((.noInk, String(format: "the marks are faint (contrast %.0f%%): paper texture rather than ink", contrast * 100)))
                } else {
                    let ratio = InkLevels.quantile(&ink, 0.5) / max(1e-9, analysis.levels.paperGrain)
                    if ratio < Self.weakInkToGrain {
                        doubts.append((.weakInk, String(format: "the ink stands out from the paper only %.1f times as much as its grain (under %.0f): grain or shadow rather than a pen", ratio, Self.weakInkToGrain)))
                    }
                    if fraction < Self.littleInkSide {
                        doubts.append((.littleInk, String(format: "the ink spans only %.1f%% of the picture", fraction * 100)))
                    }
                }
                if !number {
                    let others = analysis.otherMarks(atLeast: Self.similarMark)
                    if !others.isEmpty {
                        doubts.append((.severalMarks, "\(others.count + 1) separate marks of similar size; it may be more than one digit, or not a digit"))
                    }
                    let length = analysis.strokeLength(of: analysis.digit)
                    if contrast >= Self.faintInk && length > Self.strokeLengthToSide {
                        doubts.append((.unlikeADigit, String(format: "the strokes are %.1f times as long as the mark is high or wide (a digit's are at most %.1f): a scribble or writing rather than a digit", length, Self.strokeLengthToSide)))
                    }
                }
            }
            for values in rendered { inputs += values.map { Float(($0 - input.mean) / input.std) } }
            readings.append(DigitReading(probabilities: [], intensities: rendered, doubts: doubts))
        }
        let count = readings.reduce(0) { $0 + $1.intensities.count }
        var all = Inference.probabilities(network: checkpoint.network, images: inputs, count: count, input: input)[...]
        for k in readings.indices {
            readings[k].probabilities = Array(all.prefix(readings[k].intensities.count))
            all = all.dropFirst(readings[k].intensities.count)
            let low = readings[k].probabilities.enumerated().filter { (Inference.top($0.element, 1).first?.probability ?? 0) < minConfidence }
            if !low.isEmpty {
                let detail = number
                    ? "digit \(low.map { String($0.offset + 1) }.joined(separator: ", ")) below \(Int((minConfidence * 100).rounded()))% confidence"
                    : String(format: "the most probable class has only %.1f%% (below %.0f%%)", (Inference.top(low[0].element, 1).first?.probability ?? 0) * 100, minConfidence * 100)
                readings[k].doubts.append((.lowConfidence, detail))
            }
        }
        return readings
    }
}
