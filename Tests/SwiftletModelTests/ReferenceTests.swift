import Foundation
import Testing
import SwiftletKVCache
import SwiftletModel

/// llama.cpp's greedy continuations (shared/reference/README.md).
struct GreedyReference: Decodable {
    struct Result: Decodable {
        let prompt: String
        let prompt_ids: [Int]
        let generated_ids: [Int]
        let top5: [[[Double]]]
    }
    let results: [Result]

    static func load(_ name: String) throws -> GreedyReference {
        let dir = ProcessInfo.processInfo.environment["SWIFTLET_REFERENCE"] ?? TestPaths.packageRoot.path + "/../shared/reference"
        let url = URL(fileURLWithPath: dir + "/" + name)
        return try JSONDecoder().decode(GreedyReference.self, from: Data(contentsOf: url))
    }
}

func logSoftmax(_ l: UnsafeBufferPointer<Float>) -> [Double] {
    let m = Double(l.max() ?? 0)
    let lse = m + log(l.reduce(0.0) { $0 + exp(Double($1) - m) })
    return l.map { Double($0) - lse }
}

/// Greedy ids from the model for `steps` tokens; stops early at the end of the reference.
func greedy(_ model: Model, prompt: [Int], steps: Int) throws -> [Int] {
    let cache = try model.makeCache(context: 512)
    var logits = try model.forward(prompt, cache: cache)
    var out: [Int] = []
    for _ in 0..<steps {
        let next = logits.indices.max { logits[$0] < logits[$1] }!
        out.append(next)
        logits = try model.forward([next], cache: cache)
    }
    return out
}

/// Compares greedy paths and teacher-forced top-5 log-probabilities with llama.cpp's.
func checkAgainstReference(model file: String, reference: String, steps: Int = 32, tolerance: Double = 0.15) throws {
    let model = try Model(path: try TestPaths.model(file), threads: 2)
    let ref = try GreedyReference.load(reference)
    var matchedTotal = 0, comparedTotal = 0
    for r in ref.results {
        let n = min(steps, r.generated_ids.count)
        let ours = try greedy(model, prompt: r.prompt_ids, steps: n)
        var matched = 0
        while matched < n && ours[matched] == r.generated_ids[matched] { matched += 1 }
        if matched < n {
            let gap = r.top5[matched][0][1] - r.top5[matched][1][1]
            #expect(gap < 0.1, "\(file): '\(r.prompt)' leaves llama.cpp's path at token \(matched) (ours \(ours[matched]), theirs \(r.generated_ids[matched])) where its top-2 gap is \(gap) nats")
        }
        matchedTotal += matched; comparedTotal += n

        // Teacher forcing: the reference ids fed in, our top-5 log-probs against theirs.
        let cache = try model.makeCache(context: 512)
        let fed = r.prompt_ids + r.generated_ids.prefix(n - 1)
        var worst = 0.0
        try model.evaluate(fed, cache: cache, logitRows: (r.prompt_ids.count - 1)..<fed.count) { i, logits in
            let lp = logSoftmax(logits)
            for pair in r.top5[i - r.prompt_ids.count + 1] { worst = max(worst, abs(lp[Int(pair[0])] - pair[1])) }
        }
        #expect(worst < tolerance, "\(file): '\(r.prompt)' teacher-forced top-5 log-prob differs by up to \(worst)")
        print("[reference] \(file) '\(r.prompt.prefix(30))': greedy \(matched)/\(n), teacher-forced max |Δ log p| \(worst)")
    }
    print("[reference] \(file): greedy tokens matched \(matchedTotal)/\(comparedTotal)")
}

@Suite(.serialized) struct ReferenceTests {
    @Test func smollm2MatchesLlamaCpp() throws {
        try checkAgainstReference(model: TestPaths.smollm2, reference: "greedy_smollm2_q4_1.json")
    }

    @Test func gemma3MatchesLlamaCpp() throws {
        try checkAgainstReference(model: TestPaths.gemma3, reference: "greedy_gemma3_q4_k_m.whole_prompt_batch.json")
    }
}
