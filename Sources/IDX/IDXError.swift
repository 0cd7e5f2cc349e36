import Foundation

/// Everything that can go wrong while reading (or writing) IDX files, gzipped or not.
///
/// Every case that concerns a file carries its path as given by the caller, so
/// ``errorDescription`` is a single line that names the file, says what is wrong with it, with the
/// numbers, and where useful gives a hint on how to fix it. Nothing in the `IDX` module traps on
/// bad input: every problem with a file's contents ends up as one of these cases.
public enum IDXError: Error, LocalizedError, Equatable, Sendable {
    // MARK: Finding and reading files

    /// There is no file at `file`.
    case fileNotFound(file: String)
    /// There is no directory at `directory` (or it is not a directory).
    case directoryNotFound(directory: String)
    /// The dataset directory has neither `name.gz` nor `name` (e.g. `train-images-idx3-ubyte`).
    case datasetFileNotFound(directory: String, name: String)
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    case unreadable(file: String, reason: String)
    /// The file could not be written.
    case unwritable(file: String, reason: String)
    /// The file, or its decompressed contents, is larger than the byte limit the caller allowed.
    case tooLarge(file: String, limit: Int)

    // MARK: Gzip

    /// The file starts with the gzip magic 1f 8b but zlib rejects it; `message` is zlib's own
    /// (e.g. "incorrect data check" for a CRC32 mismatch, "incorrect length check" for ISIZE).
    case corruptGzip(file: String, message: String)
    /// The gzip stream ends early: the input ran out after `decompressedBytes` bytes of output,
    /// before the end of the deflate data and its CRC32/ISIZE trailer.
    case truncatedGzip(file: String, decompressedBytes: Int)

    // MARK: The IDX format

    /// The (decompressed) contents are shorter than the IDX header: 4 magic bytes, then 4 bytes per
    /// dimension.
    case truncatedHeader(file: String, needed: Int, actual: Int)
    /// The first four bytes are not an IDX magic number: either the first two bytes are not zero
    /// (the file is neither gzip nor IDX) or the type code is not one the format defines.
    case badMagic(file: String, magic: UInt32)
    /// A valid IDX type other than unsigned byte (0x08).
    case unsupportedType(file: String, type: IDXElementType)
    /// The header declares `count` dimensions; 1 to ``IDXArray/maximumRank`` are accepted.
    case badDimensions(file: String, count: Int)
    /// The header's dimensions call for `expected` bytes in all (header and data) but the
    /// (decompressed) contents have `actual`: fewer means truncated, more means trailing bytes.
    case lengthMismatch(file: String, dimensions: [Int], expected: Int, actual: Int)

    // MARK: Labelled image sets

    /// The file is a valid IDX file of the wrong rank: images must be 3-D (count, rows, columns),
    /// labels 1-D (count).
    case wrongRank(file: String, expected: Int, dimensions: [Int])
    /// The images file holds no images, or images with no pixels (a zero dimension).
    case noImages(file: String, dimensions: [Int])
    /// The images and labels files disagree on how many examples there are.
    case countMismatch(images: String, labels: String, imageCount: Int, labelCount: Int)
    /// A label is not below the number of classes; `index` is the first offending example.
    case labelOutOfRange(file: String, index: Int, value: UInt8, classCount: Int)

    // MARK: Caller mistakes (no file involved)

    /// `classCount` must be in 1...256, since labels are bytes.
    case invalidClassCount(Int)
    /// The dimensions given to ``IDXArray/init(dimensions:bytes:)`` do not describe `byteCount`
    /// bytes, or cannot be written in an IDX header.
    case invalidShape(dimensions: [Int], byteCount: Int)
    /// zlib failed for a reason that is not the data's fault (e.g. it could not allocate memory).
    case zlibFailure(function: String, code: Int32, message: String)

    public var errorDescription: String? {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file"
        case .directoryNotFound(let directory):
            return "\(directory): no such directory; HINT: point --data at a folder holding the "
                + "four IDX files (see Data/README.md)"
        case .datasetFileNotFound(let directory, let name):
            let path = joinPath(directory, name)
            return "\(path).gz: no such file (nor \(path)); HINT: a dataset directory holds "
                + MNISTFileNames.all.joined(separator: ", ") + ", each optionally gzipped (.gz)"
        case .unreadable(let file, let reason):
            return "\(file): cannot read: \(reason)"
        case .unwritable(let file, let reason):
            return "\(file): cannot write: \(reason)"
        case .tooLarge(let file, let limit):
            return "\(file): too large: it, or its decompressed contents, would exceed the limit of "
                + "\(limit) bytes; HINT: pass a larger byteLimit if the file is genuine"
        case .corruptGzip(let file, let message):
            return "\(file): corrupt gzip data: zlib says \"\(message)\"; HINT: download the file again"
        case .truncatedGzip(let file, let decompressedBytes):
            return "\(file): truncated gzip data: the input ends after \(decompressedBytes) "
                + "decompressed bytes, before the end of the stream; HINT: the download was probably "
                + "interrupted, fetch the file again"
        case .truncatedHeader(let file, let needed, let actual):
            return "\(file): too short for an IDX header: needs \(needed) bytes, has \(actual)"
        case .badMagic(let file, let magic):
            if magic >> 16 != 0 {
                return "\(file): not gzip and not IDX: wrong magic \(hex(magic, digits: 8, uppercase: false)) "
                    + "(IDX starts with 00 00 <type> <rank>, gzip with 1f 8b)"
            }
            let type = UInt8(truncatingIfNeeded: magic >> 8)
            return "\(file): not an IDX file: unknown type code \(hex(type, digits: 2)) in magic "
                + "\(hex(magic, digits: 8, uppercase: false)) (IDX types are 0x08, 0x09 and 0x0B to 0x0E)"
        case .unsupportedType(let file, let type):
            return "\(file): unsupported IDX type \(type.hexCode) (\(type.name)); only unsigned byte "
                + "(0x08) is supported"
        case .badDimensions(let file, let count):
            return "\(file): the IDX header declares \(count) dimensions; 1 to \(IDXArray.maximumRank) "
                + "are supported"
        case .lengthMismatch(let file, let dimensions, let expected, let actual):
            let header = IDXArray.headerSize(rank: dimensions.count)
            let need = "dimensions \(describe(dimensions)) need \(expected) bytes "
                + "(\(header)-byte header + \(expected &- header) data bytes)"
            if actual < expected {
                return "\(file): truncated: \(need), found \(actual); HINT: the download was probably interrupted, fetch the file again"
            }
            return "\(file): \(actual &- expected) trailing bytes: \(need), found \(actual)"
        case .wrongRank(let file, let expected, let dimensions):
            let shape = expected == 3 ? "count × rows × columns" : expected == 1 ? "count" : "\(expected) dimensions"
            return "\(file): dimensions \(describe(dimensions)) (\(dimensions.count)-D); expected "
                + "\(expected)-D (\(shape))"
        case .noImages(let file, let dimensions):
            let what = dimensions.first == 0 ? "no images" : "images with no pixels"
            return "\(file): holds \(what) (dimensions \(describe(dimensions)))"
        case .countMismatch(let images, let labels, let imageCount, let labelCount):
            return "\(images): \(imageCount) images, but \(labels) has \(labelCount) labels; HINT: the images and "
                + "labels must come from the same split of the same dataset"
        case .labelOutOfRange(let file, let index, let value, let classCount):
            return "\(file): label \(value) at index \(index) is out of range for \(classCount) classes "
                + "(labels must be below \(classCount)); HINT: check that the data is a \(classCount)-class dataset"
        case .invalidClassCount(let classCount):
            return "classCount: \(classCount) is invalid: labels are bytes, so it must be in 1...256"
        case .invalidShape(let dimensions, let byteCount):
            return "dimensions \(describe(dimensions)): they do not describe \(byteCount) bytes in an IDX "
                + "file (1 to \(IDXArray.maximumRank) dimensions, each below 2^32, product = byte count)"
        case .zlibFailure(let function, let code, let message):
            return "zlib \(function): failed with code \(code) (\(message))"
        }
    }
}

/// Dimensions as written in messages: `60000×28×28`, or `[]` for none.
private func describe(_ dimensions: [Int]) -> String {
    dimensions.isEmpty ? "[]" : dimensions.map(String.init).joined(separator: "×")
}
