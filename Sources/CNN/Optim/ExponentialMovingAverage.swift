//  ExponentialMovingAverage.swift
//
//  An exponential moving average of a network's weights, updated after every optimizer step with decay d:
//      s ← d·s + (1 − d)·p          for every parameter p and every buffer (batch norm's running mean and variance)
//  s starts as the network's initial values. Batch-norm statistics are averaged like the weights (as
//  torch.optim.swa_utils.AveragedModel with use_buffers=True and timm's ModelEmaV2 do), so the averaged network
//  normalises with statistics averaged over the same steps as its weights; num_batches_tracked is copied.

/// A shadow network holding the moving average of another's parameters and buffers.
public final class ExponentialMovingAverage {
    public let decay: Float
    /// The averaged network: same layers as the source, evaluated and saved like any network.
    public let network: Sequential
    private let source: Sequential

    /// A shadow of `source` with `decay` in (0, 1); `shadow` must have the same specs (it is overwritten).
    public init(of source: Sequential, shadow: Sequential, decay: Float) {
        precondition(decay > 0 && decay < 1, "EMA decay \(decay) outside (0, 1)")
        precondition(source.specs == shadow.specs, "EMA shadow of another architecture")
        self.decay = decay
        self.source = source
        self.network = shadow
        for (s, p) in zip(shadow.parameters, source.parameters) { s.value = p.value }
        for (a, b) in zip(shadow.layers, source.layers) {
            for (x, y) in zip(a.buffers, b.buffers) { x.set(y.get()) }
        }
        copyCounts()
    }

    /// s ← d·s + (1 − d)·p for every parameter and buffer.
    public func update() {
        let d = decay, e = 1 - decay
        for (s, p) in zip(network.parameters, source.parameters) {
            Self.blend(&s.value, p.value, d, e)
        }
        for (a, b) in zip(network.layers, source.layers) {
            for (x, y) in zip(a.buffers, b.buffers) {
                var t = x.get()
                Self.blend(&t, y.get(), d, e)
                x.set(t)
            }
        }
        copyCounts()
    }

    private func copyCounts() {
        // The layers' named counters (batch norm's num_batches_tracked), by position: both networks are
        // built from the same specs.
        for (a, b) in zip(network.layers, source.layers) {
            for (x, y) in zip(a.counters, b.counters) { x.set(y.get()) }
        }
    }

    private static func blend(_ s: inout Tensor<Float>, _ p: Tensor<Float>, _ d: Float, _ e: Float) {
        s.scalars.withUnsafeMutableBufferPointer { sb in
            p.scalars.withUnsafeBufferPointer { pb in
                for i in 0..<sb.count { sb[i] = d * sb[i] + e * pb[i] }
            }
        }
    }

    /// The averaged values by checkpoint name ("<layer>.<name>", parameters then buffers per layer), for the
    /// training state.
    public var state: [NamedTensor] {
        var out: [NamedTensor] = []
        for (i, layer) in network.layers.enumerated() {
            for p in layer.parameters { out.append(("\(i).\(p.name)", p.value)) }
            for b in layer.buffers { out.append(("\(i).\(b.name)", b.get())) }
        }
        return out
    }

    /// Restores `state` as `self.state` returned it; throws naming the first tensor that does not fit.
    public func restore(_ saved: [NamedTensor]) throws {
        var byName: [String: Tensor<Float>] = [:]
        for (name, t) in saved { byName[name] = t }
        let current = state
        for (name, t) in current {
            guard let found = byName[name] else { throw OptimizerStateError.missing(name) }
            guard found.shape == t.shape else { throw OptimizerStateError.wrongShape(name, found: found.shape, expected: t.shape) }
        }
        if let extra = saved.first(where: { name, _ in !current.contains { $0.name == name } }) {
            throw OptimizerStateError.unexpected(extra.name)
        }
        for (i, layer) in network.layers.enumerated() {
            for p in layer.parameters { p.value = byName["\(i).\(p.name)"]! }
            for b in layer.buffers { b.set(byName["\(i).\(b.name)"]!) }
        }
        copyCounts()
    }
}
