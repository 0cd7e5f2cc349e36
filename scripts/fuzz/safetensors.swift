//  safetensors.swift — libFuzzer target for the safetensors reader (Sources/SafeTensors), compiled
//  together with the module's sources by scripts/fuzz.sh.
//
//  Any input must give a SafeTensorsFile or a SafeTensorsError with a one-line message; never a trap
//  or an out-of-bounds access (AddressSanitizer watches). An accepted file must convert every
//  tensor without trapping and survive serialize → parse unchanged.

private func checkMessage(_ error: Error) {
    guard let error = error as? SafeTensorsError else { preconditionFailure("not a SafeTensorsError: \(error)") }
    let message = error.errorDescription ?? ""
    precondition(!message.isEmpty && !message.contains("\n"), "SafeTensorsError message is not one line: \(message)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let file = try SafeTensorsFile.parse(bytes, file: "fuzz.safetensors")
        for tensor in file.tensors {
            precondition(TensorEntry.byteLength(dtype: tensor.dtype, shape: tensor.shape) == tensor.data.count,
                         "tensor \(tensor.name): shape and bytes disagree")
            let count = tensor.dtype.isFloatingPoint ? try tensor.floats().count : try tensor.int64Scalars().count
            precondition(count == tensor.elementCount, "tensor \(tensor.name): \(count) values for \(tensor.elementCount) elements")
        }
        let again = try SafeTensorsFile.parse(file.serialized(), file: "again.safetensors")
        precondition(again == file, "serialize → parse changed the file")
    } catch {
        checkMessage(error)
    }
    return 0
}
