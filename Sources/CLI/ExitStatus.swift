//  ExitStatus.swift
//
//  The documented exit status of every failure (sysexits.h values where one fits); RunMain.swift prints the
//  failure itself as one line.

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
