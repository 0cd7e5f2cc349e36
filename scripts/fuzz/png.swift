//  png.swift — libFuzzer target for the PNG and PNM readers (Sources/Images: the libspng wrapper and the
//  PGM/PPM parser), compiled together with the module's sources by scripts/fuzz.sh, libspng linked in.
//
//  Any input must give a Bitmap or an ImageError with a one-line message; never a trap or an
//  out-of-bounds access (AddressSanitizer watches). A decoded image must survive a PNG write and read back.

/// Small caps so that a header claiming a huge image is refused quickly while fuzzing.
private let fuzzLimits = ImageLimits(maxFileBytes: 1 << 20, maxPixels: 1 << 20)

private func checkMessage(_ error: ImageError) {
    let message = error.errorDescription ?? ""
    precondition(!message.isEmpty && !message.contains("\n"), "ImageError message is not one line: \(message)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let image = try PNG.decode(bytes, file: "fuzz.png", limits: fuzzLimits)
        let back = try PNG.decode(try PNG.encode(image), file: "again.png", limits: fuzzLimits)
        precondition(back == image, "a decoded PNG does not survive a write and read back")
    } catch {
        checkMessage(error)
    }
    do {
        _ = try PNM.decode(bytes, file: "fuzz.pgm", limits: fuzzLimits)
    } catch {
        checkMessage(error)
    }
    return 0
}
