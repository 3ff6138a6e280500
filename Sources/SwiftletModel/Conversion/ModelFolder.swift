import Foundation
import SwiftletGGUF

/// A Hugging Face model folder: `config.json`, the tokenizer files and the weights in one
/// `model.safetensors` or in shards listed by `model.safetensors.index.json`.
public struct ModelFolder: Sendable {
    public let path: String
    /// `config.json`.
    public let config: JSONObject
    /// Each tensor's file.
    let shards: [String: SafetensorsFile]
    /// Tensor name → the file holding it.
    let owner: [String: String]

    public init(path: String) throws(ConversionError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .notADirectory(path)
        }
        self.path = path
        config = try ModelFolder.readObject(path, "config.json")
        var files: [String] = []
        if FileManager.default.fileExists(atPath: path + "/model.safetensors") {
            files = ["model.safetensors"]
        } else if FileManager.default.fileExists(atPath: path + "/model.safetensors.index.json") {
            let index = try ModelFolder.readObject(path, "model.safetensors.index.json")
            guard let map = index["weight_map"]?.members, map.allSatisfy({ $0.1.string != nil }) else {
                throw .invalidConfig(
                    file: "model.safetensors.index.json", key: "weight_map", reason: "is not an object of strings")
            }
            files = Set(map.compactMap { $0.1.string }).sorted()
        } else {
            throw .missingFile("model.safetensors")
        }
        var shards: [String: SafetensorsFile] = [:]
        var owner: [String: String] = [:]
        for f in files {
            guard !f.contains("/") else {
                throw .invalidConfig(file: "model.safetensors.index.json", key: f, reason: "is not a file name")
            }
            let file: SafetensorsFile
            do { file = try SafetensorsFile(path: path + "/" + f) } catch {
                if case .cannotOpen = error, !FileManager.default.fileExists(atPath: path + "/" + f) {
                    throw .missingFile(f)
                }
                throw .safetensors(file: f, error)
            }
            shards[f] = file
            for t in file.tensors { owner[t.name] = f }
        }
        self.shards = shards
        self.owner = owner
    }

    /// Every tensor name, sorted (the order Python's safetensors lists them).
    public var tensorNames: [String] { owner.keys.sorted() }

    public func tensorInfo(_ name: String) -> SafetensorsTensorInfo? {
        owner[name].flatMap { shards[$0]?.tensor(named: name) }
    }

    /// A tensor's values as Float.
    public func floats(_ name: String) throws(ConversionError) -> [Float] {
        guard let f = owner[name], let file = shards[f], let info = file.tensor(named: name) else {
            throw .missingTensor(name)
        }
        do { return try file.floats(info) } catch { throw .safetensors(file: f, error) }
    }

    /// Whether the folder has `file`.
    public func has(_ file: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + file) }

    /// A JSON object file of the folder.
    public func object(_ file: String) throws(ConversionError) -> JSONObject {
        try ModelFolder.readObject(path, file)
    }

    /// A JSON array file of the folder (`modules.json`).
    public func array(_ file: String) throws(ConversionError) -> [PlainJSON] {
        guard let data = FileManager.default.contents(atPath: path + "/" + file) else { throw .missingFile(file) }
        let value: PlainJSON
        do { value = try PlainJSON.parse([UInt8](data)) } catch {
            throw .invalidJSON(file: file, reason: error.description)
        }
        guard let a = value.array else { throw .invalidJSON(file: file, reason: "not a JSON array") }
        return a
    }

    /// A text file of the folder.
    public func text(_ file: String) throws(ConversionError) -> String {
        guard let data = FileManager.default.contents(atPath: path + "/" + file) else { throw .missingFile(file) }
        guard let s = String(data: data, encoding: .utf8) else {
            throw .invalidConfig(file: file, key: "text", reason: "is not UTF-8")
        }
        return s
    }

    static func readObject(_ dir: String, _ file: String) throws(ConversionError) -> JSONObject {
        guard let data = FileManager.default.contents(atPath: dir + "/" + file) else { throw .missingFile(file) }
        let value: PlainJSON
        do { value = try PlainJSON.parse([UInt8](data)) } catch {
            if case .invalidHeaderJSON(let offset, let reason) = error {
                throw .invalidJSON(file: file, reason: "\(reason) at byte \(offset)")
            }
            throw .invalidJSON(file: file, reason: error.description)
        }
        guard value.members != nil else { throw .invalidJSON(file: file, reason: "not a JSON object") }
        return JSONObject(file: file, value: value)
    }
}

/// A JSON object read from a model folder, with typed accessors whose errors name the file and key.
public struct JSONObject: Sendable {
    public let file: String
    public let value: PlainJSON

    public subscript(key: String) -> PlainJSON? {
        guard let v = value[key], !v.isNull else { return nil }
        return v
    }

    /// An integer value, or nil when absent or null.
    public func int(_ key: String) throws(ConversionError) -> Int? {
        guard let v = self[key] else { return nil }
        if let i = v.int { return i }
        if let d = v.double, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw .invalidConfig(file: file, key: key, reason: "is not an integer")
    }

    public func requiredInt(_ key: String) throws(ConversionError) -> Int {
        guard let v = try int(key) else { throw .invalidConfig(file: file, key: key, reason: "is missing") }
        return v
    }

    public func double(_ key: String) throws(ConversionError) -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.double else { throw .invalidConfig(file: file, key: key, reason: "is not a number") }
        return d
    }

    public func bool(_ key: String) -> Bool? { self[key]?.bool }

    public func string(_ key: String) -> String? { self[key]?.string }

    public func object(_ key: String) -> JSONObject? {
        guard let v = self[key], v.members != nil else { return nil }
        return JSONObject(file: file, value: v)
    }
}
