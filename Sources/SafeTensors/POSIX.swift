// POSIX.swift — reading a whole file (POSIXFile.read), with SafeTensors' error.

// One module with POSIXFile's sources when scripts/fuzz.sh compiles the reader alone.
#if canImport(POSIXFile)
import POSIXFile
#endif

/// Reads the whole file at `path`.
///
/// - Throws: `SafeTensorsError.fileNotFound` (ENOENT, ENOTDIR) or `.unreadable` (anything
///   else, e.g. permission denied, a directory or a device).
func readFileBytes(_ path: String) throws -> [UInt8] {
    do throws(POSIXFileError) {
        return try POSIXFile.read(path)
    } catch {
        throw SafeTensorsError(error)
    }
}
