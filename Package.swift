// swift-tools-version:5.9
import Foundation
import PackageDescription

/// The core layer module is compiled for the CPU that builds it (`-target-cpu native`: AVX-512 on the
/// development machine), with bitwise-identical results (the speed-up is in Sources/CNN/README.md). Such
/// binaries may stop with an illegal instruction on an older CPU: set CNN_PORTABLE=1 when building for
/// other machines.
let cpuSettings: [SwiftSetting] = ProcessInfo.processInfo.environment["CNN_PORTABLE"] == nil
    ? [.unsafeFlags(["-target-cpu", "native"])]
    : []

/// The core layer module is optimized in debug builds too: its vector kernels (the direct convolution, the
/// Winograd transforms, pooling) are meant to run at -O; unoptimized they dominate `swift test`'s time.
/// Preconditions stay in (they are kept at -O); only `assert` would go, and the module uses none.
let alwaysOptimized: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "cnn",
    products: [
        .executable(name: "cnn-train", targets: ["cnn-train"]),
        .executable(name: "cnn-eval", targets: ["cnn-eval"]),
        .executable(name: "cnn-bench", targets: ["cnn-bench"]),
        .executable(name: "cnn-plot", targets: ["cnn-plot"]),
        .executable(name: "cnn-predict", targets: ["cnn-predict"]),
        .executable(name: "cnn-export", targets: ["cnn-export"]),
        .library(name: "CNN", targets: ["CNN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: System libraries (module map + shim header)
        .systemLibrary(name: "CZlib", path: "Sources/CZlib",
                       providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSPNG", path: "Sources/CSPNG",
                       providers: [.apt(["libspng-dev"]), .brew(["libspng"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG",
                       providers: [.apt(["libturbojpeg0-dev"]), .brew(["jpeg-turbo"])]),

        // MARK: Libraries
        /// The core layer module: tensors, layers (reference and fast), loss, optimizers, schedules.
        .target(name: "CNN", dependencies: [
            .product(name: "RealModule", package: "swift-numerics"),
            .target(name: "CBLAS", condition: .when(platforms: [.linux])),
        ], exclude: ["README.md"], swiftSettings: cpuSettings + alwaysOptimized),
        /// IDX files, raw or gzipped (through zlib); no other dependency, so it can be fuzzed alone.
        .target(name: "IDX", dependencies: ["CZlib"], exclude: ["README.md"]),
        /// Whole-file replacement (temporary file, fsync, rename), line appends and capped reads through the C
        /// library alone, with one error type; the readers above it can still be fuzzed alone with its sources.
        .target(name: "POSIXFile", exclude: ["README.md"]),
        /// The safetensors container format; pure Swift over POSIXFile, so it can be fuzzed alone.
        .target(name: "SafeTensors", dependencies: ["POSIXFile"], exclude: ["README.md"]),
        /// Image files: PNG through libspng, JPEG through TurboJPEG (with EXIF orientation), PGM/PPM; no other
        /// dependency, so its readers can be fuzzed alone.
        .target(name: "Images", dependencies: ["CSPNG", "CTurboJPEG", "POSIXFile"], exclude: ["README.md"]),
        /// Architectures, datasets, checkpoints, the training loop, evaluation, and running networks over
        /// images (inference, mistakes, digit preprocessing).
        .target(name: "Training", dependencies: ["CNN", "IDX", "POSIXFile", "SafeTensors", "Images", "CZlib", "BuildInfo"], exclude: ["README.md"]),
        /// Charts, heat maps and digit grids drawn into images: training curves, confusion matrices, filters.
        /// It draws what it is given and runs no network, so it depends on Images alone.
        .target(name: "Pictures", dependencies: ["Images"], exclude: ["README.md"]),
        /// ONNX export of a checkpoint; onnx.pb.swift is generated from onnx.proto once and committed (README).
        .target(name: "ONNX", dependencies: [
            "CNN", "Training", "SafeTensors",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["README.md", "onnx.proto"]),
        /// The version and the git commit the tools are built from (written before each build by BuildInfoPlugin).
        .target(name: "BuildInfo", plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        /// The command-line front ends, as a library so tests can parse and validate in-process.
        .target(name: "CLI", dependencies: [
            "Training", "Pictures", "Images", "ONNX", "BuildInfo",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: ["README.md"]),

        // MARK: Executables (thin)
        .executableTarget(name: "cnn-train", dependencies: ["CLI"]),
        .executableTarget(name: "cnn-eval", dependencies: ["CLI"]),
        .executableTarget(name: "cnn-bench", dependencies: ["CLI"]),
        .executableTarget(name: "cnn-plot", dependencies: ["CLI"]),
        .executableTarget(name: "cnn-predict", dependencies: ["CLI"]),
        .executableTarget(name: "cnn-export", dependencies: ["CLI"]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["CNN"], path: "Tests/TestSupport"),
        .testTarget(name: "CNNTests", dependencies: ["CNN", "TestSupport"]),
        .testTarget(name: "IDXTests", dependencies: ["IDX", "CZlib"]),
        .testTarget(name: "POSIXFileTests", dependencies: ["POSIXFile"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TestSupport", "BuildInfo"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "Training", "BuildInfo"]),
        .testTarget(name: "ImagesTests", dependencies: ["Images", "CZlib"]),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "Training", "CNN", "CLI", "SafeTensors", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "PicturesTests", dependencies: ["Pictures", "Images", "Training", "CLI"]),
    ]
)
