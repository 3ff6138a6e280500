import Foundation

extension ModelRegistry {
    /// A registry over every `*.gguf` file directly in `directory` (not its subfolders), in name order, each
    /// loaded with `options`. A symbolic link counts when it leads to a file, and is named by the link's own
    /// name: the name of an entry is its file name without `.gguf`.
    ///
    /// - Throws: ``ModelRegistryError/directory(path:reason:)`` for a directory that cannot be listed,
    ///   ``ModelRegistryError/noModels(_:)`` when it holds no model, and the errors of
    ///   ``init(_:defaultModel:limits:)``.
    public convenience init(directory: String, options: Model.LoadOptions = .init(), defaultModel: String? = nil,
                            limits: Limits = Limits()) throws(ModelRegistryError) {
        let entries = try Self.entries(inDirectory: directory, options: options)
        guard !entries.isEmpty else { throw .noModels("\(directory) holds no .gguf file") }
        try self.init(entries, defaultModel: defaultModel, limits: limits)
    }

    /// One entry per `*.gguf` file (or link to a file) directly in `directory`, in name order.
    public static func entries(inDirectory directory: String,
                               options: Model.LoadOptions = .init()) throws(ModelRegistryError) -> [Entry] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .directory(path: directory, reason: (error as NSError).localizedDescription)
        }
        let base = URL(fileURLWithPath: directory)
        return names.filter { $0.hasSuffix(".gguf") && $0.count > 5 }.sorted().compactMap { name in
            let path = base.appendingPathComponent(name).path
            // fileExists follows links: a dangling link, or one to a folder, is left out.
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { return nil }
            return Entry(name: String(name.dropLast(5)), path: path, options: options)
        }
    }
}
