import Foundation

/// One row of `swiftlet bench` output: a model × test × thread count, with llama-bench's field names.
struct BenchResult {
    var modelFilename: String
    var modelType: String
    var modelSize: Int
    var modelParameters: Int
    var nPrompt: Int
    var nGen: Int
    var nDepth: Int
    var nThreads: Int
    /// Sequences decoding together in a generation test (continuous batching); tokens/s count all.
    var nSequences = 1
    /// Tokens per second of each repetition.
    var samples: [Double]

    var testName: String {
        var name = nPrompt > 0 ? "pp\(nPrompt)" : "tg\(nGen)"
        if nDepth > 0 { name += " @ d\(nDepth)" }
        if nSequences > 1 { name += " × \(nSequences) seq" }
        return name
    }

    var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }

    /// Sample standard deviation, as llama-bench reports it.
    var standardDeviation: Double {
        guard samples.count > 1 else { return 0 }
        let m = mean
        return (samples.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(samples.count - 1)).squareRoot()
    }
}

/// Facts about the build and the machine that every bench row carries.
struct BenchEnvironment {
    var commit: String
    var cpu: String
    var date: String

    static func current() -> BenchEnvironment {
        BenchEnvironment(commit: gitCommit(), cpu: cpuName(), date: ISO8601DateFormatter().string(from: Date()))
    }

    static func cpuName() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    static func gitCommit() -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        process.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !out.isEmpty ? out : "unknown"
    }
}

/// Formats bench results as llama-bench does: a markdown table, a JSON array or CSV.
enum BenchFormatter {
    static func markdown(_ results: [BenchResult], env: BenchEnvironment) -> String {
        var lines = [
            "| model | size | params | threads | test | t/s |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in results {
            let size = String(format: "%.2f MiB", Double(r.modelSize) / 1_048_576)
            let params = String(format: "%.2f M", Double(r.modelParameters) / 1e6)
            let ts = String(format: "%.2f ± %.2f", r.mean, r.standardDeviation)
            lines.append("| \(r.modelFilename) \(r.modelType) | \(size) | \(params) | \(r.nThreads) | \(r.testName) | \(ts) |")
        }
        lines.append("")
        lines.append("build: \(env.commit), CPU: \(env.cpu)")
        return lines.joined(separator: "\n")
    }

    static func json(_ results: [BenchResult], env: BenchEnvironment) -> String {
        let rows = results.map { r in
            JSONText.object([
                ("build_commit", JSONText.string(env.commit)),
                ("cpu_info", JSONText.string(env.cpu)),
                ("model_filename", JSONText.string(r.modelFilename)),
                ("model_type", JSONText.string(r.modelType)),
                ("model_size", String(r.modelSize)),
                ("model_n_params", String(r.modelParameters)),
                ("n_prompt", String(r.nPrompt)),
                ("n_gen", String(r.nGen)),
                ("n_depth", String(r.nDepth)),
                ("n_threads", String(r.nThreads)),
                ("n_sequences", String(r.nSequences)),
                ("test_time", JSONText.string(env.date)),
                ("avg_ts", JSONText.number(r.mean)),
                ("stddev_ts", JSONText.number(r.standardDeviation)),
                ("samples_ts", JSONText.array(r.samples.map(JSONText.number))),
            ])
        }
        return "[\n" + rows.map { "  " + $0 }.joined(separator: ",\n") + "\n]"
    }

    static func csv(_ results: [BenchResult], env: BenchEnvironment) -> String {
        var lines = ["build_commit,cpu_info,model_filename,model_type,model_size,model_n_params,n_prompt,n_gen,n_depth,n_threads,avg_ts,stddev_ts"]
        for r in results {
            let fields = [env.commit, env.cpu, r.modelFilename, r.modelType, String(r.modelSize), String(r.modelParameters),
                          String(r.nPrompt), String(r.nGen), String(r.nDepth), String(r.nThreads),
                          String(format: "%.6f", r.mean), String(format: "%.6f", r.standardDeviation)]
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
