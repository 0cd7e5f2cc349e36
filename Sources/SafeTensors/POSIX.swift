// POSIX.swift — thin wrappers over the C library calls used for file I/O, and reading a file.
//
// Named `sys*` so they cannot be confused with the methods called `read` and `write`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("SafeTensors needs the POSIX C library (Glibc, Musl or Darwin)")
#endif

/// The system's description of `code`, e.g. "No space left on device".
func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// `open(2)`, retried on EINTR; returns the descriptor or -1 with `errno` set.
func sysOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    while true {
        let descriptor = open(path, flags, mode)
        if descriptor >= 0 || errno != EINTR { return descriptor }
    }
}

/// `read(2)`; returns the byte count, 0 at end of file, or -1 with `errno` set.
func sysRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(descriptor, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(descriptor, buffer, count)
    #else
    return Darwin.read(descriptor, buffer, count)
    #endif
}

/// `write(2)`; returns the byte count written (possibly short) or -1 with `errno` set.
func sysWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(descriptor, buffer, count)
    #else
    return Darwin.write(descriptor, buffer, count)
    #endif
}

/// `fsync(2)`, retried on EINTR; 0 or -1 with `errno` set.
func sysFsync(_ descriptor: Int32) -> Int32 {
    while true {
        let result = fsync(descriptor)
        if result == 0 || errno != EINTR { return result }
    }
}

/// Reads the whole file at `path`.
///
/// - Throws: `SafeTensorsError.fileNotFound` (ENOENT, ENOTDIR) or `.unreadable` (anything
///   else, e.g. permission denied or a directory).
func readFileBytes(_ path: String) throws -> [UInt8] {
    let descriptor = sysOpen(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        let code = errno
        if code == ENOENT || code == ENOTDIR { throw SafeTensorsError.fileNotFound(file: path) }
        throw SafeTensorsError.unreadable(file: path, reason: errnoDescription(code))
    }
    defer { close(descriptor) }

    var status = stat()
    var bytes: [UInt8] = []
    if fstat(descriptor, &status) == 0 {
        // A device (/dev/zero, /dev/urandom) would be read until memory runs out.
        let type = status.st_mode & S_IFMT
        if type == S_IFCHR || type == S_IFBLK {
            throw SafeTensorsError.unreadable(file: path, reason: "it is a device, not a regular file")
        }
    }
    if status.st_size > 0 {
        // The file's real size (not a number read from it), as a capacity hint.
        bytes.reserveCapacity(Int(clamping: status.st_size))
    }
    let chunkSize = 1 << 20
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    while true {
        let count = chunk.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return sysRead(descriptor, base, raw.count)
        }
        if count > 0 {
            bytes += chunk[0..<count]
        } else if count == 0 {
            return bytes
        } else if errno != EINTR {
            throw SafeTensorsError.unreadable(file: path, reason: errnoDescription(errno))
        }
    }
}
