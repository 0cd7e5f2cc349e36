import Foundation
import IDX
import XCTest

/// A fresh directory under the system temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "IDXTests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` in the directory and returns the file's path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// An IDX file built by hand from the format description, independently of `IDXArray.encoded()`:
/// `00 00 <type> <rank>`, big-endian UInt32 dimensions, then `payload`.
func idxBytes(type: UInt8 = 0x08, dimensions: [UInt32], payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
    for dimension in dimensions {
        bytes += [UInt8(dimension >> 24), UInt8((dimension >> 16) & 0xff),
                  UInt8((dimension >> 8) & 0xff), UInt8(dimension & 0xff)]
    }
    return bytes + payload
}

/// `count` bytes of a fixed pseudo-random sequence (a 32-bit LCG), so failures repeat.
func pseudoRandomBytes(_ count: Int, seed: UInt32 = 1) -> [UInt8] {
    var state = seed
    return (0 ..< count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(state >> 24)
    }
}

/// Asserts that `expression` throws exactly `expected`, and that the message names every file in
/// `mentions` (by default, the last path component of the file the error carries).
func assertIDXError<T>(
    _ expression: @autoclosure () throws -> T, _ expected: IDXError, mentions: [String]? = nil,
    file: StaticString = #filePath, line: UInt = #line
) {
    assertIDXError(try expression(), mentions: mentions ?? expected.fileNames, file: file, line: line) { error in
        XCTAssertEqual(error, expected, file: file, line: line)
    }
}

/// Asserts that `expression` throws an `IDXError` whose message mentions each of `mentions`, and
/// hands the error to `check` for further assertions.
func assertIDXError<T>(
    _ expression: @autoclosure () throws -> T, mentions: [String],
    file: StaticString = #filePath, line: UInt = #line, _ check: (IDXError) -> Void
) {
    do {
        let value = try expression()
        XCTFail("expected an IDXError, got the value \(value)", file: file, line: line)
    } catch let error as IDXError {
        let message = error.localizedDescription
        XCTAssertFalse(message.contains("\n"), "message is not one line: \(message)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(message.contains(text), "message does not mention \"\(text)\": \(message)",
                          file: file, line: line)
        }
        check(error)
    } catch {
        XCTFail("expected an IDXError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

extension IDXError {
    /// The last path components of the files this error names.
    var fileNames: [String] {
        let paths: [String]
        switch self {
        case .fileNotFound(let file), .unreadable(let file, _), .unwritable(let file, _), .tooLarge(let file, _),
             .corruptGzip(let file, _), .truncatedGzip(let file, _), .truncatedHeader(let file, _, _),
             .badMagic(let file, _), .unsupportedType(let file, _), .badDimensions(let file, _),
             .lengthMismatch(let file, _, _, _), .wrongRank(let file, _, _), .noImages(let file, _),
             .labelOutOfRange(let file, _, _, _):
            paths = [file]
        case .directoryNotFound(let directory):
            paths = [directory]
        case .datasetFileNotFound(let directory, let name):
            paths = [directory, name]
        case .countMismatch(let images, let labels, _, _):
            paths = [images, labels]
        case .invalidClassCount, .invalidShape, .zlibFailure:
            paths = []
        }
        return paths.map { URL(fileURLWithPath: $0).lastPathComponent }
    }
}
