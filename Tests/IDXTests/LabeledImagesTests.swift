import IDX
import XCTest

/// Pairs of images and labels files, and dataset directories with the MNIST file names.
final class LabeledImagesTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory = nil }

    /// Writes a (count, rows, columns) images file and a (labels.count) labels file; returns their paths.
    @discardableResult
    private func writePair(
        count: Int, rows: Int, columns: Int, labels: [UInt8], prefix: String = "set", gzip: Bool = false,
        seed: UInt32 = 1
    ) throws -> (images: String, labels: String) {
        let suffix = gzip ? ".gz" : ""
        let images = try IDXArray(dimensions: [count, rows, columns], bytes: pseudoRandomBytes(count * rows * columns, seed: seed))
        let labelArray = try IDXArray(dimensions: [labels.count], bytes: labels)
        let paths = (directory.path + "/\(prefix)-images\(suffix)", directory.path + "/\(prefix)-labels\(suffix)")
        try images.write(to: paths.0)
        try labelArray.write(to: paths.1)
        return paths
    }

    // MARK: Loading

    func testLoadsPairsOfSeveralSizes() throws {
        for (rows, columns) in [(14, 14), (32, 32), (5, 7), (28, 28)] {
            for gzip in [false, true] {
                let labels: [UInt8] = [3, 0, 9, 9, 1]
                let paths = try writePair(count: 5, rows: rows, columns: columns, labels: labels, gzip: gzip)
                let set = try LabeledImages.load(images: paths.images, labels: paths.labels)
                XCTAssertEqual([set.count, set.rows, set.columns], [5, rows, columns])
                XCTAssertEqual(set.pixelsPerImage, rows * columns)
                XCTAssertEqual(set.labels, labels)
                XCTAssertEqual(set.pixels, pseudoRandomBytes(5 * rows * columns))
            }
        }
    }

    func testClassCountIsHonoured() throws {
        let paths = try writePair(count: 3, rows: 2, columns: 2, labels: [0, 1, 2])
        XCTAssertEqual(try LabeledImages.load(images: paths.images, labels: paths.labels, classCount: 3).labels, [0, 1, 2])
        assertIDXError(try LabeledImages.load(images: paths.images, labels: paths.labels, classCount: 2),
                       .labelOutOfRange(file: paths.labels, index: 2, value: 2, classCount: 2))
        assertIDXError(try LabeledImages.load(images: paths.images, labels: paths.labels, classCount: 0),
                       .invalidClassCount(0))
        assertIDXError(try LabeledImages.load(images: paths.images, labels: paths.labels, classCount: 257),
                       .invalidClassCount(257))
    }

    func testInMemoryPair() throws {
        let images = try IDXArray(dimensions: [2, 1, 3], bytes: [1, 2, 3, 4, 5, 6])
        let labels = try IDXArray(dimensions: [2], bytes: [7, 8])
        let set = try LabeledImages(images: images, labels: labels)
        XCTAssertEqual(set.pixels, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(set.labels, [7, 8])
    }

    // MARK: Pairs that disagree

    func testCountMismatch() throws {
        let paths = try writePair(count: 4, rows: 5, columns: 7, labels: [1, 2, 3])
        assertIDXError(try LabeledImages.load(images: paths.images, labels: paths.labels),
                       .countMismatch(images: paths.images, labels: paths.labels, imageCount: 4, labelCount: 3),
                       mentions: ["set-images", "set-labels", "4 images", "3 labels"])
    }

    func testLabelOutOfRange() throws {
        let paths = try writePair(count: 4, rows: 2, columns: 2, labels: [1, 9, 10, 200])
        assertIDXError(try LabeledImages.load(images: paths.images, labels: paths.labels),
                       .labelOutOfRange(file: paths.labels, index: 2, value: 10, classCount: 10),
                       mentions: ["set-labels", "label 10", "index 2", "10 classes"])
    }

    func testZeroImages() throws {
        let paths = try writePair(count: 0, rows: 28, columns: 28, labels: [])
        assertIDXError(try LabeledImages.load(images: paths.images, labels: paths.labels),
                       .noImages(file: paths.images, dimensions: [0, 28, 28]))
        let flat = try writePair(count: 2, rows: 0, columns: 28, labels: [1, 2], prefix: "flat")
        assertIDXError(try LabeledImages.load(images: flat.images, labels: flat.labels),
                       .noImages(file: flat.images, dimensions: [2, 0, 28]))
    }

    func testWrongRank() throws {
        let images = directory.path + "/flat-images"
        let labels = directory.path + "/flat-labels"
        try IDXArray(dimensions: [2, 784], bytes: [UInt8](repeating: 0, count: 1568)).write(to: images)
        try IDXArray(dimensions: [2], bytes: [0, 1]).write(to: labels)
        assertIDXError(try LabeledImages.load(images: images, labels: labels),
                       .wrongRank(file: images, expected: 3, dimensions: [2, 784]),
                       mentions: ["flat-images", "2×784", "expected 3-D"])
        // Swapped: labels given as images.
        assertIDXError(try LabeledImages.load(images: labels, labels: labels),
                       .wrongRank(file: labels, expected: 3, dimensions: [2]))
        let paths = try writePair(count: 2, rows: 2, columns: 2, labels: [0, 1])
        assertIDXError(try LabeledImages.load(images: paths.images, labels: paths.images),
                       .wrongRank(file: paths.images, expected: 1, dimensions: [2, 2, 2]))
    }

    // MARK: Dataset directories

    func testDirectorySplits() throws {
        try writePair(count: 6, rows: 14, columns: 14, labels: [0, 1, 2, 3, 4, 5], prefix: "train", gzip: true)
        try writePair(count: 2, rows: 14, columns: 14, labels: [6, 7], prefix: "t10k", gzip: false)
        try rename("train-images.gz", "train-images-idx3-ubyte.gz")
        try rename("train-labels.gz", "train-labels-idx1-ubyte.gz")
        try rename("t10k-images", "t10k-images-idx3-ubyte")
        try rename("t10k-labels", "t10k-labels-idx1-ubyte")

        let train = try LabeledImages.load(directory: directory.path, split: .train)
        XCTAssertEqual([train.count, train.rows, train.columns], [6, 14, 14])
        let test = try LabeledImages.load(directory: directory.path + "/", split: .test)
        XCTAssertEqual(test.labels, [6, 7])
    }

    /// With both `name` and `name.gz` present, the `.gz` one is read.
    func testPrefersGzip() throws {
        try writePair(count: 1, rows: 2, columns: 2, labels: [4], prefix: "raw")
        try writePair(count: 1, rows: 2, columns: 2, labels: [9], prefix: "gz", gzip: true)
        try rename("raw-images", "t10k-images-idx3-ubyte")
        try rename("raw-labels", "t10k-labels-idx1-ubyte")
        try rename("gz-images.gz", "t10k-images-idx3-ubyte.gz")
        try rename("gz-labels.gz", "t10k-labels-idx1-ubyte.gz")
        XCTAssertEqual(try LabeledImages.load(directory: directory.path, split: .test).labels, [9])
    }

    func testMissingDirectory() throws {
        let missing = directory.path + "/no-such-dir"
        assertIDXError(try LabeledImages.load(directory: missing, split: .train), .directoryNotFound(directory: missing))
        let file = try directory.write([0], to: "a-file")
        assertIDXError(try LabeledImages.load(directory: file, split: .train), .directoryNotFound(directory: file))
    }

    func testMissingFileInDirectory() throws {
        try writePair(count: 1, rows: 2, columns: 2, labels: [4], prefix: "train", gzip: true)
        try rename("train-images.gz", "train-images-idx3-ubyte.gz")
        assertIDXError(try LabeledImages.load(directory: directory.path, split: .train),
                       .datasetFileNotFound(directory: directory.path, name: "train-labels-idx1-ubyte"),
                       mentions: [directory.path + "/train-labels-idx1-ubyte.gz"])
        assertIDXError(try LabeledImages.load(directory: directory.path, split: .test),
                       .datasetFileNotFound(directory: directory.path, name: "t10k-images-idx3-ubyte"))
    }

    func testSplitFileNames() {
        XCTAssertEqual(Split.allCases.map(\.imagesFileName), ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"])
        XCTAssertEqual(Split.allCases.map(\.labelsFileName), ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"])
        XCTAssertEqual(Split(rawValue: "test"), .test)
    }

    private func rename(_ from: String, _ to: String) throws {
        try FileManager.default.moveItem(atPath: directory.path + "/" + from, toPath: directory.path + "/" + to)
    }
}
