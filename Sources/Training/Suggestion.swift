//  Suggestion.swift
//
//  "Did you mean …?": the closest of a few known names to a mistyped one, by edit distance (insertions,
//  deletions, substitutions and swaps of neighbours, each 1), for preset names, layer tokens and subcommands.

/// Finding the name a user probably meant.
public enum Suggestion {
    /// The candidate closest to `text` (case-insensitive), if it is close enough to be a typo: at most a third of
    /// the longer name's characters differ (at least 1, at most 3), or `text` is the start of the candidate
    /// (`lenet` → `lenet5`). Ties go to the earlier candidate; nil when nothing is close.
    public static func closest(to text: String, among candidates: [String]) -> String? {
        let typed = Array(text.lowercased())
        guard !typed.isEmpty else { return nil }
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let name = Array(candidate.lowercased())
            let d = name.starts(with: typed) ? 1 : distance(typed, name)
            let limit = min(3, max(1, max(typed.count, name.count) / 3))
            if d <= limit, d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.name
    }

    /// Edit distance of `a` and `b` with adjacent transpositions (optimal string alignment):
    /// d[i][j] = distance(a[..<i], b[..<j]).
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
