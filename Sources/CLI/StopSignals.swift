//  StopSignals.swift
//
//  SIGINT and SIGTERM ask the run to stop after the current step; the trainer then writes a checkpoint and
//  the command exits with 130 or 143. A second signal stops at once, with the same status: every file is
//  written atomically, so the checkpoint before it is still whole.

import Dispatch
import Foundation

/// Catches SIGINT and SIGTERM for as long as it lives and remembers the first one.
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// - Parameter command: the name in the messages, e.g. "cnn-train".
    init(command: String = "cnn-train") {
        for sig in [SIGINT, SIGTERM] {
            // Dispatch sees the signal through its own handler; ignoring it here stops the default action
            // (terminating the process) from running first.
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let earlier = self.first
                if earlier == nil { self.first = sig }
                self.lock.unlock()
                let name = sig == SIGTERM ? "SIGTERM" : "SIGINT"
                if let earlier {
                    FileHandle.standardError.write(Data("\n\(command): \(name) again: stopping now, without a new checkpoint\n".utf8))
                    _exit(128 + earlier)
                }
                FileHandle.standardError.write(Data("\n\(command): \(name): stopping after this step and writing a checkpoint (send it again to stop at once)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    var received: Int32? {
        lock.lock(); defer { lock.unlock() }
        return first
    }

    deinit {
        for s in sources { s.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
