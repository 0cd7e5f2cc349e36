//  ConfusionMatrixPicture.swift
//
//  The confusion matrix as a heat map: rows the true class, columns the predicted one, each cell's count
//  written in it and its shade from white (0) to dark blue (the largest count) on a log scale,
//  t = log(1 + count) / log(1 + max), so that single mistakes still show next to a diagonal of a thousand.
//  A column on the right gives each class's recall. Classes are labelled by their names when there are any
//  (the column labels turned to read upwards when a name is wider than a cell), else by their digits.

import Foundation

public enum ConfusionMatrixPicture {
    /// Side of one cell, in pixels.
    public static let cell = 60

    /// The heat map of `confusion` (confusion[true][predicted]: counts); `source` says what was evaluated on
    /// what (e.g. "run/model.safetensors, test set"); `classNames` label the classes (digits when nil).
    public static func render(confusion: [[Int]], source: String, classNames: [String]? = nil) -> Canvas {
        let n = confusion.count
        let labels = (0..<n).map { i in classNames.flatMap { $0.indices.contains(i) ? $0[i] : nil } ?? String(i) }
        let widest = labels.map { Font.width(of: $0, scale: 2) }.max() ?? 0
        let rowLabelWidth = max(2 * Font.advance * 2, widest)
        let upright = widest <= cell - 8
        let columnLabelHeight = upright ? 2 * Font.ascent : widest
        let total = confusion.joined().reduce(0, +)
        let correct = (0..<n).reduce(0) { $0 + confusion[$1][$1] }
        let accuracy = total == 0 ? 0 : Double(correct) / Double(total)
        let cell = Self.cell
        let margin = Header.margin
        let header = Header(title: "Confusion matrix", lines: [
            source + String(format: ": %.2f%% right (%d of %d)", accuracy * 100, correct, total),
            "darker: more images (log scale)",
        ])
        let recallWidth = 110
        let gridWidth = 2 * Font.ascent + 16 + rowLabelWidth + 12 + n * cell + 16 + recallWidth
        let width = max(gridWidth, header.width) + 2 * margin
        let left = (width - gridWidth) / 2 + 2 * Font.ascent + 16 + rowLabelWidth + 12   // axis title, class labels
        let top = margin + header.height + 2 * Font.ascent + 16                                 // header, "recall"
        let height = top + n * cell + 14 + columnLabelHeight + 16 + 2 * Font.ascent + margin
        var canvas = Canvas(width: width, height: height)
        header.draw(on: &canvas, top: margin)

        let largest = confusion.joined().max() ?? 0
        // Recall: the fraction of each true class's images classified correctly (0 when there are none).
        let recall = confusion.enumerated().map { i, row -> Double in
            let count = row.reduce(0, +)
            return count == 0 ? 0 : Double(row[i]) / Double(count)
        }
        for i in 0..<n {
            for j in 0..<n {
                let count = confusion[i][j]
                let x = left + j * cell, y = top + i * cell
                let color = shade(count, largest: largest)
                canvas.fill(x: x, y: y, width: cell, height: cell, color: color)
                if count > 0 {
                    let ink: RGB = color.luminance < 0.5 ? .white : .ink
                    canvas.text(String(count), x: x + cell / 2 + 1, y: y + (cell - 2 * Font.ascent) / 2, scale: 2, color: ink, alignment: .center)
                }
            }
            // Class labels on both axes.
            canvas.text(labels[i], x: left - 12, y: top + i * cell + (cell - 2 * Font.ascent) / 2, scale: 2, alignment: .right)
            if upright {
                canvas.text(labels[i], x: left + i * cell + cell / 2 + 1, y: top + n * cell + 12, scale: 2, alignment: .center)
            } else {
                // Reading upwards, ending just under the grid.
                let w = Font.width(of: labels[i], scale: 2)
                canvas.verticalText(labels[i], centerX: left + i * cell + cell / 2, centerY: top + n * cell + 12 + w / 2, scale: 2)
            }
            canvas.text(String(format: "%.1f%%", recall[i] * 100), x: left + n * cell + 16 + recallWidth - 8,
                        y: top + i * cell + (cell - 2 * Font.ascent) / 2, scale: 2, color: .mutedInk, alignment: .right)
        }
        // Thin white lines between cells, and a frame.
        for k in 1..<max(1, n) {
            canvas.fill(x: left + k * cell, y: top, width: 1, height: n * cell, color: .white)
            canvas.fill(x: left, y: top + k * cell, width: n * cell, height: 1, color: .white)
        }
        canvas.strokeRect(x: left - 1, y: top - 1, width: n * cell + 2, height: n * cell + 2, color: .mutedInk)
        canvas.text("recall", x: left + n * cell + 16 + recallWidth - 8, y: top - 2 * Font.ascent - 8, scale: 2,
                    color: .mutedInk, alignment: .right)
        canvas.text("predicted class", x: left + n * cell / 2, y: top + n * cell + 12 + columnLabelHeight + 14, scale: 2, alignment: .center)
        canvas.verticalText("true class", centerX: (width - gridWidth) / 2 + Font.ascent, centerY: top + n * cell / 2, scale: 2)
        return canvas
    }

    /// The colour of a cell holding `count` when the largest cell holds `largest`.
    public static func shade(_ count: Int, largest: Int) -> RGB {
        guard count > 0, largest > 0 else { return .white }
        return RGB.blues(0.12 + 0.88 * log1p(Double(count)) / log1p(Double(largest)))
    }
}
