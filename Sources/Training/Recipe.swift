//  Recipe.swift
//
//  Named bundles of settings for `cnn-train --recipe NAME`. A recipe starts from `TrainingConfiguration()`
//  (the no-flag run) and changes what it lists; flags given on the command line then override it, and
//  config.json records the result. Adding a recipe is adding one entry to `Recipe.all`.

import Foundation

/// A named, documented bundle of training settings.
public struct Recipe: Sendable {
    public let name: String
    /// One line for `--list-recipes`: what the recipe is for.
    public let summary: String
    /// Changes the no-flag settings into the recipe's.
    public let settings: @Sendable (inout TrainingConfiguration) -> Void

    public init(name: String, summary: String, settings: @escaping @Sendable (inout TrainingConfiguration) -> Void) {
        self.name = name
        self.summary = summary
        self.settings = settings
    }

    /// Every recipe, `default` first.
    public static let all: [Recipe] = [
        Recipe(name: "default", summary: "the no-flag run: the default BN net, SGD with momentum, cosine, 3 epochs") { _ in },
        Recipe(name: "record",
               summary: "the best single model: a 5-convolution BN net in 3 stages, AdamW with one-cycle, shifts, rotations and scaling, label smoothing, 16 epochs") { c in
            c.arch = Architecture.specString(for: "record")
            c.optimizer = .adamw
            c.lr = 3e-3
            c.weightDecay = 0.05
            c.schedule = .onecycle
            c.pctStart = 0.2
            c.epochs = 16
            c.batchSize = 128
            c.shift = 2
            c.rotate = 10
            c.scale = 0.1
            c.labelSmoothing = 0.1
        },
        Recipe(name: "speedrun",
               summary: "99% as fast as possible: two direct-path convolutions, batch norm after the pooling, Adam (0.7, 0.9) with one-cycle, 1 epoch") { c in
            speedrun(&c)
            c.epochs = 1
        },
        Recipe(name: "speedrun-long",
               summary: "99.5% as fast as possible: the speedrun recipe with shifts, rotations and scaling and label smoothing, 6 epochs") { c in
            speedrun(&c)
            c.epochs = 6
            c.shift = 2
            c.rotate = 8
            c.scale = 0.08
            c.labelSmoothing = 0.1
        },
    ]

    /// The speedrun recipes' settings but the epochs: Adam with β = (0.7, 0.9) and no weight decay, one-cycle to a
    /// peak of 0.01 without cycling β₁, batch 128.
    static func speedrun(_ c: inout TrainingConfiguration) {
        c.arch = speedrunArchitecture
        c.optimizer = .adam
        c.lr = 0.01
        c.momentum = 0.7
        c.beta2 = 0.9
        c.weightDecay = 0
        c.schedule = .onecycle
        c.cycleMomentum = false
        c.batchSize = 128
    }

    /// The `speedrun` preset: both convolutions take at most 8 channels, so each runs as the direct convolution
    /// with its ReLU and pooling fused; batch norm comes after the pooling, on a quarter of the values.
    static let speedrunArchitecture = Architecture.specString(for: "speedrun")

    /// The recipe called `name` (case-insensitive), or nil.
    public static func named(_ name: String) -> Recipe? {
        all.first { $0.name.lowercased() == name.lowercased() }
    }

    /// The recipe's settings: the no-flag ones with this recipe's changes.
    public var configuration: TrainingConfiguration {
        var c = TrainingConfiguration()
        settings(&c)
        c.recipe = name
        return c
    }

    /// The settings this recipe changes, as (config.json key, value) pairs in key order: what `--list-recipes` shows.
    public var changes: [(key: String, value: String)] {
        let base = Self.flatten(TrainingConfiguration()), mine = Self.flatten(configuration)
        return mine.keys.sorted().compactMap { key in
            key == "recipe" || mine[key] == base[key] ? nil : (key, mine[key] ?? "none")
        }
    }

    /// A configuration as config.json's keys and their JSON values.
    static func flatten(_ c: TrainingConfiguration) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(c),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        for (key, value) in object {
            if let v = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
                out[key] = String(decoding: v, as: UTF8.self)
            }
        }
        return out
    }

    /// Every recipe with its summary and changes, as `--list-recipes` prints them.
    public static var listing: String {
        all.map { r in
            let changes = r.changes.map { "    \($0.key) = \($0.value)" }
            return (["\(r.name): \(r.summary)"] + (changes.isEmpty ? ["    (the defaults)"] : changes)).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
