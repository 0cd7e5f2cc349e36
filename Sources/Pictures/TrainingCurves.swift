//  TrainingCurves.swift
//
//  Loss and accuracy per epoch of one or more runs, overlaid: two panels side by side (loss left, accuracy
//  right), train dashed with hollow markers, test solid with filled ones, one colour per run, and a legend
//  below the panels naming each run (its directory) with its last test accuracy. A run that logged steps
//  (steps.jsonl) also gets its training loss and accuracy every few steps as a thin, lighter line drawn
//  under the epoch points, so even a one-epoch run is a curve.

import Foundation

/// One epoch's figures as the chart draws them: losses and accuracies (fractions in [0, 1]) after `epoch`.
public struct CurvePoint: Sendable, Equatable {
    public var epoch: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double

    public init(epoch: Double, trainLoss: Double, trainAccuracy: Double, testLoss: Double, testAccuracy: Double) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss; self.testAccuracy = testAccuracy
    }
}

/// The training figures logged after some step, placed at `epoch` (fractional: step / steps per epoch).
public struct StepPoint: Sendable, Equatable {
    public var epoch: Double
    public var loss: Double
    public var accuracy: Double

    public init(epoch: Double, loss: Double, accuracy: Double) {
        self.epoch = epoch; self.loss = loss; self.accuracy = accuracy
    }
}

/// One run's epochs, its logged steps (empty when it has none) and the name the legend gives it.
public struct CurveRun: Sendable {
    public var name: String
    public var rows: [CurvePoint]
    public var steps: [StepPoint]

    public init(name: String, rows: [CurvePoint], steps: [StepPoint] = []) {
        self.name = name
        self.rows = rows
        self.steps = steps
    }
}

public enum TrainingCurves {
    /// The two-panel chart, `width` pixels wide.
    public static func render(_ runs: [CurveRun], width: Int = 1200) -> Canvas {
        let margin = 24, gap = 40
        let titleHeight = 3 * Font.ascent + 20
        let panelWidth = (width - 2 * margin - gap) / 2
        let plotHeight = 330
        let panelHeight = 34 + plotHeight + 70   // panel title, plot, tick labels and x-axis title

        // Legend: a style key, then one entry per run, wrapped into rows.
        let entries = runs.map { run -> String in
            guard let last = run.rows.last(where: { $0.testAccuracy.isFinite }) else { return run.name }
            return run.name + String(format: "  (test %.2f%%)", last.testAccuracy * 100)
        }
        let sample = 40, entryGap = 36
        var legendRows: [[Int]] = [[]]
        var rowWidth = 0
        for (i, e) in entries.enumerated() {
            let w = sample + 10 + Font.width(of: e, scale: 2)
            if rowWidth > 0 && rowWidth + entryGap + w > width - 2 * margin {
                legendRows.append([])
                rowWidth = 0
            }
            legendRows[legendRows.count - 1].append(i)
            rowWidth += (rowWidth > 0 ? entryGap : 0) + w
        }
        let legendRowHeight = 30
        let height = margin + titleHeight + panelHeight + 16 + (legendRows.count + 1) * legendRowHeight + margin

        var canvas = Canvas(width: width, height: height)
        let title = runs.count == 1 ? "Training curves: \(runs[0].name)" : "Training curves: \(runs.count) runs"
        canvas.text(title, x: width / 2, y: margin, scale: 3, alignment: .center)

        let epochs = runs.flatMap { $0.rows.map(\.epoch) + $0.steps.map(\.epoch) }
        // Whole epochs, about one tick per 70 pixels, and never more ticks than epochs.
        let (firstEpoch, lastEpoch) = (epochs.min() ?? 1, epochs.max() ?? 1)
        let xAxis = Axis(covering: firstEpoch, lastEpoch, count: max(2, min((panelWidth - 100) / 70, Int(lastEpoch - firstEpoch))),
                         integers: true)
        let markers = (runs.flatMap { $0.rows.map(\.epoch) }.max() ?? 0) <= 30
        let hasSteps = runs.contains { !$0.steps.isEmpty }

        let losses = runs.flatMap { $0.rows.flatMap { [$0.trainLoss, $0.testLoss] } + $0.steps.map(\.loss) }.filter(\.isFinite)
        let lossAxis = Axis(covering: 0, losses.max() ?? 1, count: 5)
        let accuracies = runs.flatMap { $0.rows.flatMap { [$0.trainAccuracy * 100, $0.testAccuracy * 100] } + $0.steps.map { $0.accuracy * 100 } }
            .filter(\.isFinite)
        var accuracyAxis = Axis(covering: accuracies.min() ?? 0, accuracies.max() ?? 100, count: 5)
        if accuracyAxis.upper > 100 {
            accuracyAxis.upper = 100
            accuracyAxis.ticks.removeAll { $0 > 100 }
        }

        let top = margin + titleHeight
        for (panel, (name, axis, pick, pickStep)) in [
            ("Loss", lossAxis, { (m: CurvePoint, train: Bool) in train ? m.trainLoss : m.testLoss }, { (s: StepPoint) in s.loss }),
            ("Accuracy", accuracyAxis, { (m: CurvePoint, train: Bool) in (train ? m.trainAccuracy : m.testAccuracy) * 100 },
             { (s: StepPoint) in s.accuracy * 100 }),
        ].enumerated() {
            let left = margin + panel * (panelWidth + gap)
            // The step lines first, so the epoch lines and markers are drawn over them.
            let stepSeries = runs.enumerated().map { i, run in
                Series(points: run.steps.map { ($0.epoch, pickStep($0)) }.filter { $0.1.isFinite },
                       color: Self.stepColor(RGB.palette[i % RGB.palette.count]), dashed: false, thin: true)
            }
            let series = stepSeries + runs.enumerated().flatMap { i, run in
                [true, false].map { train in
                    Series(points: run.rows.map { ($0.epoch, pick($0, train)) }.filter { $0.1.isFinite },
                           color: RGB.palette[i % RGB.palette.count], dashed: train)
                }
            }
            drawPanel(on: &canvas, x: left, y: top, width: panelWidth, plotHeight: plotHeight, title: name,
                      yTitle: panel == 0 ? "cross-entropy loss" : "accuracy (%)", xAxis: xAxis, yAxis: axis, series: series, markers: markers)
        }

        // Legend, centred under the panels.
        var y = top + panelHeight + 16
        let stepKey = "train, logged steps"
        let keyWidth = 2 * sample + 20 + Font.width(of: "train", scale: 2) + Font.width(of: "test", scale: 2) + entryGap
            + (hasSteps ? sample + 10 + Font.width(of: stepKey, scale: 2) + entryGap : 0)
        var x = (width - keyWidth) / 2
        drawSample(on: &canvas, x: x, y: y + 7, width: sample, color: .mutedInk, dashed: true, markers: markers)
        x += sample + 10
        x += canvas.text("train", x: x, y: y, color: .mutedInk) + entryGap
        drawSample(on: &canvas, x: x, y: y + 7, width: sample, color: .mutedInk, dashed: false, markers: markers)
        x += sample + 10
        x += canvas.text("test", x: x, y: y, color: .mutedInk) + entryGap
        if hasSteps {
            canvas.polyline([(x: Double(x), y: Double(y + 7) + 0.5), (x: Double(x + sample), y: Double(y + 7) + 0.5)],
                            color: Self.stepColor(.mutedInk), lineWidth: Self.stepLineWidth)
            x += sample + 10
            canvas.text(stepKey, x: x, y: y, color: .mutedInk)
        }
        y += legendRowHeight
        for row in legendRows {
            let total = row.map { sample + 10 + Font.width(of: entries[$0], scale: 2) }.reduce(0, +) + max(0, row.count - 1) * entryGap
            var x = (width - total) / 2
            for i in row {
                let color = RGB.palette[i % RGB.palette.count]
                canvas.fill(x: x, y: y + 6, width: sample, height: 4, color: color)
                x += sample + 10
                x += canvas.text(entries[i], x: x, y: y) + entryGap
            }
            y += legendRowHeight
        }
        return canvas
    }

    struct Series {
        var points: [(Double, Double)]
        var color: RGB
        var dashed: Bool
        /// A step line: thinner, without markers.
        var thin = false
    }

    static let stepLineWidth = 1.5

    /// A run's colour lightened for its step line, which stays visible under the epoch line and its markers.
    static func stepColor(_ color: RGB) -> RGB { color.mixed(with: .white, 0.5) }

    /// One panel: title, grid, axes with ticks and labels, then the series.
    static func drawPanel(on canvas: inout Canvas, x: Int, y: Int, width: Int, plotHeight: Int, title: String,
                          yTitle: String, xAxis: Axis, yAxis: Axis, series: [Series], markers: Bool) {
        let labelWidth = yAxis.ticks.map { Font.width(of: yAxis.label($0), scale: 2) }.max() ?? 0
        let plotLeft = x + 2 * Font.ascent + 14 + labelWidth + 10
        let plotTop = y + 34
        let plotRight = x + width - 10, plotBottom = plotTop + plotHeight
        canvas.text(title, x: (plotLeft + plotRight) / 2, y: y, scale: 2, alignment: .center)
        canvas.text(title, x: (plotLeft + plotRight) / 2 + 1, y: y, scale: 2, alignment: .center)   // bold

        func px(_ v: Double) -> Double { xAxis.position(v, from: Double(plotLeft) + 12, to: Double(plotRight) - 12) }
        func py(_ v: Double) -> Double { yAxis.position(v, from: Double(plotBottom), to: Double(plotTop)) }

        for t in yAxis.ticks {
            let yy = Int(py(t).rounded())
            canvas.fill(x: plotLeft, y: yy, width: plotRight - plotLeft, height: 1, color: .grid)
            canvas.fill(x: plotLeft - 6, y: yy, width: 6, height: 1, color: .ink)
            canvas.text(yAxis.label(t), x: plotLeft - 10, y: yy - Font.ascent, scale: 2, color: .mutedInk, alignment: .right)
        }
        for t in xAxis.ticks {
            let xx = Int(px(t).rounded())
            canvas.fill(x: xx, y: plotTop, width: 1, height: plotHeight, color: .grid)
            canvas.fill(x: xx, y: plotBottom, width: 1, height: 6, color: .ink)
            canvas.text(xAxis.label(t), x: xx + 1, y: plotBottom + 12, scale: 2, color: .mutedInk, alignment: .center)
        }
        canvas.fill(x: plotLeft, y: plotTop, width: 1, height: plotHeight + 1, color: .ink)
        canvas.fill(x: plotLeft, y: plotBottom, width: plotRight - plotLeft, height: 1, color: .ink)
        canvas.text("epoch", x: (plotLeft + plotRight) / 2, y: plotBottom + 40, scale: 2, alignment: .center)
        canvas.verticalText(yTitle, centerX: x + Font.ascent, centerY: (plotTop + plotBottom) / 2, scale: 2)

        for s in series {
            let points = s.points.map { (x: px($0.0), y: py($0.1)) }
            canvas.polyline(points, color: s.color, lineWidth: s.thin ? stepLineWidth : 2.5, dash: s.dashed ? (on: 9, off: 6) : nil)
            if markers && !s.thin { for p in points { drawMarker(on: &canvas, at: p, color: s.color, hollow: s.dashed) } }
        }
    }

    static func drawMarker(on canvas: inout Canvas, at p: (x: Double, y: Double), color: RGB, hollow: Bool) {
        canvas.disc(center: p, radius: 5, color: color)
        if hollow { canvas.disc(center: p, radius: 2.5, color: .white) }
    }

    static func drawSample(on canvas: inout Canvas, x: Int, y: Int, width: Int, color: RGB, dashed: Bool, markers: Bool) {
        let a = (x: Double(x), y: Double(y) + 0.5), b = (x: Double(x + width), y: Double(y) + 0.5)
        canvas.polyline([a, b], color: color, lineWidth: 2.5, dash: dashed ? (on: 9, off: 6) : nil)
        if markers { drawMarker(on: &canvas, at: (x: Double(x + width / 2), y: Double(y) + 0.5), color: color, hollow: dashed) }
    }
}
