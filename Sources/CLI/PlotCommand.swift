//  PlotCommand.swift (placeholder)

import ArgumentParser

public struct PlotCommand: ParsableCommand {
    public init() {}
    public func run() throws {}
}
