import Foundation

/// Which half of an MNIST-style dataset to load.
public enum Split: String, Sendable, CaseIterable {
    /// 60,000 examples in MNIST: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`.
    case train
    /// 10,000 examples in MNIST: `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`.
    case test

    /// The images file name, without `.gz`.
    public var imagesFileName: String {
        switch self {
        case .train: return MNISTFileNames.trainImages
        case .test: return MNISTFileNames.testImages
        }
    }

    /// The labels file name, without `.gz`.
    public var labelsFileName: String {
        switch self {
        case .train: return MNISTFileNames.trainLabels
        case .test: return MNISTFileNames.testLabels
        }
    }
}

/// The four file names of the MNIST distribution, shared by Fashion-MNIST and KMNIST.
enum MNISTFileNames {
    static let trainImages = "train-images-idx3-ubyte"
    static let trainLabels = "train-labels-idx1-ubyte"
    static let testImages = "t10k-images-idx3-ubyte"
    static let testLabels = "t10k-labels-idx1-ubyte"
    static let all = [trainImages, trainLabels, testImages, testLabels]
}

extension LabeledImages {
    /// Loads one split of an MNIST-style dataset from a directory holding the standard file names
    /// (see ``Split``), each gzipped (`.gz`, preferred when both exist) or raw.
    ///
    /// - Parameters:
    ///   - directory: the folder, e.g. `Data`.
    ///   - split: ``Split/train`` or ``Split/test``.
    ///   - classCount: labels must be below this (10 for MNIST); 1...256.
    ///   - byteLimit: the largest file, and largest decompressed contents, to accept.
    /// - Throws: ``IDXError/directoryNotFound(directory:)``,
    ///   ``IDXError/datasetFileNotFound(directory:name:)``, or anything
    ///   ``load(images:labels:classCount:byteLimit:)`` throws.
    public static func load(
        directory: String, split: Split, classCount: Int = 10, byteLimit: Int = IDXArray.defaultByteLimit
    ) throws(IDXError) -> LabeledImages {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw .directoryNotFound(directory: directory)
        }
        return try load(images: locate(split.imagesFileName, in: directory),
                        labels: locate(split.labelsFileName, in: directory),
                        classCount: classCount, byteLimit: byteLimit)
    }

    /// The path of `name.gz` in `directory` if it exists, else of `name`.
    ///
    /// - Throws: ``IDXError/datasetFileNotFound(directory:name:)`` if neither exists.
    static func locate(_ name: String, in directory: String) throws(IDXError) -> String {
        let raw = joinPath(directory, name)
        for path in [raw + ".gz", raw] where FileManager.default.fileExists(atPath: path) {
            return path
        }
        throw .datasetFileNotFound(directory: directory, name: name)
    }
}
