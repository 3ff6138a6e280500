import ArgumentParser
import SwiftletGGUF

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a GGUF file's version, metadata and tensors.")

    @Argument(help: "The GGUF file.") var model: String
    @Flag(help: "Print one JSON object (always with every tensor).") var json = false
    @Flag(help: "List every tensor.") var tensors = false
    @Flag(help: "With --json, print long arrays in full instead of summarising them.") var fullArrays = false

    /// Arrays longer than this are summarised by element type and length.
    static let arraySummaryThreshold = 64

    func run() throws {
        try reportingErrors {
            let file = try GGUFFile(path: model)
            print(json ? Inspect.json(file, fullArrays: fullArrays) : Inspect.text(file, listTensors: tensors))
        }
    }

    static func json(_ file: GGUFFile, fullArrays: Bool = false) -> String {
        let limit = fullArrays ? Int.max : arraySummaryThreshold
        let metadata = JSONText.object(file.metadata.entries.map { ($0.key, jsonValue($0.value, arrayLimit: limit)) })
        let tensors = file.tensors.map { t in
            JSONText.object([
                ("name", JSONText.string(t.name)),
                ("type", JSONText.string(t.type.name)),
                ("shape", JSONText.array(t.shape.map(String.init))),
                ("offset", String(t.offset)),
            ])
        }
        return JSONText.object([
            ("version", String(file.version)),
            ("alignment", String(file.alignment)),
            ("data_offset", String(file.dataOffset)),
            ("tensor_count", String(file.tensors.count)),
            ("parameter_count", String(file.parameterCount)),
            ("tensor_bytes", String(file.tensorBytes)),
            ("metadata", metadata),
            ("tensors", JSONText.array(tensors)),
        ])
    }

    static func jsonValue(_ v: GGUFValue, arrayLimit: Int = arraySummaryThreshold) -> String {
        switch v {
        case .string(let s): return JSONText.string(s)
        case .bool(let b): return b ? "true" : "false"
        case .float32(let f): return JSONText.number(Double(f))
        case .float64(let d): return JSONText.number(d)
        case .array(let a): return jsonArray(a, limit: arrayLimit)
        default: return String(describing: v.int.map(String.init) ?? uint64Text(v))
        }
    }

    private static func uint64Text(_ v: GGUFValue) -> String {
        if case .uint64(let x) = v { return String(x) }
        return "null"
    }

    static func jsonArray(_ a: GGUFArray, limit: Int) -> String {
        if a.count > limit {
            return JSONText.object([("array_of", JSONText.string(a.elementType.name)), ("length", String(a.count))])
        }
        return JSONText.array(a.values.map { jsonValue($0, arrayLimit: limit) })
    }

    static func text(_ file: GGUFFile, listTensors: Bool) -> String {
        var lines: [String] = []
        lines.append("GGUF version \(file.version), alignment \(file.alignment), data at offset \(file.dataOffset)")
        lines.append("metadata: \(file.metadata.count) keys")
        for (key, value) in file.metadata.entries {
            lines.append("  \(key) = \(textValue(value))")
        }
        lines.append("tensors: \(file.tensors.count)")
        var perType: [GGMLType: Int] = [:]
        for t in file.tensors { perType[t.type, default: 0] += 1 }
        for (type, count) in perType.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            lines.append("  \(type.name): \(count)")
        }
        lines.append("parameters: \(file.parameterCount) (\(formatCount(file.parameterCount)))")
        lines.append("tensor bytes: \(file.tensorBytes) (\(formatBytes(file.tensorBytes)))")
        if listTensors {
            for t in file.tensors {
                lines.append("  \(t.name)  \(t.type.name)  [\(t.shape.map(String.init).joined(separator: ", "))]  offset \(t.offset)  \(t.byteCount) bytes")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func textValue(_ v: GGUFValue) -> String {
        switch v {
        case .string(let s):
            let shown = s.count > 120 ? String(s.prefix(120)) + "…" : s
            return JSONText.string(shown) + (s.count > 120 ? " (\(s.utf8.count) bytes)" : "")
        case .array(let a) where a.count > 16:
            return "[\(a.elementType.name) × \(a.count)]"
        case .array(let a):
            return "[" + a.values.map(textValue).joined(separator: ", ") + "]"
        default:
            return jsonValue(v)
        }
    }

    static func formatCount(_ n: Int) -> String {
        n >= 1_000_000_000 ? "\(Double(n / 10_000_000) / 100) B" : "\(Double(n / 10_000) / 100) M"
    }

    static func formatBytes(_ n: Int) -> String {
        "\(Double(n / 10_000) / 100) MB"
    }
}
