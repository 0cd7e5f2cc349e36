//  Ensemble.swift
//
//  Several networks evaluated as one, and test-time augmentation (TTA). For members m = 1…M (which may differ
//  in architecture and normalisation, but share the input shape and the classes) and views v = 1…V (the image
//  itself, or with TTA the image and its fixed shifts), in Double:
//      p̄[n, k] = (1/M) Σ_m (1/V) Σ_v softmax(z_m(view_v(x_n)))[k]
//  The prediction is argmax_k p̄[n, k] (the lower class of equals); the loss is (1/N) Σ_n −log p̄[n, y_n]
//  (p̄ floored at the smallest normal Double, so a certain mistake gives a large finite loss).
//  A view (dx, dy) moves the image dx columns right and dy rows down; the pixels it uncovers are the
//  background (pixel 0, normalised as every pixel is), so a shifted image is bit for bit what normalising the
//  shifted uint8 image gives.

import CNN
import Foundation
import IDX

/// Averaging the probabilities of several networks, and of shifted views of each image.
public enum Ensemble {
    /// A view of the images: moved `dx` columns right and `dy` rows down.
    public struct Shift: Equatable, Sendable {
        public var dx: Int, dy: Int
        public init(dx: Int, dy: Int) { self.dx = dx; self.dy = dy }
        /// The image itself.
        public static let none = Shift(dx: 0, dy: 0)
    }

    /// The views of `--tta`, in this order: the image, then moved one pixel right, left, down and up.
    public static let ttaShifts: [Shift] = [.none, Shift(dx: 1, dy: 0), Shift(dx: -1, dy: 0), Shift(dx: 0, dy: 1), Shift(dx: 0, dy: -1)]

    /// One network of an ensemble and the file it came from.
    public struct Member {
        public var path: String
        public var checkpoint: Checkpoint
        public init(path: String, checkpoint: Checkpoint) { self.path = path; self.checkpoint = checkpoint }

        /// The number of class scores the network gives for its input, nil when the input does not chain.
        public var classes: Int? {
            let i = checkpoint.input
            return checkpoint.network.outputShape(for: [1, i.channels, i.height, i.width])?.last
        }
    }

    /// Each member's figures and the ensemble's.
    public struct Evaluation {
        /// Each member alone, over the same views as the ensemble.
        public var members: [(path: String, result: EvaluationResult)]
        public var ensemble: EvaluationResult
        /// The views every member saw.
        public var shifts: [Shift]
        /// p̄, images × classes, row-major, in data order.
        public var probabilities: [Double]
        /// argmax of each row of `probabilities`.
        public var predictions: [Int]
        /// The class names of the first member that has them (nil: the classes are digits).
        public var classNames: [String]?
    }

    /// Checks that every member takes the first one's input shape and gives its number of classes.
    ///
    /// - Throws: `RunError.badData` naming the first member that does not fit, and why.
    public static func checkCompatible(_ members: [Member]) throws {
        guard let first = members.first else { return }
        func shape(_ m: Member) -> String { "\(m.checkpoint.input.channels)×\(m.checkpoint.input.height)×\(m.checkpoint.input.width)" }
        guard let classes = first.classes else {
            throw RunError.badData(first.path, "its network does not take its own \(shape(first)) input")
        }
        for m in members.dropFirst() {
            guard shape(m) == shape(first) else {
                throw RunError.badData(m.path, "takes \(shape(m)) images, but \(first.path) takes \(shape(first)); the members of an ensemble must take the same input")
            }
            guard let k = m.classes, k == classes else {
                throw RunError.badData(m.path, "gives \(m.classes.map(String.init) ?? "no") class scores, but \(first.path) gives \(classes); the members of an ensemble must have the same classes")
            }
            if let a = first.checkpoint.classNames, let b = m.checkpoint.classNames, a != b {
                throw RunError.badData(m.path, "names its classes \(b.joined(separator: ", ")), but \(first.path) names them \(a.joined(separator: ", ")); the members of an ensemble must have the same classes")
            }
        }
    }

    /// Evaluates every member and the ensemble on `images` (each member normalises them with its own mean
    /// and std), each member over `shifts`.
    ///
    /// - Throws: `RunError.badData` when the members do not fit together, `RunError.inputMismatch` when
    ///   the images are not the members' size.
    public static func evaluate(_ members: [Member], on images: LabeledImages, shifts: [Shift] = [.none],
                                batchSize: Int = 1000) throws -> Evaluation {
        precondition(!members.isEmpty && !shifts.isEmpty, "Ensemble.evaluate: no member or no view")
        try checkCompatible(members)
        let first = members[0].checkpoint.input
        guard first.channels == 1, first.height == images.rows, first.width == images.columns else {
            throw RunError.inputMismatch(checkpoint: members[0].path, expected: "\(first.channels)×\(first.height)×\(first.width)",
                                         data: "1×\(images.rows)×\(images.columns)")
        }
        let classes = members[0].classes ?? 0
        let labels = images.labels.map(Int.init)
        if let y = labels.first(where: { $0 >= classes }) {
            throw RunError.badData(members[0].path, "gives \(classes) class scores, but the data has label \(y)")
        }
        var sum = [Double](repeating: 0, count: images.count * classes)
        var results: [(path: String, result: EvaluationResult)] = []
        for m in members {
            let data = Dataset(images, mean: m.checkpoint.input.mean, std: m.checkpoint.input.std)
            let p = probabilities(m.checkpoint.network, on: data, shifts: shifts, batchSize: batchSize)
            for i in sum.indices { sum[i] += p[i] }
            results.append((m.path, result(p, labels: labels, classes: classes)))
        }
        let scale = 1 / Double(members.count)
        let mean = sum.map { $0 * scale }
        return Evaluation(members: results, ensemble: result(mean, labels: labels, classes: classes), shifts: shifts,
                          probabilities: mean, predictions: predictions(mean, classes: classes),
                          classNames: members.lazy.compactMap(\.checkpoint.classNames).first)
    }

    /// softmax(z(view(x))) averaged over `shifts` for every image of `dataset`: count × classes, row-major.
    public static func probabilities(_ network: Sequential, on dataset: Dataset, shifts: [Shift] = [.none],
                                     batchSize: Int = 1000) -> [Double] {
        var x = Tensor<Float>(shape: [0]), y: [Int] = []
        var out: [Double] = []
        var start = 0
        while start < dataset.count {
            let end = min(dataset.count, start + batchSize)
            dataset.batch(start..<end, into: &x, labels: &y)
            var sum: [Double] = []
            for view in shifts {
                let z = network.forward(view == .none ? x : shifted(x, by: view, background: dataset.shift), mode: .evaluation)
                let classes = z.count / (end - start)
                if sum.isEmpty { sum = [Double](repeating: 0, count: z.count) }
                for b in 0..<(end - start) {
                    let p = Inference.softmax(z.scalars[(b * classes)..<((b + 1) * classes)])
                    for k in 0..<classes { sum[b * classes + k] += p[k] }
                }
            }
            let scale = 1 / Double(shifts.count)
            out += sum.map { $0 * scale }
            start = end
        }
        return out
    }

    /// `x` (B, C, H, W) moved `view.dx` columns right and `view.dy` rows down:
    /// out[b, c, i, j] = x[b, c, i − dy, j − dx] where that is inside the image, else `background`.
    public static func shifted(_ x: Tensor<Float>, by view: Shift, background: Float) -> Tensor<Float> {
        let (H, W) = (x.shape[2], x.shape[3]), planes = x.shape[0] * x.shape[1]
        var out = Tensor<Float>(shape: x.shape, repeating: background)
        out.scalars.withUnsafeMutableBufferPointer { o in
            x.scalars.withUnsafeBufferPointer { s in
                for p in 0..<planes {
                    for i in max(0, view.dy)..<max(max(0, view.dy), min(H, H + view.dy)) {
                        for j in max(0, view.dx)..<max(max(0, view.dx), min(W, W + view.dx)) {
                            o[(p * H + i) * W + j] = s[(p * H + i - view.dy) * W + j - view.dx]
                        }
                    }
                }
            }
        }
        return out
    }

    /// argmax of each row (the lower class of equals).
    public static func predictions(_ probabilities: [Double], classes: Int) -> [Int] {
        guard classes > 0 else { return [] }
        return (0..<(probabilities.count / classes)).map { n in
            var best = 0
            for k in 1..<classes where probabilities[n * classes + k] > probabilities[n * classes + best] { best = k }
            return best
        }
    }

    /// Accuracy, loss and confusion matrix of probabilities (images × classes) against `labels`.
    public static func result(_ probabilities: [Double], labels: [Int], classes: Int) -> EvaluationResult {
        var confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        var correct = 0, loss = 0.0
        for (n, predicted) in predictions(probabilities, classes: classes).enumerated() {
            let y = labels[n]
            confusion[y][predicted] += 1
            if predicted == y { correct += 1 }
            loss -= log(max(probabilities[n * classes + y], Double.leastNormalMagnitude))
        }
        return EvaluationResult(total: labels.count, correct: correct,
                                loss: labels.isEmpty ? 0 : loss / Double(labels.count), confusion: confusion)
    }
}
