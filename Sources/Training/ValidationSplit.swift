//  ValidationSplit.swift
//
//  Holding out N training images for choosing (the best epoch, --target-accuracy), stratified by class and
//  drawn from the seed. The test set is never part of it.
//
//  For classes c with n_c images among T: the quota q_c is ⌊N·n_c/T⌋, and the N − Σ q_c images left over go one
//  each to the classes with the largest remainders N·n_c mod T (ties to the smaller class). Each class's image
//  indices are shuffled (Fisher–Yates) by one generator seeded from the run's seed, class by class in order, and
//  the first q_c are held out. Both parts keep the file's order.

import CNN

/// Which training images are held out for validation.
public struct ValidationSplit: Equatable, Sendable {
    /// Indices into the training file's images (after --limit), ascending.
    public let validation: [Int]
    /// The rest, ascending.
    public let training: [Int]

    /// Holds out `count` of the images with these `labels` (0 < count < labels.count), stratified, from `seed`.
    public init(labels: [Int], count: Int, seed: UInt64, classes: Int = 10) {
        precondition(count > 0 && count < labels.count, "a validation split of \(count) from \(labels.count) images")
        var members = Array(repeating: [Int](), count: classes)
        for (i, y) in labels.enumerated() { members[y].append(i) }
        let total = labels.count
        var quotas = members.map { $0.count * count / total }
        let remainders = members.map { $0.count * count % total }
        let order = (0..<classes).sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
        for c in order.prefix(count - quotas.reduce(0, +)) { quotas[c] += 1 }
        var generator = RandomGenerator(seed: seed &* 0xA24B_AED4_963E_E407 &+ 0x9FB2_1C65_1E98_DF25)
        var held = [Bool](repeating: false, count: total)
        for c in 0..<classes {
            var m = members[c]
            if m.count > 1 {
                for i in stride(from: m.count - 1, to: 0, by: -1) { m.swapAt(i, Int(generator.next() % UInt64(i + 1))) }
            }
            for i in m.prefix(quotas[c]) { held[i] = true }
        }
        validation = (0..<total).filter { held[$0] }
        training = (0..<total).filter { !held[$0] }
    }
}
