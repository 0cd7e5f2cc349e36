//  png.swift — libFuzzer target for the PNG and PNM decoders (Sources/PNG), compiled together with
//  the module's sources by scripts/fuzz.sh.
//
//  Any input must give a Bitmap or a PNGError with a one-line message; never a trap or an
//  out-of-bounds access (AddressSanitizer watches).

/// Small caps so that a header claiming a huge image is refused quickly while fuzzing.
private let fuzzLimits = PNGLimits(maxFileBytes: 1 << 20, maxPixels: 1 << 20)

private func checkMessage(_ error: PNGError) {
    let message = error.errorDescription ?? ""
    precondition(!message.isEmpty && !message.contains("\n"), "PNGError message is not one line: \(message)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        _ = try PNG.decode(bytes, file: "fuzz.png", limits: fuzzLimits)
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
