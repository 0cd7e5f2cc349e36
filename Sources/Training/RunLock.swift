//  RunLock.swift
//
//  One training process per run directory: an fcntl write lock on DIR/train.lock, held for as long as the
//  process trains.
//
//  Invariants:
//  - The lock is a POSIX record lock (fcntl F_SETLK, F_WRLCK, the whole file), which NFS carries across hosts
//    (flock does not everywhere). It belongs to the process and ends with it, so a process that died (SIGKILL,
//    a lost node) leaves no lock behind, only a stale train.lock, which the next holder rewrites.
//  - Because a POSIX lock belongs to the process, closing any descriptor of train.lock in the holding process
//    would drop it. This file is the only code that opens train.lock, and a process holds at most one RunLock
//    per directory (`held`); a second one in the same process is refused like one from another process.
//  - train.lock holds one line, "pid=PID host=HOST since=TIME" (TIME in ISO 8601, UTC), written after the lock
//    is taken. Readers (cnn-eval, cnn-plot, summarize.sh) never take the lock and are never blocked; a reader
//    that wants to know whether a run is being trained asks with F_GETLK.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lock of one run directory, held until this object is released (or the process ends).
public final class RunLock {
    /// The lock file inside a run directory.
    public static let fileName = "train.lock"

    /// Who holds (or last held) a run directory's lock, as train.lock says.
    public struct Holder: Equatable {
        public var pid: Int32
        public var host: String
        public var since: String

        /// This process, now.
        static func current() -> Holder {
            var name = [CChar](repeating: 0, count: 256)
            let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "unknown-host"
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            return Holder(pid: getpid(), host: host.isEmpty ? "unknown-host" : host, since: formatter.string(from: Date()))
        }

        /// train.lock's line.
        var line: String { "pid=\(pid) host=\(host) since=\(since)\n" }

        /// Parses train.lock's line; nil when it is not one.
        init?(line: String) {
            var fields: [String: String] = [:]
            for word in line.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                guard let eq = word.firstIndex(of: "=") else { return nil }
                fields[String(word[..<eq])] = String(word[word.index(after: eq)...])
            }
            guard let p = fields["pid"], let pid = Int32(p), let host = fields["host"], let since = fields["since"] else { return nil }
            self.init(pid: pid, host: host, since: since)
        }

        public init(pid: Int32, host: String, since: String) {
            self.pid = pid; self.host = host; self.since = since
        }
    }

    public let directory: String
    public let path: String
    /// The holder line this process wrote.
    public let holder: Holder
    private var descriptor: Int32
    private let fileID: FileID
    /// True when this lock created `directory` (a fresh run into a new folder).
    private let createdDirectory: Bool

    /// A file's identity: device and inode.
    private struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64

        init(_ status: stat) {
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
        }
    }
    /// The lock files this process holds (see the invariants above).
    private static var held: Set<FileID> = []
    private static let heldGuard = NSLock()

    /// Takes the lock of run directory `directory`, without waiting.
    ///
    /// When `directory` does not exist it is created if `create` (a fresh run); otherwise there is nothing to
    /// lock and the result is nil (the caller reports the missing run directory).
    /// - Throws: `RunError.busy` when another process (or another RunLock in this one) holds it;
    ///   `RunError.cannotWrite` when train.lock cannot be created, locked or written.
    public init?(directory: String, create: Bool) throws {
        var created = false
        var status = stat()
        if stat(directory, &status) != 0 {
            guard create else { return nil }
            try AtomicWrite.makeDirectory(directory)
            created = true
        }
        self.directory = directory
        path = directory + "/" + Self.fileName
        createdDirectory = created

        Self.heldGuard.lock()
        defer { Self.heldGuard.unlock() }
        if stat(path, &status) == 0, Self.held.contains(FileID(status)) {
            throw RunError.busy(directory, Self.describeHolder(path: path, lockingPID: getpid()))
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunError.cannotWrite(path, String(cString: strerror(errno))) }
        var lock = Self.wholeFile(F_WRLCK)
        if fcntl(fd, F_SETLK, &lock) != 0 {
            let code = errno
            defer { close(fd) }
            if code == EAGAIN || code == EACCES {
                var probe = Self.wholeFile(F_WRLCK)
                let pid = fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != Int16(F_UNLCK) ? probe.l_pid : 0
                throw RunError.busy(directory, Self.describeHolder(path: path, lockingPID: pid))
            }
            throw RunError.cannotWrite(path, "cannot lock it (fcntl F_SETLK): \(String(cString: strerror(code)))")
        }
        // A lock left by a process that died is gone with it; its line is replaced by ours.
        let me = Holder.current()
        let bytes = Array(me.line.utf8)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, bytes.count, 0) }
        guard written == bytes.count, ftruncate(fd, off_t(written)) == 0, fsync(fd) == 0, fstat(fd, &status) == 0 else {
            let why = written < 0 || written == bytes.count ? String(cString: strerror(errno)) : "short write"
            close(fd)
            throw RunError.cannotWrite(path, why)
        }
        descriptor = fd
        holder = me
        fileID = FileID(status)
        Self.held.insert(fileID)
    }

    deinit { release() }

    /// Gives the lock up (closing train.lock); the file stays, with the last holder's line.
    public func release() {
        Self.heldGuard.lock()
        defer { Self.heldGuard.unlock() }
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        Self.held.remove(fileID)
    }

    /// For a run that failed before writing anything: when this lock created the directory and it holds
    /// nothing but train.lock, removes both, so a refused fresh run leaves nothing behind; then releases.
    public func releaseRemovingUnusedDirectory() {
        defer { release() }
        guard createdDirectory,
              (try? FileManager.default.contentsOfDirectory(atPath: directory)) == [Self.fileName] else { return }
        unlink(path)
        rmdir(directory)
    }

    /// Who holds the lock of run directory `directory`, or nil when nobody does. Never takes the lock.
    public static func holder(of directory: String) -> Holder? {
        let path = directory + "/" + fileName
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var probe = wholeFile(F_WRLCK)
        heldGuard.lock()
        var status = stat()
        let mine = fstat(fd, &status) == 0 && held.contains(FileID(status))
        heldGuard.unlock()
        if !mine {
            // F_GETLK reports only other processes' locks.
            guard fcntl(fd, F_GETLK, &probe) == 0, probe.l_type != Int16(F_UNLCK) else { return nil }
        }
        return readHolder(path: path) ?? Holder(pid: mine ? getpid() : probe.l_pid, host: "an unknown host", since: "an unknown time")
    }

    // MARK: Helpers

    private static func wholeFile(_ type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        return lock
    }

    private static func readHolder(path: String) -> Holder? {
        guard let bytes = AtomicWrite.contents(of: path) else { return nil }
        return Holder(line: String(decoding: bytes, as: UTF8.self))
    }

    /// The holder for the busy message. The holder writes its line right after locking, so an empty file is
    /// read again for up to about 50 ms before falling back to the pid F_GETLK gave.
    private static func describeHolder(path: String, lockingPID: Int32) -> Holder {
        let here = Holder.current().host
        for attempt in 0..<10 {
            // A line of this host naming another pid than F_GETLK's is the previous holder's, not yet replaced.
            if let h = readHolder(path: path), lockingPID <= 0 || h.host != here || h.pid == lockingPID { return h }
            if attempt < 9 { usleep(5000) }
        }
        return Holder(pid: lockingPID, host: "an unknown host", since: "an unknown time")
    }
}
