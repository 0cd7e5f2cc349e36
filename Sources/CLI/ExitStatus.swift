//  ExitStatus.swift
//
//  How every failure reaches the user: one line on standard error, "cnn-train: error: <file or flag>: <problem>",
//  and a documented exit status (sysexits.h values where one fits).

import ArgumentParser
import Foundation
import IDX
import SafeTensors
import Training

/// The exit statuses of cnn-train and cnn-eval, documented in the README.
public enum ExitStatus: Int32 {
    /// A flag is missing, malformed or out of range (also what ArgumentParser uses for usage errors).
    case usage = 64
    /// A data file or checkpoint is malformed, or does not fit.
    case dataError = 65
    /// A data file, directory or checkpoint does not exist.
    case noInput = 66
    /// Training diverged (NaN or infinite loss).
    case diverged = 70
    /// An output file or directory cannot be written (permissions, full disk).
    case cannotCreate = 73
    /// Another process is training the run directory (EX_TEMPFAIL: try again later).
    case busy = 75
    /// Stopped by SIGINT after writing a checkpoint.
    case interrupted = 130
    /// Stopped by SIGTERM after writing a checkpoint.
    case terminated = 143

    /// The status for an error thrown by the library.
    public static func of(_ error: Error) -> ExitStatus {
        switch error {
        case let e as IDXError:
            switch e {
            case .fileNotFound, .directoryNotFound, .datasetFileNotFound: return .noInput
            default: return .dataError
            }
        case let e as SafeTensorsError:
            switch e {
            case .fileNotFound: return .noInput
            case .writeFailed: return .cannotCreate
            default: return .dataError
            }
        case is CheckpointError: return .dataError
        case is ArchitectureError: return .usage
        case let e as RunError:
            switch e {
            case .invalidConfiguration: return .usage
            case .cannotWrite, .runExists: return .cannotCreate
            case .diverged: return .diverged
            case .nothingToResume, .badRunDirectory: return .noInput
            case .inputMismatch, .badData: return .dataError
            case .busy: return .busy
            }
        default: return .dataError
        }
    }
}

/// The front ends' `main()`: parses, validates and runs `Command`. A usage error (a bad flag) is printed as one
/// line, "cnn-train: error: --lr must be ... (see cnn-train --help)", with status 64; `--help` and errors
/// already reported by `run()` (thrown as `ExitCode`) go through ArgumentParser as usual.
func runMain<Command: ParsableCommand>(_: Command.Type, name: String) -> Never {
    do {
        var command = try Command.parseAsRoot()
        try command.run()
        Command.exit()
    } catch let code as ExitCode {
        Command.exit(withError: code)
    } catch {
        guard Command.exitCode(for: error).rawValue == ExitStatus.usage.rawValue else { Command.exit(withError: error) }
        let message = Command.message(for: error).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
        FileHandle.standardError.write(Data("\(name): error: \(message) (see \(name) --help)\n".utf8))
        Command.exit(withError: ExitCode(ExitStatus.usage.rawValue))
    }
}

/// Prints `error` as one line on standard error and returns the exit code to throw.
func report(_ error: Error, command: String) -> ExitCode {
    let message = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    FileHandle.standardError.write(Data("\(command): error: \(message)\n".utf8))
    return ExitCode(ExitStatus.of(error).rawValue)
}

/// How to start `tool` (another of the five, or this one) the way this process was started: beside this
/// executable when it was started by a path (`.build/release/cnn-train` → `.build/release/cnn-eval`), by
/// its bare name when it was found on PATH. The hints the tools print use it, so they can be copied as they are.
func invocation(of tool: String, argument0: String = CommandLine.arguments.first ?? "") -> String {
    guard let slash = argument0.lastIndex(of: "/") else { return tool }
    return String(argument0[...slash]) + tool
}
