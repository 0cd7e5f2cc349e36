//  PredictCommand.swift (placeholder)

import ArgumentParser

public struct PredictCommand: ParsableCommand {
    public init() {}
    public func run() throws {}
}
