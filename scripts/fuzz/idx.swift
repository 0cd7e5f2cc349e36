//  idx.swift — libFuzzer target for the gzip + IDX reader (Sources/IDX), compiled together with
//  the module's sources by scripts/fuzz.sh (so `IDXArray`, `Gzip`, `LabeledImages` are in scope).
//
//  Any input must give an IDXArray or an IDXError with a one-line message; never a trap, a leak,
//  or an out-of-bounds access (AddressSanitizer watches). An accepted array must satisfy its
//  invariant and survive encode → parse unchanged.

/// The decompressed-size cap while fuzzing: big enough for real headers, small enough that a
/// gzip bomb is cut off quickly.
private let fuzzByteLimit = 1 << 22

private func checkMessage(_ error: IDXError) {
    let message = error.errorDescription ?? ""
    precondition(!message.isEmpty && !message.contains("\n"), "IDXError message is not one line: \(message)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let array = try IDXArray.parse(bytes, file: "fuzz.idx", byteLimit: fuzzByteLimit)
        precondition((1 ... IDXArray.maximumRank).contains(array.dimensions.count), "rank \(array.dimensions.count)")
        precondition(IDXHeader.elementCount(array.dimensions) == array.bytes.count, "dimensions do not match the data")
        let again = try IDXArray.parse(array.encoded(), file: "again.idx", byteLimit: fuzzByteLimit)
        precondition(again == array, "encode → parse changed the array")
        // The same array as images and as labels: whatever the shapes, an error or a checked set.
        if let set = try? LabeledImages(images: array, labels: array, classCount: 10) {
            precondition(set.pixels.count == set.count * set.rows * set.columns && set.labels.allSatisfy { $0 < 10 })
        }
    } catch {
        checkMessage(error)
    }
    do {
        _ = try Gzip.decompress(bytes, file: "fuzz.gz", byteLimit: fuzzByteLimit)
    } catch {
        checkMessage(error)
    }
    return 0
}
