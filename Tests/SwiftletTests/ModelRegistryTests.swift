import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// Several models behind names: loaded on demand, once, within limits, and really gone when unloaded.
/// The tiny Llama fixture stands in for real models (each entry loads its own copy of it).
@Suite struct ModelRegistryTests {
    static let tiny = TinyModelFiles.source
    static let options = Model.LoadOptions(contextLength: 64)

    static func entries(_ names: String...) -> [ModelRegistry.Entry] {
        names.map { ModelRegistry.Entry(name: $0, path: tiny, options: options) }
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(_ seconds: Double = 5, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test func concurrentRequestsShareOneLoad() async throws {
        let registry = try ModelRegistry(Self.entries("a"))
        #expect(!registry.isLoaded("a"))
        async let first = registry.lease("a")
        async let second = registry.lease("a")
        let (x, y) = try await (first, second)
        #expect(x.model === y.model)
        #expect(registry.statuses()[0].activeLeases == 2)
        x.release()
        x.release()  // a second release does not count
        #expect(registry.statuses()[0].activeLeases == 1)
        y.release()
        #expect(registry.statuses()[0].activeLeases == 0 && registry.isLoaded("a"))
    }

    @Test func theLeastRecentlyUsedIdleModelIsEvictedAndFreed() async throws {
        let registry = try ModelRegistry(Self.entries("a", "b", "c"), limits: .init(maxLoaded: 2))
        weak var a: Model?
        do {
            let lease = try await registry.lease("a")
            a = lease.model
            // A generation ran on it: its scheduler thread and streams must not keep it either.
            for try await _ in try lease.model.complete("Hello", options: GenerationOptions(maxTokens: 3)) {}
            lease.release()
        }
        try await Task.sleep(for: .milliseconds(5))
        try await registry.lease("b").release()
        #expect(registry.isLoaded("a") && registry.isLoaded("b"))
        try await registry.lease("c").release()
        // "a" was used least recently: it goes, and nothing keeps it.
        #expect(!registry.isLoaded("a") && registry.isLoaded("b") && registry.isLoaded("c"))
        #expect(a == nil, "an evicted model must be deallocated")
        // Asked again, it comes back (evicting "b").
        try await registry.lease("a").release()
        #expect(registry.statuses().map(\.isLoaded) == [true, false, true])
    }

    @Test func aModelInUseIsNotEvictedTheNewLoadWaits() async throws {
        let registry = try ModelRegistry(Self.entries("a", "b"), limits: .init(maxLoaded: 1))
        let held = try await registry.lease("a")
        let waiting = Task { try await registry.lease("b") }
        try await Task.sleep(for: .milliseconds(300))
        #expect(registry.isLoaded("a") && !registry.isLoaded("b"))
        held.release()
        let b = try await waiting.value
        #expect(b.name == "b" && registry.isLoaded("b") && !registry.isLoaded("a"))
        b.release()
    }

    @Test func aWaitingLeaseCanBeCancelled() async throws {
        let registry = try ModelRegistry(Self.entries("a", "b"), limits: .init(maxLoaded: 1))
        let held = try await registry.lease("a")
        let waiting = Task { try await registry.lease("b") }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        await #expect(throws: ModelRegistryError.cancelled) { try await waiting.value }
        held.release()
    }

    @Test func anIdleModelIsUnloaded() async throws {
        let registry = try ModelRegistry(Self.entries("a"), limits: .init(idleUnload: .milliseconds(200)))
        weak var model: Model?
        do {
            let lease = try await registry.lease("a")
            model = lease.model
            try await Task.sleep(for: .milliseconds(400))
            #expect(registry.isLoaded("a"), "a leased model stays loaded however long it is held")
            lease.release()
        }
        #expect(try await Self.eventually { !registry.isLoaded("a") })
        #expect(model == nil)
    }

    @Test func namesAliasesAndTheDefaultModel() async throws {
        var entries = Self.entries("a", "b")
        entries[1].aliases = ["gpt-4o-mini"]
        let plain = try ModelRegistry(entries)
        #expect(plain.entry(for: "gpt-4o-mini")?.name == "b")
        #expect(plain.entry(for: "title-model") == nil)
        await #expect(throws: ModelRegistryError.unknownModel("title-model", available: ["a", "b"])) {
            try await plain.lease("title-model")
        }
        let withDefault = try ModelRegistry(entries, defaultModel: "gpt-4o-mini")
        #expect(withDefault.defaultModel == "b")
        let lease = try await withDefault.lease("title-model")
        #expect(lease.name == "b")
        lease.release()
        #expect(throws: ModelRegistryError.duplicateName("a")) {
            try ModelRegistry(Self.entries("a", "a"))
        }
        #expect(throws: ModelRegistryError.self) { try ModelRegistry(entries, defaultModel: "nope") }
    }

    @Test func listingGivesContextLoadedAndSize() async throws {
        let registry = try ModelRegistry([ModelRegistry.Entry(name: "a", path: Self.tiny)] + Self.entries("b"))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: Self.tiny)[.size] as? Int)
        var statuses = registry.statuses()
        // "a" has no configured context: the file's trained one (256, under the 4096 cap).
        #expect(statuses.map(\.contextLength) == [256, 64])
        #expect(statuses.map(\.fileSize) == [size, size])
        #expect(statuses.map(\.isLoaded) == [false, false])
        try await registry.lease("b").release()
        statuses = registry.statuses()
        #expect(statuses.map(\.isLoaded) == [false, true])
        #expect((statuses[1].residentBytes ?? 0) > size)
    }

    @Test func aModelLargerThanTheMemoryLimitFailsAtOnce() async throws {
        let registry = try ModelRegistry(Self.entries("a"), limits: .init(maxMemory: 1000))
        do {
            _ = try await registry.lease("a")
            Issue.record("a model over the memory limit was loaded")
        } catch {
            guard case .exceedsMemoryLimit(let name, let needed, let limit) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(name == "a" && needed > limit && limit == 1000)
        }
    }

    @Test func theMemoryLimitEvictsIdleModels() async throws {
        let probe = try ModelRegistry(Self.entries("x"))
        try await probe.lease("x").release()
        let oneModel = try #require(probe.statuses()[0].residentBytes)
        // Room for one model and a half: the second evicts the first.
        let registry = try ModelRegistry(Self.entries("a", "b"), limits: .init(maxMemory: oneModel * 3 / 2))
        try await registry.lease("a").release()
        try await registry.lease("b").release()
        #expect(registry.statuses().map(\.isLoaded) == [false, true])
    }

    @Test func aFailedLoadIsAnErrorAndCanBeRetried() async throws {
        let registry = try ModelRegistry([ModelRegistry.Entry(name: "missing", path: "/nonexistent.gguf")])
        for _ in 0..<2 {
            do {
                _ = try await registry.lease("missing")
                Issue.record("a missing file loaded")
            } catch {
                guard case .loadFailed(let name, .modelFile) = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(name == "missing")
            }
        }
    }

    @Test func aDirectoryScanFollowsLinksAndNamesThemByTheLink() throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlet-registry-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("linked.gguf").path,
                                  withDestinationPath: Self.tiny)
        try fm.copyItem(atPath: Self.tiny, toPath: dir.appendingPathComponent("copy.gguf").path)
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("dangling.gguf").path,
                                  withDestinationPath: "/nonexistent.gguf")
        try fm.createDirectory(at: dir.appendingPathComponent("folder.gguf"), withIntermediateDirectories: false)
        try Data("x".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let registry = try ModelRegistry(directory: dir.path, options: Self.options)
        #expect(registry.names == ["copy", "linked"])
        let size = try fm.attributesOfItem(atPath: Self.tiny)[.size] as? Int
        #expect(registry.statuses().map(\.fileSize) == [size, size])
        #expect(registry.entries[1].path.hasSuffix("/linked.gguf"))

        let empty = dir.appendingPathComponent("folder.gguf").path
        #expect(throws: ModelRegistryError.noModels("\(empty) holds no .gguf file")) {
            try ModelRegistry(directory: empty)
        }
        #expect(throws: ModelRegistryError.self) { try ModelRegistry(directory: "/nonexistent-folder") }
    }

    @Test func aLoadedModelHandedInStaysLoaded() async throws {
        let model = try await Model.load(Self.tiny, options: Self.options)
        let registry = ModelRegistry(model: model, name: "only")
        #expect(registry.entry(for: nil)?.name == "only")
        #expect(registry.entry(for: "other") == nil)
        #expect(!registry.unload("only"))
        #expect(registry.unloadIdle(for: .zero).isEmpty)
        let lease = try await registry.lease("only")
        #expect(lease.model === model)
    }
}
