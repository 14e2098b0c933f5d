// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwiftDarknet",
    products: [
        .library(name: "Darknet", targets: ["Darknet"]),
        .executable(name: "swift-darknet", targets: ["swift-darknet"]),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CTurboJPEG",
            path: "Sources/CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            path: "Sources/CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // GNU declarations of the C library that Swift's Glibc module leaves out (mremap, leases).
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        // CPUID and XGETBV, which Swift cannot emit, to choose OpenBLAS's kernels.
        .target(name: "CCPUID", path: "Sources/CCPUID"),
        // The direct convolution kernel: AVX-512 intrinsics in functions of their own target,
        // chosen at run time, which Swift's SIMD types (baseline x86-64) cannot express.
        .target(name: "CDirectConvolution", path: "Sources/CDirectConvolution"),
        .target(name: "Darknet", dependencies: ["COpenBLAS", "CTurboJPEG", "CPNG", "CLinux", "CCPUID", "CDirectConvolution"]),
        .executableTarget(name: "swift-darknet", dependencies: ["Darknet"]),
        .testTarget(name: "DarknetTests", dependencies: ["Darknet"], exclude: ["Fixtures"]),
        // Depends on the executable so that `swift test` builds the binary these tests run.
        .testTarget(name: "CLITests", dependencies: ["swift-darknet"]),
    ]
)
