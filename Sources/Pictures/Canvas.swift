//  Canvas.swift
//
//  An RGB raster to draw charts on. Coordinates are in pixels, x to the right and y down, with pixel (x, y)
//  covering the square [x, x+1) × [y, y+1); lines take real coordinates and are anti-aliased by coverage
//  (the distance from each pixel centre to the segment), text is the 5×7 `Font` at an integer scale.

import Images

/// Horizontal placement of text relative to the x it is given.
public enum TextAlignment: Sendable {
    case left, center, right
}

/// An RGB image being drawn.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    /// width · height · 3 bytes, row-major.
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "Canvas: size \(width)×\(height) must be positive")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    /// The colour at (x, y).
    public subscript(x: Int, y: Int) -> RGB {
        let i = (y * width + x) * 3
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// The picture as an RGB bitmap, for `PNG.encode`.
    public var bitmap: Bitmap { Bitmap(width: width, height: height, layout: .rgb, pixels: pixels) }

    /// Lays `color` over pixel (x, y) with opacity `alpha` in [0, 1]; outside the canvas does nothing.
    public mutating func blend(x: Int, y: Int, color: RGB, alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let i = (y * width + x) * 3
        if alpha >= 1 {
            pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b
            return
        }
        func mix(_ old: UInt8, _ new: UInt8) -> UInt8 { UInt8((Double(old) + (Double(new) - Double(old)) * alpha).rounded()) }
        pixels[i] = mix(pixels[i], color.r); pixels[i + 1] = mix(pixels[i + 1], color.g); pixels[i + 2] = mix(pixels[i + 2], color.b)
    }

    /// Fills the rectangle [x, x+width) × [y, y+height), clipped to the canvas.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                var i = (yy * width + x0) * 3
                for _ in x0..<x1 {
                    p[i] = color.r; p[i + 1] = color.g; p[i + 2] = color.b
                    i += 3
                }
            }
        }
    }

    /// A rectangle outline `thickness` pixels wide, inside [x, x+width) × [y, y+height).
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: RGB, thickness: Int = 1) {
        fill(x: x, y: y, width: w, height: thickness, color: color)
        fill(x: x, y: y + h - thickness, width: w, height: thickness, color: color)
        fill(x: x, y: y, width: thickness, height: h, color: color)
        fill(x: x + w - thickness, y: y, width: thickness, height: h, color: color)
    }

    // MARK: Lines

    /// A polyline through `points`, `lineWidth` pixels wide, anti-aliased, optionally dashed: `dash` is
    /// (on, off) lengths in pixels, measured along the whole polyline so dashes run on across corners.
    public mutating func polyline(_ points: [(x: Double, y: Double)], color: RGB, lineWidth: Double = 2,
                                  dash: (on: Double, off: Double)? = nil) {
        guard points.count >= 2 else { return }
        var segments: [((Double, Double), (Double, Double))] = []
        if let dash {
            var phase = 0.0   // distance into the current on+off period
            let period = dash.on + dash.off
            for k in 1..<points.count {
                let (ax, ay) = points[k - 1], (bx, by) = points[k]
                let length = ((bx - ax) * (bx - ax) + (by - ay) * (by - ay)).squareRoot()
                guard length > 0 else { continue }
                var t = 0.0
                while t < length {
                    let inOn = phase < dash.on
                    let step = min(length - t, inOn ? dash.on - phase : period - phase)
                    if inOn {
                        let s0 = t / length, s1 = (t + step) / length
                        segments.append(((ax + (bx - ax) * s0, ay + (by - ay) * s0), (ax + (bx - ax) * s1, ay + (by - ay) * s1)))
                    }
                    t += step
                    phase += step
                    if phase >= period - 1e-9 { phase = 0 }
                }
            }
        } else {
            for k in 1..<points.count { segments.append(((points[k - 1].x, points[k - 1].y), (points[k].x, points[k].y))) }
        }
        stroke(segments, color: color, lineWidth: lineWidth)
    }

    /// A straight anti-aliased line.
    public mutating func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double), color: RGB, lineWidth: Double = 1) {
        stroke([((a.x, a.y), (b.x, b.y))], color: color, lineWidth: lineWidth)
    }

    /// Draws segments as one shape: each pixel takes the largest coverage any segment gives it, so joints
    /// where segments overlap are not darker than the rest of the line.
    private mutating func stroke(_ segments: [((Double, Double), (Double, Double))], color: RGB, lineWidth: Double) {
        guard !segments.isEmpty else { return }
        let r = lineWidth / 2
        var minX = Double.infinity, minY = Double.infinity, maxX = -Double.infinity, maxY = -Double.infinity
        for (a, b) in segments {
            minX = min(minX, a.0, b.0); maxX = max(maxX, a.0, b.0)
            minY = min(minY, a.1, b.1); maxY = max(maxY, a.1, b.1)
        }
        let x0 = max(0, Int((minX - r - 1).rounded(.down))), x1 = min(width - 1, Int((maxX + r + 1).rounded(.up)))
        let y0 = max(0, Int((minY - r - 1).rounded(.down))), y1 = min(height - 1, Int((maxY + r + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let w = x1 - x0 + 1
        var coverage = [Double](repeating: 0, count: w * (y1 - y0 + 1))
        for (a, b) in segments {
            let sx0 = max(x0, Int((min(a.0, b.0) - r - 1).rounded(.down))), sx1 = min(x1, Int((max(a.0, b.0) + r + 1).rounded(.up)))
            let sy0 = max(y0, Int((min(a.1, b.1) - r - 1).rounded(.down))), sy1 = min(y1, Int((max(a.1, b.1) + r + 1).rounded(.up)))
            guard sx0 <= sx1, sy0 <= sy1 else { continue }
            let dx = b.0 - a.0, dy = b.1 - a.1, len2 = dx * dx + dy * dy
            for py in sy0...sy1 {
                for px in sx0...sx1 {
                    let cx = Double(px) + 0.5, cy = Double(py) + 0.5
                    let t = len2 == 0 ? 0 : max(0, min(1, ((cx - a.0) * dx + (cy - a.1) * dy) / len2))
                    let ex = cx - (a.0 + t * dx), ey = cy - (a.1 + t * dy)
                    let c = max(0, min(1, r + 0.5 - (ex * ex + ey * ey).squareRoot()))
                    let k = (py - y0) * w + (px - x0)
                    if c > coverage[k] { coverage[k] = c }
                }
            }
        }
        for py in y0...y1 {
            for px in x0...x1 {
                let c = coverage[(py - y0) * w + (px - x0)]
                if c > 0 { blend(x: px, y: py, color: color, alpha: c) }
            }
        }
    }

    /// A filled anti-aliased disc.
    public mutating func disc(center: (x: Double, y: Double), radius: Double, color: RGB) {
        let x0 = Int((center.x - radius - 1).rounded(.down)), x1 = Int((center.x + radius + 1).rounded(.up))
        let y0 = Int((center.y - radius - 1).rounded(.down)), y1 = Int((center.y + radius + 1).rounded(.up))
        for py in y0...y1 {
            for px in x0...x1 {
                let dx = Double(px) + 0.5 - center.x, dy = Double(py) + 0.5 - center.y
                let c = max(0, min(1, radius + 0.5 - (dx * dx + dy * dy).squareRoot()))
                if c > 0 { blend(x: px, y: py, color: color, alpha: c) }
            }
        }
    }

    // MARK: Text

    /// Draws one line of `text` with the top of its capitals at `y`; `x` is its left edge, centre or right
    /// edge after `alignment`. Returns the width drawn.
    @discardableResult
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 2, color: RGB = .ink,
                              alignment: TextAlignment = .left) -> Int {
        let w = Font.width(of: text, scale: scale)
        var left = x
        switch alignment {
        case .left: break
        case .center: left = x - w / 2
        case .right: left = x - w
        }
        for (i, ch) in text.enumerated() {
            let gx = left + i * Font.advance * scale
            for (cx, cy) in Font.pixels(of: ch) {
                fill(x: gx + cx * scale, y: y + cy * scale, width: scale, height: scale, color: color)
            }
        }
        return w
    }

    /// Draws `text` turned 90° anticlockwise (reading upwards), centred on (x, y): for y-axis titles.
    public mutating func verticalText(_ text: String, centerX x: Int, centerY y: Int, scale: Int = 2, color: RGB = .ink) {
        let w = Font.width(of: text, scale: scale)
        // In the turned frame, the text's left edge is at the bottom and its top at the left.
        let bottom = y + w / 2, left = x - Font.ascent * scale / 2
        for (i, ch) in text.enumerated() {
            let along = i * Font.advance * scale
            for (cx, cy) in Font.pixels(of: ch) {
                fill(x: left + cy * scale, y: bottom - along - (cx + 1) * scale, width: scale, height: scale, color: color)
            }
        }
    }

    // MARK: Images

    /// Draws a gray image (`values` row-major, `columns` wide, 0 black … 1 white) with each value as a
    /// `scale`×`scale` block, top-left at (x, y).
    public mutating func grayImage(_ values: [Double], columns: Int, x: Int, y: Int, scale: Int) {
        let rows = values.count / max(1, columns)
        for r in 0..<rows {
            for c in 0..<columns {
                let v = UInt8((max(0, min(1, values[r * columns + c])) * 255).rounded())
                fill(x: x + c * scale, y: y + r * scale, width: scale, height: scale, color: .gray(v))
            }
        }
    }
}
