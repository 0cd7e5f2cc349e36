//  InkComponents.swift
//
//  Connected components of an ink mask (8-connectivity: a pixel touches the 8 around it), labelled by a
//  breadth-first flood from each unlabelled ink pixel in row-major order, so the labels are deterministic.

/// One connected mark of ink: its size and bounding box in working-image pixels.
public struct InkComponent: Equatable, Sendable {
    /// Ink pixels in the component.
    public var pixels: Int
    /// The bounding box: columns x0...x1, rows y0...y1 (inclusive).
    public var x0: Int, y0: Int, x1: Int, y1: Int

    public var width: Int { x1 - x0 + 1 }
    public var height: Int { y1 - y0 + 1 }
}

/// The components of a mask, largest first (ties: the first found), and each pixel's component.
public struct InkComponents: Sendable {
    /// Largest first.
    public let components: [InkComponent]
    /// Per pixel, the index into `components`, or −1 for no ink.
    public let labels: [Int32]

    public init(mask: [Bool], width w: Int, height h: Int) {
        var labels = [Int32](repeating: -1, count: w * h)
        var found: [InkComponent] = []
        var queue: [Int] = []
        for start in 0..<(w * h) where mask[start] && labels[start] < 0 {
            let id = Int32(found.count)
            var c = InkComponent(pixels: 0, x0: start % w, y0: start / w, x1: start % w, y1: start / w)
            labels[start] = id
            queue.removeAll(keepingCapacity: true)
            queue.append(start)
            var head = 0
            while head < queue.count {
                let p = queue[head]; head += 1
                let x = p % w, y = p / w
                c.pixels += 1
                c.x0 = min(c.x0, x); c.x1 = max(c.x1, x); c.y0 = min(c.y0, y); c.y1 = max(c.y1, y)
                for dy in -1...1 {
                    let ny = y + dy
                    guard ny >= 0, ny < h else { continue }
                    for dx in -1...1 {
                        let nx = x + dx
                        guard nx >= 0, nx < w else { continue }
                        let q = ny * w + nx
                        if mask[q] && labels[q] < 0 { labels[q] = id; queue.append(q) }
                    }
                }
            }
            found.append(c)
        }
        // Largest first; relabel to match.
        let order = found.indices.sorted { found[$0].pixels != found[$1].pixels ? found[$0].pixels > found[$1].pixels : $0 < $1 }
        var rank = [Int32](repeating: 0, count: found.count)
        for (r, i) in order.enumerated() { rank[i] = Int32(r) }
        for i in labels.indices where labels[i] >= 0 { labels[i] = rank[Int(labels[i])] }
        self.components = order.map { found[$0] }
        self.labels = labels
    }
}
