//  RunMain.swift
//
//  How a tool starts, and how its failures reach the user: every error is one line on standard error,
//
//      TOOL: error: WHAT: PROBLEM[; HINT: ...]
//
//  WHAT is the flag, argument, file or subcommand at fault, and the exit status is the documented one
//  (ExitStatus). ArgumentParser's own usage messages are rewritten into that form (`usageLine`).

import ArgumentParser
import Foundation
import Training

/// The tools' `main()`: runs `Command` on the process's arguments and exits with its status.
func runMain<Command: ParsableCommand>(_: Command.Type, name: String) -> Never {
    exit(runCommand(Command.self, name: name, arguments: Array(CommandLine.arguments.dropFirst())))
}

/// Parses `arguments` as the root command `Command` (with its subcommands), runs it and returns the exit status.
/// `--help` and `--version` print on standard output with status 0; a usage error or an unknown subcommand
/// prints one line with status 64; `run()` prints its own errors (`report`) and throws their status as an
/// `ExitCode`.
func runCommand<Command: ParsableCommand>(_: Command.Type, name: String, arguments: [String]) -> Int32 {
    var tool = name
    let subcommands = Command.configuration.subcommands.compactMap { $0.configuration.commandName }
    if !subcommands.isEmpty, let first = arguments.first, !first.hasPrefix("-") {
        guard subcommands.contains(first) else {
            let guess = Suggestion.closest(to: first, among: subcommands).map { "did you mean '\($0)'? " } ?? ""
            printError("\(name): error: \(first): unknown subcommand; HINT: \(guess)the subcommands are "
                       + subcommands.joined(separator: ", "))
            return ExitStatus.usage.rawValue
        }
        tool += " " + first
    }
    do {
        try parseAndRun(Command.self, arguments)
        return 0
    } catch let code as ExitCode {
        return code.rawValue
    } catch {
        let status = Command.exitCode(for: error).rawValue
        if status == 0 {
            print(Command.fullMessage(for: error))
            return 0
        }
        guard status == ExitStatus.usage.rawValue else {
            printError("\(name): error: \(oneLine(Command.message(for: error)))")
            return status
        }
        let (problem, hint) = usageLine(Command.message(for: error))
        let help = "see \(invocation(of: tool)) --help"
        if problem.contains("; HINT: ") {
            printError("\(name): error: \(problem) (\(help))")
        } else {
            printError("\(name): error: \(problem); HINT: \(hint.map { "\($0) (\(help))" } ?? help)")
        }
        return ExitStatus.usage.rawValue
    }
}

/// Parses `arguments` as `Command` or one of its subcommands and runs that.
private func parseAndRun<Command: ParsableCommand>(_: Command.Type, _ arguments: [String]) throws {
    var command = try Command.parseAsRoot(arguments)
    try command.run()
}

/// Prints `error` as one line on standard error and returns the exit code to throw.
func report(_ error: Error, command: String) -> ExitCode {
    printError("\(command): error: \(errorLine(error))")
    return ExitCode(ExitStatus.of(error).rawValue)
}

/// What `report` prints after "TOOL: error: ": the error's message on one line, in the WHAT: PROBLEM form
/// (an architecture's problem is the --arch flag's; "--flag must ..." becomes "--flag: must ...").
func errorLine(_ error: Error) -> String {
    var message = oneLine((error as? LocalizedError)?.errorDescription ?? String(describing: error))
    if error is ArchitectureError { message = "--arch: " + message }
    if case RunError.invalidConfiguration = error { message = usageLine(message).problem }
    return message
}

/// `line` and a newline on standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// `text` on one line: its lines trimmed and joined with "; ".
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: "; ")
}

/// An ArgumentParser usage message (or a `ValidationError` of ours) as "WHAT: PROBLEM" and an optional hint:
///
///     Unknown option '--lrr'. Did you mean '--lr'?          → --lrr: unknown option        hint: did you mean '--lr'?
///     Missing expected argument '<checkpoint>'             → <checkpoint>: missing argument
///     Missing expected argument '--onnx <onnx>'            → --onnx: missing option
///     Unexpected argument 'extra'                          → extra: unexpected argument
///     2 unexpected arguments: 'a', 'b'                     → 'a', 'b': unexpected arguments
///     The value 'abc' is invalid for '--epochs <epochs>'   → --epochs: 'abc' is not a valid value
///     Missing value for '--lr <lr>'                        → --lr: missing value
///     --lr must be a finite number > 0 (got 0.0)           → --lr: must be a finite number > 0 (got 0.0)
func usageLine(_ message: String) -> (problem: String, hint: String?) {
    var text = oneLine(message)
    var hint: String?
    for (marker, lead) in [(". Did you mean ", "did you mean "), (". Please provide one of ", "give one of ")] {
        if let r = text.range(of: marker) {
            hint = lead + text[r.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: ". "))
            text = String(text[..<r.lowerBound])
        }
    }
    let rewrites: [(pattern: String, template: String)] = [
        ("^Unknown option '([^']+)'$", "$1: unknown option"),
        ("^Missing expected argument '(-[^ ']+)[^']*'$", "$1: missing option"),
        ("^Missing expected argument '([^']+)'$", "$1: missing argument"),
        ("^Unexpected argument '([^']*)'$", "$1: unexpected argument"),
        ("^[0-9]+ unexpected arguments: (.*)$", "$1: unexpected arguments"),
        ("^The value '(.*)' is invalid for '(-[^ ']+)[^']*'(.*)$", "$2: '$1' is not a valid value$3"),
        ("^Missing value for '(-[^ ']+)[^']*'$", "$1: missing value"),
        ("^(--[a-z0-9-]+) (.*)$", "$1: $2"),
    ]
    for (pattern, template) in rewrites {
        let regex = try! NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        if regex.firstMatch(in: text, range: range) != nil {
            text = regex.stringByReplacingMatches(in: text, range: range, withTemplate: template)
            break
        }
    }
    return (text, hint)
}

/// How to start `tool` (another of the five, or this one) the way this process was started: beside this
/// executable when it was started by a path (`.build/release/cnn-train` → `.build/release/cnn-eval`), by
/// its bare name when it was found on PATH. The hints the tools print use it, so they can be copied as they are.
func invocation(of tool: String, argument0: String = CommandLine.arguments.first ?? "") -> String {
    guard let slash = argument0.lastIndex(of: "/") else { return tool }
    return String(argument0[...slash]) + tool
}
