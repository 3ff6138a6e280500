import ArgumentParser
import Swiftlet
import SwiftletKVCache

/// `--cache-type-k` / `--cache-type-v` (llama.cpp's `-ctk` / `-ctv` work too): how the KV cache stores
/// keys and values.
struct CacheTypeFlags: ParsableArguments {
    @Option(name: [.customLong("cache-type-k"), .customLong("ctk", withSingleDash: true)], help: ArgumentHelp(
        "KV cache type for K: f16, q8_0 (about half the memory) or f32.", valueName: "type"))
    var cacheTypeK: CacheTypeName = .f16
    @Option(name: [.customLong("cache-type-v"), .customLong("ctv", withSingleDash: true)], help: ArgumentHelp(
        "KV cache type for V: f16, q8_0 (about half the memory) or f32.", valueName: "type"))
    var cacheTypeV: CacheTypeName = .f16

    /// A short label for reports: `f16` when both are F16, else `K/V`.
    var label: String {
        cacheTypeK == cacheTypeV ? cacheTypeK.rawValue : "\(cacheTypeK.rawValue)/\(cacheTypeV.rawValue)"
    }
}

/// A cache type's name on the command line, llama.cpp's spelling.
enum CacheTypeName: String, ExpressibleByArgument, CaseIterable, Sendable {
    case f16
    case q8_0
    case f32

    /// The facade's type (``Swiftlet/Model/LoadOptions``).
    var facade: KVCacheType {
        switch self {
        case .f16: .f16
        case .q8_0: .q8_0
        case .f32: .f32
        }
    }

    /// The cache module's type (commands that drive the transformer directly).
    var storage: KVStorageType {
        switch self {
        case .f16: .f16
        case .q8_0: .q8_0
        case .f32: .f32
        }
    }
}
