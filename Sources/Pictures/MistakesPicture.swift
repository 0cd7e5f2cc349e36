//  MistakesPicture.swift
//
//  The test digits a network gets wrong with the most confidence, in a grid: each digit enlarged, dark ink
//  on white as on paper, labelled "true → predicted (p)" with p the probability given to the prediction, the
//  classes by their names when there are any, else by their digits.

import Foundation

/// One misclassified digit as the grid shows it.
public struct MistakeTile: Sendable, Equatable {
    public var truth: Int
    public var predicted: Int
    /// The probability the network gave `predicted`.
    public var probability: Double
    /// height · width intensities in [0, 1] (0 background, 1 ink), row-major.
    public var intensities: [Double]
    public var height: Int
    public var width: Int

    public init(truth: Int, predicted: Int, probability: Double, intensities: [Double], height: Int, width: Int) {
        self.truth = truth; self.predicted = predicted; self.probability = probability
        self.intensities = intensities; self.height = height; self.width = width
    }
}

public enum MistakesPicture {
    /// The grid, `columns` wide (default: about square), headed by `source` (e.g. "run/model.safetensors, test
    /// set") and how many of the `total` images are wrong; `classNames` label the classes (digits when nil).
    public static func render(_ mistakes: [MistakeTile], wrong: Int, total: Int, source: String, columns: Int? = nil,
                              classNames: [String]? = nil) -> Canvas {
        func name(_ k: Int) -> String { classNames.flatMap { $0.indices.contains(k) ? $0[k] : nil } ?? String(k) }
        let widestLabel = mistakes.map { Font.width(of: "\(name($0.truth)) → \(name($0.predicted)) (0.00)", scale: 2) }.max() ?? 0
        let margin = Header.margin
        let columns = max(1, columns ?? Int(Double(max(1, mistakes.count)).squareRoot().rounded(.up)))
        let rows = max(1, (mistakes.count + columns - 1) / columns)
        let side = mistakes.first.map { max($0.width, $0.height) } ?? 28
        let scale = max(1, 112 / side)
        let cellWidth = max(side * scale, Font.width(of: "0 → 0 (0.00)", scale: 2), widestLabel) + 24
        let cellHeight = side * scale + 2 * Font.ascent + 26
        let header = Header(title: "Most confident mistakes", lines: mistakes.isEmpty ? [source + ": no mistakes in \(total) images"] : [
            source + ": the \(mistakes.count) surest of \(wrong) mistakes in \(total) images",
            "true → predicted (the probability the network gave its prediction)",
        ])
        let width = max(columns * cellWidth, header.width) + 2 * margin
        let height = margin + header.height + 8 + rows * cellHeight + margin - 10
        var canvas = Canvas(width: width, height: height)
        header.draw(on: &canvas, top: margin)

        let gridLeft = (width - columns * cellWidth) / 2
        for (k, m) in mistakes.enumerated() {
            let cx = gridLeft + (k % columns) * cellWidth, cy = margin + header.height + 8 + (k / columns) * cellHeight
            let ix = cx + (cellWidth - m.width * scale) / 2
            // Ink dark on white: show 1 − intensity.
            canvas.grayImage(m.intensities.map { 1 - $0 }, columns: m.width, x: ix, y: cy, scale: scale)
            canvas.strokeRect(x: ix - 1, y: cy - 1, width: m.width * scale + 2, height: m.height * scale + 2, color: .grid)
            let head = "\(name(m.truth)) → ", tail = String(format: " (%.2f)", m.probability)
            let label = head + name(m.predicted) + tail
            var x = cx + (cellWidth - Font.width(of: label, scale: 2)) / 2
            let y = cy + m.height * scale + 10
            // Three pieces in three colours, each starting where the previous one's characters end.
            canvas.text(head, x: x, y: y, scale: 2, color: .ink)
            x += head.count * Font.advance * 2
            canvas.text(name(m.predicted), x: x, y: y, scale: 2, color: .red)
            x += name(m.predicted).count * Font.advance * 2
            canvas.text(tail, x: x, y: y, scale: 2, color: .mutedInk)
        }
        return canvas
    }
}
