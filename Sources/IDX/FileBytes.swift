import Foundation

/// Reading and writing whole files as byte arrays, with errors that name the file.
enum FileBytes {
    /// The contents of the file at `path`.
    ///
    /// Reads in chunks, so a file that grows, or a device that never ends, stops at `byteLimit`
    /// instead of exhausting memory.
    ///
    /// - Throws: ``IDXError/fileNotFound(file:)``, ``IDXError/unreadable(file:reason:)`` (also for
    ///   a directory), ``IDXError/tooLarge(file:limit:)`` when the file has more than `byteLimit` bytes.
    static func read(_ path: String, byteLimit: Int) throws(IDXError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(file: path)
        }
        if isDirectory.boolValue { throw .unreadable(file: path, reason: "it is a directory") }
        guard let handle = fopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw errno == ENOENT ? .fileNotFound(file: path) : .unreadable(file: path, reason: reason)
        }
        defer { fclose(handle) }

        var bytes: [UInt8] = []
        // The size on disk is a good first guess for the capacity, but never above the limit.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 0 {
            bytes.reserveCapacity(max(0, min(size, byteLimit)))
        }
        let chunkSize = 1 << 20
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            bytes.append(contentsOf: chunk[0 ..< count])
            if bytes.count > byteLimit { throw .tooLarge(file: path, limit: byteLimit) }
            if count < chunkSize {
                if ferror(handle) != 0 {
                    throw .unreadable(file: path, reason: String(cString: strerror(errno)))
                }
                return bytes
            }
        }
    }

    /// Replaces the file at `path` with `bytes` (written to a temporary file, then moved into place).
    ///
    /// - Throws: ``IDXError/unwritable(file:reason:)``.
    static func write(_ bytes: [UInt8], to path: String) throws(IDXError) {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .unwritable(file: path, reason: error.localizedDescription)
        }
    }
}

/// `directory/name`, without doubling a trailing slash.
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
