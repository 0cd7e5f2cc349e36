//  AugmentationPicture.swift
//
//  Originals beside their warps: one row per image, the original first, then one warp per epoch.

/// A grid of digits: row r is `rows[r][0]` (the original) and its warps `rows[r][1...]`.
public enum AugmentationPicture {
    /// `rows`: per image, row-major intensities in [0, 1] (ink 1) of `height`×`width`; `settings` heads the picture.
    public static func render(_ rows: [[[Double]]], height: Int, width: Int, settings: String) -> Canvas {
        let margin = Header.margin
        let columns = rows.map(\.count).max() ?? 1
        let scale = max(1, 84 / max(height, width))
        let cell = max(height, width) * scale + 12, gap = 24
        let header = Header(title: "Augmentation", lines: [
            settings,
            "each row: the original, then its warp in epochs 1, 2, 3, …",
        ])
        let gridWidth = columns * cell + gap
        let width0 = max(gridWidth, header.width) + 2 * margin
        let top = margin + header.height + 8
        var canvas = Canvas(width: width0, height: top + rows.count * cell + margin)
        header.draw(on: &canvas, top: margin)
        let left = (width0 - gridWidth) / 2
        for (r, images) in rows.enumerated() {
            for (c, values) in images.enumerated() {
                let x = left + c * cell + (c > 0 ? gap : 0), y = top + r * cell
                // Ink dark on white: show 1 − intensity.
                canvas.grayImage(values.map { 1 - $0 }, columns: width, x: x, y: y, scale: scale)
                canvas.strokeRect(x: x - 1, y: y - 1, width: width * scale + 2, height: height * scale + 2,
                                  color: c == 0 ? .ink : .grid)
            }
        }
        return canvas
    }
}
