// swift-tools-version: 6.1
//
// libFuzzer targets for Swiftlet's untrusted-input parsers, kept out of the main package so that no product
// a user depends on carries sanitizer flags. Build and run them with `make fuzz` (see Docs/Fuzzing.md):
// each executable is built with `-sanitize=fuzzer,address`, and libFuzzer supplies `main`.
import PackageDescription

let package = Package(
    name: "SwiftletFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Swiftlet", path: "..")],
    targets: [
        // Calls libFuzzer's driver from each fuzzer's `@main` (see LibFuzzerDriver.swift).
        .target(name: "FuzzSupport", swiftSettings: [.enableExperimentalFeature("Extern")]),
        // GGUF reader: GGUFFile(bytes:), its metadata accessors and tensor infos.
        .executableTarget(
            name: "FuzzGGUF", dependencies: ["FuzzSupport", .product(name: "SwiftletGGUF", package: "Swiftlet")]),
        // Jinja chat templates: parse the input as a template and render a fixed conversation with it.
        .executableTarget(
            name: "FuzzJinja", dependencies: ["FuzzSupport", .product(name: "SwiftletChat", package: "Swiftlet")]),
        // OpenAI chat-completions request bodies: decode and validate, no model needed.
        .executableTarget(
            name: "FuzzRequest", dependencies: [
                "FuzzSupport",
                .product(name: "SwiftletProvider", package: "Swiftlet"),
                .product(name: "SwiftletGrammar", package: "Swiftlet"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
