//  Header.swift
//
//  The block of text at the top of every picture: a title at 3×, then lines of explanation at 2×, centred.

/// A title and the lines under it.
struct Header {
    var title: String
    var lines: [String]

    static let margin = 24

    /// From the top of the title to the first pixel below the header, including a gap.
    var height: Int { 3 * Font.ascent + 16 + lines.count * 2 * Font.lineHeight + 14 }

    /// The widest line, in pixels.
    var width: Int { max(Font.width(of: title, scale: 3), lines.map { Font.width(of: $0, scale: 2) }.max() ?? 0) }

    /// Draws the header centred on a canvas, its title's top at `top`.
    func draw(on canvas: inout Canvas, top: Int) {
        canvas.text(title, x: canvas.width / 2, y: top, scale: 3, alignment: .center)
        for (i, line) in lines.enumerated() {
            canvas.text(line, x: canvas.width / 2, y: top + 3 * Font.ascent + 16 + i * 2 * Font.lineHeight, scale: 2,
                        color: .mutedInk, alignment: .center)
        }
    }
}
