//  RandomGenerator.swift
//
//  The one seeded generator behind initialisation, shuffling and dropout.
//
//  Its arithmetic is modulo 2⁶⁴ by definition (SplitMix64 and xoshiro256** are specified on wrapping
//  64-bit words), hence `&+` and `&*`.

import RealModule

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64.
///
/// Its whole state is four `UInt64`s, so a checkpoint can save it and a resumed run continue the same stream.
public struct RandomGenerator: RandomNumberGenerator, Equatable, Sendable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator restored from a saved `state`; `state` must not be all zero.
    public init(state: [UInt64]) {
        precondition(state.count == 4 && state.contains { $0 != 0 }, "invalid generator state")
        self.state = (state[0], state[1], state[2], state[3])
    }

    /// The state as four words, for checkpoints.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform `Float` in [0, 1), from the top 24 bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A uniform `Float` in [low, high).
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUniform()
    }

    /// A standard normal sample (Box–Muller, in Double for accuracy).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53   // (0, 1]
        let u2 = Double(next() >> 11) * 0x1p-53         // [0, 1)
        return Float((-2 * .log(u1)).squareRoot() * .cos(2 * .pi * u2))
    }

    public static func == (a: RandomGenerator, b: RandomGenerator) -> Bool { a.stateWords == b.stateWords }
}
