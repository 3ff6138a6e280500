import Foundation
import Testing
import SwiftletTestSupport
import SwiftletModel
import SwiftletKVCache

/// Debug aid: with SWIFTLET_PROBE=model-file and SWIFTLET_DUMP=dir, dumps one forward pass over
/// SWIFTLET_PROBE_IDS (comma-separated). Does nothing otherwise.
@Test func dumpProbe() throws {
    let env = ProcessInfo.processInfo.environment
    let dir = env["SWIFTLET_DUMP"]
    guard let file = env["SWIFTLET_PROBE"], let ids = env["SWIFTLET_PROBE_IDS"] else { return }
    let tokens = ids.split(separator: ",").compactMap { Int($0) }
    let model = try Transformer(path: try TestPaths.model(file), threads: 2, dumpDirectory: dir?.isEmpty == false ? dir : nil)
    let cache = try model.makeCache(context: 512)
    let logits = try model.forward(tokens, cache: cache)
    let lp = logits.withUnsafeBufferPointer { logSoftmax($0) }
    let top = lp.indices.sorted { lp[$0] > lp[$1] }.prefix(5)
    print("[probe] top5", top.map { "\($0):\(String(format: "%.4f", lp[$0]))" }.joined(separator: " "))
}

/// Debug aid: with SWIFTLET_PROBE=model-file and SWIFTLET_PPL_IDS=file of comma-separated token ids
/// (and SWIFTLET_PPL_BOS=id when the model adds BOS), prints llama-perplexity's figure at ctx 512.
@Test func perplexityProbe() throws {
    let env = ProcessInfo.processInfo.environment
    guard let file = env["SWIFTLET_PROBE"], let idsPath = env["SWIFTLET_PPL_IDS"] else { return }
    let text = try String(contentsOfFile: idsPath, encoding: .utf8)
    let tokens = text.split(whereSeparator: { $0 == "," || $0 == "\n" }).compactMap { Int($0) }
    let model = try Transformer(path: try TestPaths.model(file), threads: 2)
    let start = Date()
    let r = try evaluatePerplexity(model: model, tokens: tokens, context: 512, bos: env["SWIFTLET_PPL_BOS"].flatMap { Int($0) }, storage: env["SWIFTLET_PPL_KV"] == "f32" ? .f32 : .f16)
    print("[probe] perplexity \(r.perplexity) chunks \(r.chunks) scored \(r.scoredTokens) per-chunk \(r.perChunk.map { String(format: "%.4f", $0) }) in \(Date().timeIntervalSince(start)) s")
}
