//  jpeg.swift — libFuzzer target for the JPEG reader (Sources/Images: the TurboJPEG wrapper and the EXIF
//  orientation parser), compiled together with the module's sources by scripts/fuzz.sh, TurboJPEG linked in.
//
//  Any input must give a Bitmap or an ImageError with a one-line message; never a trap or an
//  out-of-bounds access (AddressSanitizer watches).

/// Small caps so that a header claiming a huge image is refused quickly while fuzzing.
private let fuzzLimits = ImageLimits(maxFileBytes: 1 << 20, maxPixels: 1 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = EXIFOrientation.read(bytes)
    do {
        let image = try JPEG.decode(bytes, file: "fuzz.jpg", limits: fuzzLimits)
        precondition(image.pixels.count == image.width * image.height * image.layout.channels)
    } catch {
        let message = error.errorDescription ?? ""
        precondition(!message.isEmpty && !message.contains("\n"), "ImageError message is not one line: \(message)")
    }
    return 0
}
