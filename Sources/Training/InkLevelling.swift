//  InkLevelling.swift
//
//  From a photo or scan to "how much ink is here", robust to uneven light. Legend: W×H the working image
//  (the picture area-averaged so its longer side is at most `maxSide`), v[i] in [0, 1] per pixel, row-major.
//
//    gray       g = (0.299 R + 0.587 G + 0.114 B) / 255, alpha laid over white paper
//    polarity   the median of the outermost ring of pixels above 0.6: dark ink on light paper, v = 1 − g;
//               below 0.4: light ink, v = g; in between (a shadow across the edge), from the residuals
//               r = g − box(g, R): dark ink when the strongest dark ones (99.5th percentile of −r) beat the light
//    level      B = the local background: the mean of v over the (2R+1)² box around each pixel, counting only
//               pixels taken neither for ink by a first Otsu threshold of v − box(v, R) (and above 0.05) nor
//               for something lighter than the paper by one of box(v, R) − v (and above 0.05: a table, a
//               corner a rotation filled, whose edge would otherwise leave a false mark on the paper beside
//               it), dilated by 2 px; where a box holds no background pixel, the median background. L = max(0, v − B) / max(ε, 1 − B):
//               for dark ink on paper that is 1 − g / background, the division by a large blur
//    binarise   ink = L > Otsu(L), and L ≥ 0.1 (faint texture never counts as ink); the paper's grain is the
//               standard deviation of L over the rest
//  R = max(3, max(W, H) / 4): far larger than a stroke; a shadow is smooth over it.

import Images

/// The levelled ink of a picture at working resolution, and its ink mask.
public struct InkLevels: Sendable {
    /// W and H of the working image.
    public let width: Int, height: Int
    /// L per pixel: 0 paper, 1 the strongest ink, after levelling the background.
    public let levelled: [Double]
    /// Whether each pixel is ink (L above the Otsu threshold).
    public let mask: [Bool]
    /// The Otsu threshold of L.
    public let threshold: Double
    /// Whether the picture was dark ink on light paper (and so inverted).
    public let inverted: Bool
    /// The paper's grain: the standard deviation of L over the pixels not taken for ink (0 with none).
    public let paperGrain: Double

    /// The largest side of the working image: larger pictures are area-averaged down to it first.
    public static let maxSide = 800

    /// Levels `bitmap`; see the file header for the steps.
    public init(_ bitmap: Bitmap) {
        var (g, w, h) = (Self.gray(of: bitmap), bitmap.width, bitmap.height)
        if max(w, h) > Self.maxSide {
            let s = Double(Self.maxSide) / Double(max(w, h))
            let nw = max(1, Int((Double(w) * s).rounded())), nh = max(1, Int((Double(h) * s).rounded()))
            g = DigitPreprocessor.resample(g, width: w, height: h, toWidth: nw, toHeight: nh)
            (w, h) = (nw, nh)
        }
        let radius = max(3, max(w, h) / 4)
        // Polarity from the residuals against a plain blur.
        let blurred = Self.boxMean(g, width: w, height: h, radius: radius, weights: nil)
        var dark: [Double] = [], light: [Double] = []
        dark.reserveCapacity(g.count); light.reserveCapacity(g.count)
        for i in g.indices { dark.append(blurred[i] - g[i]); light.append(g[i] - blurred[i]) }
        let border = Self.borderMedian(g, width: w, height: h)
        let inverted = border > 0.6 ? true : border < 0.4 ? false : Self.quantile(dark, 0.995) > Self.quantile(light, 0.995)
        let v = inverted ? g.map { 1 - $0 } : g
        // First ink guess: Otsu of v against its plain blur, dilated, then the background around it.
        let vBlur = inverted ? blurred.map { 1 - $0 } : blurred
        let first = zip(v, vBlur).map { max(0, $0 - $1) }, lighter = zip(v, vBlur).map { max(0, $1 - $0) }
        let t1 = Self.otsu(first), tLight = max(0.05, Self.otsu(lighter))
        let guess = Self.dilate(zip(first, lighter).map { ($0 > t1 && $0 > 0.05) || $1 > tLight }, width: w, height: h, radius: 2)
        let weights = guess.map { $0 ? 0.0 : 1.0 }
        var paper = zip(v, guess).compactMap { $1 ? nil : $0 }
        let fallback = paper.isEmpty ? 0 : Self.quantile(&paper, 0.5)
        let background = Self.boxMean(v, width: w, height: h, radius: radius, weights: weights, fallback: fallback)
        let levelled = zip(v, background).map { max(0, $0 - $1) / max(1e-3, 1 - $1) }
        let t = max(0.1, Self.otsu(levelled))
        self.width = w
        self.height = h
        self.levelled = levelled
        self.threshold = t
        self.mask = levelled.map { $0 > t }
        self.inverted = inverted
        var n = 0.0, sum = 0.0, squares = 0.0
        for x in levelled where x <= t { n += 1; sum += x; squares += x * x }
        self.paperGrain = n > 0 ? max(0, squares / n - (sum / n) * (sum / n)).squareRoot() : 0
    }

    /// The median of the outermost ring of pixels (all pixels when the image is under 3 wide or high).
    public static func borderMedian(_ v: [Double], width w: Int, height h: Int) -> Double {
        var ring: [Double] = []
        if w < 3 || h < 3 {
            ring = v
        } else {
            for x in 0..<w { ring.append(v[x]); ring.append(v[(h - 1) * w + x]) }
            for y in 1..<(h - 1) { ring.append(v[y * w]); ring.append(v[y * w + w - 1]) }
        }
        return quantile(&ring, 0.5)
    }

    /// Luma in [0, 1] (0 black), with alpha laid over white.
    public static func gray(of bitmap: Bitmap) -> [Double] {
        let c = bitmap.layout.channels, n = bitmap.width * bitmap.height
        var out = [Double](repeating: 0, count: n)
        bitmap.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let o = i * c
                let luma: Double
                switch bitmap.layout {
                case .gray, .grayAlpha: luma = Double(p[o])
                case .rgb, .rgba: luma = 0.299 * Double(p[o]) + 0.587 * Double(p[o + 1]) + 0.114 * Double(p[o + 2])
                }
                let alpha = bitmap.layout.hasAlpha ? Double(p[o + c - 1]) / 255 : 1
                out[i] = (luma * alpha + 255 * (1 - alpha)) / 255
            }
        }
        return out
    }

    /// Per pixel, the weighted mean of `v` over the (2r+1)² box around it (clipped at the edges), with
    /// `weights` (nil: all 1); `fallback` where the weights in the box sum to 0. Two summed-area tables.
    static func boxMean(_ v: [Double], width w: Int, height h: Int, radius r: Int, weights: [Double]?, fallback: Double = 0) -> [Double] {
        let sw = w + 1
        var sum = [Double](repeating: 0, count: sw * (h + 1)), count = sum
        for y in 0..<h {
            var rowSum = 0.0, rowCount = 0.0
            for x in 0..<w {
                let weight = weights?[y * w + x] ?? 1
                rowSum += v[y * w + x] * weight
                rowCount += weight
                sum[(y + 1) * sw + x + 1] = sum[y * sw + x + 1] + rowSum
                count[(y + 1) * sw + x + 1] = count[y * sw + x + 1] + rowCount
            }
        }
        var out = [Double](repeating: 0, count: w * h)
        for y in 0..<h {
            let y0 = max(0, y - r), y1 = min(h, y + r + 1)
            for x in 0..<w {
                let x0 = max(0, x - r), x1 = min(w, x + r + 1)
                let s = sum[y1 * sw + x1] - sum[y0 * sw + x1] - sum[y1 * sw + x0] + sum[y0 * sw + x0]
                let c = count[y1 * sw + x1] - count[y0 * sw + x1] - count[y1 * sw + x0] + count[y0 * sw + x0]
                out[y * w + x] = c > 0.5 ? s / c : fallback
            }
        }
        return out
    }

    /// The mask grown by a (2r+1)² square: a pixel is set when any pixel within r (each axis) is.
    public static func dilate(_ m: [Bool], width w: Int, height h: Int, radius r: Int) -> [Bool] {
        guard r > 0 else { return m }
        var rows = [Bool](repeating: false, count: m.count)
        for y in 0..<h {
            var last = -r - 1                   // the last set pixel seen to the left, as an index
            for x in 0..<w {
                if m[y * w + x] { last = x }
                if x - last <= r { rows[y * w + x] = true }
            }
            last = w + r + 1
            for x in stride(from: w - 1, through: 0, by: -1) {
                if m[y * w + x] { last = x }
                if last - x <= r { rows[y * w + x] = true }
            }
        }
        var out = rows
        for x in 0..<w {
            var last = -r - 1
            for y in 0..<h {
                if rows[y * w + x] { last = y }
                if y - last <= r { out[y * w + x] = true }
            }
            last = h + r + 1
            for y in stride(from: h - 1, through: 0, by: -1) {
                if rows[y * w + x] { last = y }
                if last - y <= r { out[y * w + x] = true }
            }
        }
        return out
    }

    /// Otsu's threshold over [0, 1] in 256 bins: the t that maximises the between-class variance
    /// ω₀ω₁(μ₀ − μ₁)² of the values below and above it.
    public static func otsu(_ v: [Double]) -> Double {
        var histogram = [Double](repeating: 0, count: 256)
        for x in v { histogram[min(255, max(0, Int(x * 255)))] += 1 }
        let total = Double(v.count)
        guard total > 0 else { return 0.5 }
        let sumAll = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
        var w0 = 0.0, sum0 = 0.0, best = 0.0, threshold = 0
        for t in 0..<255 {
            w0 += histogram[t]
            sum0 += Double(t) * histogram[t]
            let w1 = total - w0
            guard w0 > 0, w1 > 0 else { continue }
            let m0 = sum0 / w0, m1 = (sumAll - sum0) / w1
            let between = w0 * w1 * (m0 - m1) * (m0 - m1)
            if between > best { best = between; threshold = t }
        }
        return (Double(threshold) + 1) / 255
    }

    /// The q-quantile (0...1) of `v`, the rank rounded up (so a high q of a few values is their largest); 0
    /// for no values.
    static func quantile(_ v: [Double], _ q: Double) -> Double {
        var copy = v
        return quantile(&copy, q)
    }

    static func quantile(_ v: inout [Double], _ q: Double) -> Double {
        guard !v.isEmpty else { return 0 }
        v.sort()
        return v[min(v.count - 1, max(0, Int((q * Double(v.count - 1)).rounded(.up))))]
    }
}
