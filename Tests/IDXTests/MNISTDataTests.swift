import Foundation
import IDX
import XCTest

/// The real MNIST files in `Data/` load and hold what MNIST is known to hold.
///
/// One test, so the ~11 MB of gzip are decompressed once per run.
final class MNISTDataTests: XCTestCase {
    /// `Data/` of the package, found from this source file (symbolic links resolved, so it also
    /// works when the test directory is linked into a scratch package), not the working directory.
    private static let dataDirectory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent() // IDXTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent() // the package
        .appendingPathComponent("Data").path

    func testRealMNISTLoads() throws {
        let start = Date()
        let train = try LabeledImages.load(directory: Self.dataDirectory, split: .train)
        let test = try LabeledImages.load(directory: Self.dataDirectory, split: .test)
        print("loaded MNIST train and test from \(Self.dataDirectory) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")

        XCTAssertEqual([train.count, train.rows, train.columns], [60_000, 28, 28])
        XCTAssertEqual([test.count, test.rows, test.columns], [10_000, 28, 28])
        XCTAssertEqual(train.pixels.count, 60_000 * 784)
        XCTAssertEqual(test.pixels.count, 10_000 * 784)

        // The first training digit is a 5, the first test digit a 7.
        XCTAssertEqual(Array(train.labels.prefix(5)), [5, 0, 4, 1, 9])
        XCTAssertEqual(Array(test.labels.prefix(5)), [7, 2, 1, 0, 4])

        // Published per-class counts of MNIST.
        XCTAssertEqual(histogram(train.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        XCTAssertEqual(histogram(test.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        XCTAssertEqual(histogram(train.labels).reduce(0, +), train.count)
        XCTAssertEqual(histogram(test.labels).reduce(0, +), test.count)

        // Pixel sums of the first and last images, computed with Python's gzip module.
        XCTAssertEqual(pixelSum(train, image: 0), 27525)
        XCTAssertEqual(pixelSum(train, image: 59_999), 20920)
        XCTAssertEqual(pixelSum(test, image: 0), 18454)
        XCTAssertEqual(pixelSum(test, image: 9_999), 41833)
    }

    private func histogram(_ labels: [UInt8]) -> [Int] {
        var counts = [Int](repeating: 0, count: 10)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    private func pixelSum(_ set: LabeledImages, image: Int) -> Int {
        set.pixels[image * 784 ..< (image + 1) * 784].reduce(0) { $0 + Int($1) }
    }
}
