/// A set of grey-scale images with one class label each, as in MNIST: an images IDX file of shape
/// (count, rows, columns) and a labels IDX file of shape (count), checked against each other.
public struct LabeledImages: Equatable, Sendable {
    /// Number of examples (images, and labels): at least 1.
    public let count: Int
    /// Image height in pixels: at least 1.
    public let rows: Int
    /// Image width in pixels: at least 1.
    public let columns: Int
    /// `count · rows · columns` pixel values, 0 (background) to 255, image after image, each image
    /// row-major: pixel (row r, column c) of image i is `pixels[(i · rows + r) · columns + c]`.
    public let pixels: [UInt8]
    /// `count` labels, each below the `classCount` the set was checked against.
    public let labels: [UInt8]

    /// `rows · columns`.
    public var pixelsPerImage: Int { rows * columns }

    /// Loads and checks an images file and a labels file (each raw or gzipped IDX).
    ///
    /// - Parameters:
    ///   - images: path of a 3-D unsigned-byte IDX file, (count, rows, columns).
    ///   - labels: path of a 1-D unsigned-byte IDX file, (count).
    ///   - classCount: labels must be below this (10 for MNIST); 1...256.
    ///   - byteLimit: the largest file, and largest decompressed contents, to accept.
    /// - Throws: anything ``IDXArray/read(contentsOf:byteLimit:)`` throws, or what
    ///   ``init(images:labels:imagesFile:labelsFile:classCount:)`` throws.
    public static func load(
        images: String, labels: String, classCount: Int = 10, byteLimit: Int = IDXArray.defaultByteLimit
    ) throws(IDXError) -> LabeledImages {
        guard (1 ... 256).contains(classCount) else { throw .invalidClassCount(classCount) }
        let imageArray = try IDXArray.read(contentsOf: images, byteLimit: byteLimit)
        let labelArray = try IDXArray.read(contentsOf: labels, byteLimit: byteLimit)
        return try LabeledImages(images: imageArray, labels: labelArray,
                                 imagesFile: images, labelsFile: labels, classCount: classCount)
    }

    /// Checks an images array against a labels array already in memory.
    ///
    /// - Parameters:
    ///   - images: 3-D, (count, rows, columns), with no zero dimension.
    ///   - labels: 1-D, (count).
    ///   - imagesFile, labelsFile: names used in error messages.
    ///   - classCount: labels must be below this; 1...256.
    /// - Throws: ``IDXError/invalidClassCount(_:)``, ``IDXError/wrongRank(file:expected:dimensions:)``,
    ///   ``IDXError/countMismatch(images:labels:imageCount:labelCount:)``, ``IDXError/noImages(file:dimensions:)``,
    ///   ``IDXError/labelOutOfRange(file:index:value:classCount:)`` (for the first bad label).
    public init(
        images: IDXArray, labels: IDXArray, imagesFile: String = "<images>", labelsFile: String = "<labels>",
        classCount: Int = 10
    ) throws(IDXError) {
        guard (1 ... 256).contains(classCount) else { throw .invalidClassCount(classCount) }
        guard images.dimensions.count == 3 else {
            throw .wrongRank(file: imagesFile, expected: 3, dimensions: images.dimensions)
        }
        guard labels.dimensions.count == 1 else {
            throw .wrongRank(file: labelsFile, expected: 1, dimensions: labels.dimensions)
        }
        let (count, rows, columns) = (images.dimensions[0], images.dimensions[1], images.dimensions[2])
        guard labels.dimensions[0] == count else {
            throw .countMismatch(images: imagesFile, labels: labelsFile,
                                 imageCount: count, labelCount: labels.dimensions[0])
        }
        guard count > 0, rows > 0, columns > 0 else {
            throw .noImages(file: imagesFile, dimensions: images.dimensions)
        }
        if let index = labels.bytes.firstIndex(where: { Int($0) >= classCount }) {
            throw .labelOutOfRange(file: labelsFile, index: index, value: labels.bytes[index], classCount: classCount)
        }
        self.count = count
        self.rows = rows
        self.columns = columns
        self.pixels = images.bytes
        self.labels = labels.bytes
    }
}
