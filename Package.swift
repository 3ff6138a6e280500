// swift-tools-version: 6.1
//
// Swiftlet: a pure-Swift engine that runs GGUF language models on the CPU.
// Layers, bottom to top (each module imports only those below it):
//   SwiftletGGUF → SwiftletKernels → SwiftletTokenizer, SwiftletKVCache, SwiftletSampling, SwiftletGrammar
//   → SwiftletChat (templates, tool-call formats; uses SwiftletGrammar)
//   → SwiftletAttention (kernels over a KV cache) → SwiftletModel → Swiftlet → SwiftletProvider → SwiftletServer → swiftlet (CLI)
import PackageDescription

let package = Package(
    name: "Swiftlet",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SwiftletGGUF", targets: ["SwiftletGGUF"]),
        .library(name: "SwiftletTokenizer", targets: ["SwiftletTokenizer"]),
        .library(name: "SwiftletKernels", targets: ["SwiftletKernels"]),
        .library(name: "SwiftletKVCache", targets: ["SwiftletKVCache"]),
        .library(name: "SwiftletAttention", targets: ["SwiftletAttention"]),
        .library(name: "SwiftletModel", targets: ["SwiftletModel"]),
        .library(name: "SwiftletSampling", targets: ["SwiftletSampling"]),
        .library(name: "SwiftletGrammar", targets: ["SwiftletGrammar"]),
        .library(name: "SwiftletChat", targets: ["SwiftletChat"]),
        .library(name: "Swiftlet", targets: ["Swiftlet"]),
        .library(name: "SwiftletProvider", targets: ["SwiftletProvider"]),
        .library(name: "SwiftletServer", targets: ["SwiftletServer"]),
        .executable(name: "swiftlet", targets: ["swiftlet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // `swiftlet serve --config FILE.yaml`: the model list and server settings.
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // `swift package generate-documentation --target Swiftlet` (the DocC catalog in Sources/Swiftlet).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .target(name: "SwiftletGGUF"),
        .target(name: "SwiftletTokenizer", dependencies: ["SwiftletGGUF"]),
        .target(name: "SwiftletKernels", dependencies: ["SwiftletGGUF"]),
        .target(name: "SwiftletKVCache"),
        // Attention over a KV cache: which kernel, split and order each batch takes (ggml's flash attention).
        .target(name: "SwiftletAttention", dependencies: ["SwiftletKernels", "SwiftletKVCache"]),
        // Conversion/ reads tokenizer files with SwiftletTokenizer (the WordPiece phantom-space form).
        .target(
            name: "SwiftletModel",
            dependencies: ["SwiftletGGUF", "SwiftletKernels", "SwiftletTokenizer", "SwiftletKVCache", "SwiftletAttention"]
        ),
        .target(name: "SwiftletSampling"),
        // GBNF grammars, their token-level matcher, and JSON Schema → grammar (llama.cpp's llama-grammar).
        .target(name: "SwiftletGrammar"),
        .target(name: "SwiftletChat", dependencies: ["SwiftletGrammar"]),
        .target(
            name: "Swiftlet",
            dependencies: [
                "SwiftletGGUF", "SwiftletKernels", "SwiftletTokenizer", "SwiftletKVCache", "SwiftletSampling",
                "SwiftletGrammar", "SwiftletChat", "SwiftletModel",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SwiftletProvider", dependencies: ["Swiftlet"]),
        .target(
            name: "SwiftletServer",
            dependencies: [
                "SwiftletProvider",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "swiftlet",
            dependencies: [
                "SwiftletGGUF",
                "SwiftletKernels",
                "SwiftletTokenizer",
                "SwiftletKVCache",
                "SwiftletModel",
                "SwiftletSampling",
                "SwiftletChat",
                "Swiftlet",
                "SwiftletServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Docs/LibreChat.md's example of mounting the routes in a host application; built with the package.
        .executableTarget(
            name: "swiftlet-server-example",
            dependencies: ["Swiftlet", "SwiftletProvider", "SwiftletServer", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Examples/ServerEmbedding"
        ),
        // The kernel benchmark: `.build/release/swiftlet-kernel-bench`.
        .executableTarget(
            name: "swiftlet-kernel-bench",
            dependencies: ["SwiftletGGUF", "SwiftletKernels"],
            path: "Benchmarks/KernelBench"
        ),
        // Paths the test targets share (fixtures, models, references); not a product.
        .target(name: "SwiftletTestSupport", dependencies: ["SwiftletModel", "SwiftletGGUF"], path: "Tests/SwiftletTestSupport"),
        .testTarget(name: "SwiftletGGUFTests", dependencies: ["SwiftletGGUF", "SwiftletTestSupport"]),
        .testTarget(name: "SwiftletTokenizerTests", dependencies: ["SwiftletTokenizer", "SwiftletGGUF", "SwiftletTestSupport"]),
        .testTarget(name: "SwiftletKernelsTests", dependencies: ["SwiftletKernels", "SwiftletGGUF"]),
        .testTarget(name: "SwiftletKVCacheTests", dependencies: ["SwiftletKVCache"]),
        .testTarget(name: "SwiftletAttentionTests", dependencies: ["SwiftletAttention", "SwiftletKVCache", "SwiftletKernels"]),
        .testTarget(name: "SwiftletModelTests", dependencies: ["SwiftletModel", "SwiftletGGUF", "SwiftletKVCache", "SwiftletTestSupport"]),
        .testTarget(name: "SwiftletSamplingTests", dependencies: ["SwiftletSampling"]),
        .testTarget(name: "SwiftletGrammarTests", dependencies: ["SwiftletGrammar", "SwiftletSampling"]),
        .testTarget(name: "SwiftletChatTests", dependencies: ["SwiftletChat", "SwiftletGrammar", "SwiftletSampling"]),
        .testTarget(name: "SwiftletProviderTests", dependencies: ["SwiftletProvider"]),
        .testTarget(
            name: "SwiftletServerTests",
            dependencies: [
                "SwiftletServer", "SwiftletTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "SwiftletTests",
            dependencies: [
                "Swiftlet", "SwiftletModel", "SwiftletGGUF", "SwiftletTokenizer", "SwiftletTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
