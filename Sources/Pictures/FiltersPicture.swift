//  FiltersPicture.swift
//
//  The first convolution layer's filters, weight (F, C, HH, WW), as a grid of small gray tiles: each
//  filter is scaled on its own from its smallest weight (black) to its largest (white), so the pattern
//  shows whatever its magnitude. With C > 1 input channels a filter's channels sit side by side.

import Foundation

public enum FiltersPicture {
    /// The grid of `weight` (F, C, HH, WW, row-major, of the given `shape`), headed by `source` (e.g. the
    /// checkpoint's name).
    public static func render(weight: [Float], shape: [Int], source: String) -> Canvas {
        precondition(shape.count == 4 && shape.reduce(1, *) == weight.count,
                     "FiltersPicture: weight must be (F, C, HH, WW), got \(weight.count) values of shape \(shape)")
        let (f, c, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
        let margin = Header.margin
        // Tiles about 120 pixels wide for a few filters, 64 for many.
        let scale = max(3, (f <= 16 ? 120 : 64) / max(kh, kw * c))
        let tileWidth = c * kw * scale + (c - 1) * 4, tileHeight = kh * scale
        let labelWidth = Font.width(of: String(max(0, f - 1)), scale: 2)
        let cellWidth = max(tileWidth, labelWidth) + 20, cellHeight = tileHeight + 2 * Font.ascent + 22
        // One row for up to 8 filters, otherwise a grid a little wider than tall.
        let columns = f <= 8 ? f : min(f, Int(Double(f).squareRoot().rounded(.up)) + 2)
        let rows = (f + columns - 1) / columns
        let header = Header(title: "First convolution layer", lines: [
            "\(source): \(f) filters of \(c)×\(kh)×\(kw)" + (c > 1 ? " (input channels side by side)" : ""),
            "each scaled from its smallest weight (black) to its largest (white)",
        ])
        let width = max(columns * cellWidth, header.width) + 2 * margin
        let height = margin + header.height + 8 + rows * cellHeight + margin - 10
        var canvas = Canvas(width: width, height: height)
        header.draw(on: &canvas, top: margin)

        let gridLeft = (width - columns * cellWidth) / 2
        let size = c * kh * kw
        for k in 0..<f {
            let w = weight[(k * size)..<((k + 1) * size)].map(Double.init)
            let lo = w.min() ?? 0, hi = w.max() ?? 1
            let span = hi - lo > 1e-12 ? hi - lo : 1
            let x = gridLeft + (k % columns) * cellWidth + (cellWidth - tileWidth) / 2
            let y = margin + header.height + 8 + (k / columns) * cellHeight
            for ch in 0..<c {
                let values = (0..<(kh * kw)).map { (w[ch * kh * kw + $0] - lo) / span }
                canvas.grayImage(values, columns: kw, x: x + ch * (kw * scale + 4), y: y, scale: scale)
            }
            canvas.strokeRect(x: x - 1, y: y - 1, width: tileWidth + 2, height: tileHeight + 2, color: .grid)
            canvas.text(String(k), x: x + tileWidth / 2 + 1, y: y + tileHeight + 10, scale: 2, color: .mutedInk, alignment: .center)
        }
        return canvas
    }
}
