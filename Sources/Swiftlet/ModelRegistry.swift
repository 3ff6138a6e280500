import Foundation
import Synchronization
import SwiftletGGUF
import SwiftletModel

/// Several models behind one set of names, each loaded the first time it is asked for and kept resident
/// within limits: llama-server's router mode, or Ollama's `OLLAMA_MAX_LOADED_MODELS` and `keep_alive`.
///
/// ```swift
/// let registry = try ModelRegistry(directory: "/models", limits: .init(maxLoaded: 1, idleUnload: .seconds(600)))
/// let lease = try await registry.lease("SmolLM2-135M-Instruct.Q4_1")   // loads it, or waits for its load
/// defer { lease.release() }
/// for try await event in try lease.model.chat(messages) { … }
/// ```
/// A ``ModelLease`` keeps its model loaded: eviction takes the least recently used model that no lease
/// holds. Two requests for a model that is not loaded share one load. When a model must be loaded and the
/// limits leave no room (every loaded model is leased), the request **waits** until a lease ends; a model
/// that alone exceeds ``Limits/maxMemory`` fails at once
/// (``ModelRegistryError/exceedsMemoryLimit(name:neededBytes:limitBytes:)``).
///
/// An unloaded model is released entirely (its scheduler thread ends, its caches and mapping are freed)
/// once the last lease on it, and the last stream it produced, is gone.
public final class ModelRegistry: Sendable {
    /// One model the registry serves.
    public struct Entry: Sendable {
        /// The name requests use (`/v1/models`' `id`).
        public var name: String
        /// The GGUF file; a symbolic link is followed when the model loads.
        public var path: String
        /// Other names that pick this model.
        public var aliases: [String]
        /// How the model is loaded (context length, parallel sequences, threads…).
        public var options: Model.LoadOptions
        /// Sampling settings a request starts from: each one it does not set keeps this value (nil: the
        /// library's defaults, ``SamplingParameters``).
        public var sampling: SamplingParameters?

        public init(name: String, path: String, aliases: [String] = [], options: Model.LoadOptions = .init(),
                    sampling: SamplingParameters? = nil) {
            self.name = name
            self.path = path
            self.aliases = aliases
            self.options = options
            self.sampling = sampling
        }
    }

    /// What may stay resident. Nil leaves a bound off.
    public struct Limits: Sendable, Equatable {
        /// Models loaded at once.
        public var maxLoaded: Int?
        /// Bytes the loaded models may take together, by ``Model/residentBytes`` (file size plus KV caches
        /// and scratch memory). Before a model's first load only its file size is known; once loaded, its
        /// full figure is used, and an overshoot evicts idle models.
        public var maxMemory: Int?
        /// A model no request has used for this long is unloaded.
        public var idleUnload: Duration?

        public init(maxLoaded: Int? = nil, maxMemory: Int? = nil, idleUnload: Duration? = nil) {
            self.maxLoaded = maxLoaded
            self.maxMemory = maxMemory
            self.idleUnload = idleUnload
        }
    }

    /// What ``statuses()`` reports of an entry.
    public struct Status: Sendable, Equatable {
        public var name: String
        public var aliases: [String]
        public var path: String
        /// Positions per sequence: the loaded model's, else the configured one, else what the file's metadata
        /// gives (its trained context, at most 4096); nil when the file cannot be read.
        public var contextLength: Int?
        /// Whether the model is in memory now.
        public var isLoaded: Bool
        /// Size of the model file in bytes (the link's target for a symbolic link); nil when it cannot be read.
        public var fileSize: Int?
        /// Leases held now (requests using the model).
        public var activeLeases: Int
        /// ``Model/residentBytes`` of the model's last load, if it has been loaded.
        public var residentBytes: Int?
    }

    /// The models served, in order.
    public let entries: [Entry]
    /// The entry answering names that match no entry, if any.
    public let defaultModel: String?
    public let limits: Limits

    /// Per entry: what is loaded, leased, known.
    struct Slot {
        var model: Model?
        var loading: Task<Result<Model, SwiftletError>, Never>?
        /// Requests waiting on `loading`; each holds a lease once it succeeds.
        var waiting = 0
        var leases = 0
        var lastUsed = ContinuousClock.now
        var residentBytes: Int?
        var contextLength: Int?
        var fileSize: Int?
        /// Never evicted nor unloaded (a model handed in loaded).
        var pinned = false
        /// Counters of the entry's earlier loads, so that totals do not drop when it reloads.
        var retired = EngineMetrics()
    }

    struct State {
        var slots: [Slot]
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    let state: Mutex<State>
    /// Name or alias → entry index.
    private let index: [String: Int]
    private let sweeper = Mutex<Task<Void, Never>?>(nil)

    /// A registry over `entries`; nothing is loaded until asked for.
    ///
    /// - Throws: ``ModelRegistryError/noModels(_:)``, ``ModelRegistryError/duplicateName(_:)`` or
    ///   ``ModelRegistryError/invalidEntry(_:)`` (an empty name or path, a `defaultModel` not listed, a limit
    ///   below 1).
    public init(_ entries: [Entry], defaultModel: String? = nil, limits: Limits = Limits()) throws(ModelRegistryError) {
        guard !entries.isEmpty else { throw .noModels("the list of models is empty") }
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() {
            guard !entry.name.isEmpty else { throw .invalidEntry("a model has an empty name") }
            guard !entry.path.isEmpty else { throw .invalidEntry("the model '\(entry.name)' has no path") }
            for name in [entry.name] + entry.aliases {
                guard !name.isEmpty else { throw .invalidEntry("the model '\(entry.name)' has an empty alias") }
                guard index[name] == nil else { throw .duplicateName(name) }
                index[name] = i
            }
        }
        if let defaultModel, index[defaultModel] == nil {
            throw .invalidEntry("the default model '\(defaultModel)' is not among the models: "
                                + entries.map(\.name).joined(separator: ", "))
        }
        if let n = limits.maxLoaded, n < 1 { throw .invalidEntry("maxLoaded must be at least 1, got \(n)") }
        if let n = limits.maxMemory, n < 1 { throw .invalidEntry("maxMemory must be at least 1 byte, got \(n)") }
        if let d = limits.idleUnload, d <= .zero { throw .invalidEntry("idleUnload must be above 0, got \(d)") }
        self.entries = entries
        self.defaultModel = defaultModel.flatMap { index[$0] }.map { entries[$0].name }
        self.limits = limits
        self.index = index
        let slots = entries.map { entry in
            Slot(contextLength: entry.options.contextLength, fileSize: Self.fileSize(entry.path))
        }
        state = Mutex(State(slots: slots))
        if let idle = limits.idleUnload { startSweeper(every: idle) }
    }

    /// A one-entry registry over a model already loaded, which stays loaded: what a single-model server
    /// serves. Its name is `name`, else ``Model/id``, else `model` (an empty name is passed over, and so
    /// are empty or repeated aliases).
    public init(model: Model, name: String? = nil, aliases: [String] = [], sampling: SamplingParameters? = nil) {
        let name = [name ?? "", model.id].first { !$0.isEmpty } ?? "model"
        var names = [name], kept: [String] = []
        for alias in aliases where !alias.isEmpty && !names.contains(alias) {
            names.append(alias)
            kept.append(alias)
        }
        entries = [Entry(name: name, path: model.path, aliases: kept, sampling: sampling)]
        defaultModel = nil
        limits = Limits()
        index = Dictionary(uniqueKeysWithValues: names.map { ($0, 0) })
        var slot = Slot(contextLength: model.contextLength, fileSize: Self.fileSize(model.path))
        slot.model = model
        slot.pinned = true
        slot.residentBytes = model.residentBytes
        state = Mutex(State(slots: [slot]))
    }

    deinit {
        sweeper.withLock { $0?.cancel() }
    }

    // MARK: Names

    /// The entry a request's model name picks: by name or alias, else the default model (nil: none).
    /// A nil name (a request that names no model) picks the default model, or the only entry.
    public func entry(for name: String?) -> Entry? {
        entryIndex(for: name).map { entries[$0] }
    }

    func entryIndex(for name: String?) -> Int? {
        if let name, let i = index[name] { return i }
        if let defaultModel { return index[defaultModel] }
        return name == nil && entries.count == 1 ? 0 : nil
    }

    /// Every entry's name, in order.
    public var names: [String] { entries.map(\.name) }

    // MARK: Leases

    /// A lease on the model `name` picks (see ``entry(for:)``): loaded now if it is not, or joined to the load
    /// under way. Holding the lease keeps the model loaded; release it when its generations are done.
    ///
    /// - Throws: ``ModelRegistryError/unknownModel(_:available:)``, ``ModelRegistryError/loadFailed(name:error:)``,
    ///   ``ModelRegistryError/exceedsMemoryLimit(name:neededBytes:limitBytes:)``, or
    ///   ``ModelRegistryError/cancelled`` when the calling task is cancelled while it waits for room.
    public func lease(_ name: String?) async throws(ModelRegistryError) -> ModelLease {
        guard let i = entryIndex(for: name) else {
            throw .unknownModel(name ?? "", available: names)
        }
        while true {
            if Task.isCancelled { throw .cancelled }
            switch takeStep(for: i) {
            case .leased(let model):
                return ModelLease(registry: self, index: i, model: model)
            case .join(let task):
                switch await task.value {
                case .success(let model): return ModelLease(registry: self, index: i, model: model)
                case .failure(let error): throw .loadFailed(name: entries[i].name, error: error)
                }
            case .wait:
                await waitForChange()
            case .fail(let error):
                throw error
            }
        }
    }

    /// The next step of a lease; the models it evicts are let go of before it returns, outside the lock
    /// (a model's deinit stops its scheduler).
    private func takeStep(for i: Int) -> Step {
        let (step, evicted0) = state.withLock { s in nextStep(for: i, in: &s) }
        var evicted = evicted0
        evicted.removeAll()
        return step
    }

    enum Step {
        case leased(Model)
        case join(Task<Result<Model, SwiftletError>, Never>)
        case wait
        case fail(ModelRegistryError)
    }

    /// Under the lock: lease the model if loaded, join its load, start it (evicting to make room), or wait.
    private func nextStep(for i: Int, in s: inout State) -> (Step, [Model]) {
        if let model = s.slots[i].model {
            s.slots[i].leases += 1
            s.slots[i].lastUsed = .now
            return (.leased(model), [])
        }
        if let task = s.slots[i].loading {
            s.slots[i].waiting += 1
            return (.join(task), [])
        }
        let needed = s.slots[i].residentBytes ?? s.slots[i].fileSize ?? 0
        if let limit = limits.maxMemory, needed > limit {
            return (.fail(.exceedsMemoryLimit(name: entries[i].name, neededBytes: needed, limitBytes: limit)), [])
        }
        guard let victims = victims(toFit: needed, in: s) else { return (.wait, []) }
        let evicted = victims.compactMap { unload(slot: $0, in: &s) }
        let entry = entries[i]
        let task = Task.detached(priority: .userInitiated) { [self] () -> Result<Model, SwiftletError> in
            let result = await Self.load(entry)
            self.finishLoad(i, result)
            return result
        }
        s.slots[i].loading = task
        s.slots[i].waiting = 1
        return (.join(task), evicted)
    }

    /// The idle loaded models to unload, least recently used first, so that one more model of `needed` bytes
    /// fits the limits; nil when even unloading every idle model would not make room.
    private func victims(toFit needed: Int, in s: State) -> [Int]? {
        var resident = s.slots.indices.filter { s.slots[$0].model != nil || s.slots[$0].loading != nil }
        let idle = resident.filter { s.slots[$0].model != nil && s.slots[$0].leases == 0 && !s.slots[$0].pinned }
            .sorted { s.slots[$0].lastUsed < s.slots[$1].lastUsed }
        func bytes(_ j: Int) -> Int { s.slots[j].residentBytes ?? s.slots[j].fileSize ?? 0 }
        func fits() -> Bool {
            if let max = limits.maxLoaded, resident.count + 1 > max { return false }
            if let max = limits.maxMemory, resident.reduce(needed, { $0.addingSaturating(bytes($1)) }) > max {
                return false
            }
            return true
        }
        var chosen: [Int] = []
        for victim in idle where !fits() {
            chosen.append(victim)
            resident.removeAll { $0 == victim }
        }
        return fits() ? chosen : nil
    }

    /// Loads on a thread of its own: a load takes seconds of CPU, which Swift's concurrency pool (one thread
    /// per core) must not lose.
    private static func load(_ entry: Entry) async -> Result<Model, SwiftletError> {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(SwiftletError) in
                    try Model(path: entry.path, options: entry.options)
                })
            }
            thread.name = "swiftlet-model-load"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func finishLoad(_ i: Int, _ result: Result<Model, SwiftletError>) {
        var evicted: [Model] = state.withLock { s in
            s.slots[i].loading = nil
            defer { s.slots[i].waiting = 0 }
            guard case .success(let model) = result else { return [] }
            s.slots[i].model = model
            s.slots[i].leases += s.slots[i].waiting
            s.slots[i].lastUsed = .now
            s.slots[i].residentBytes = model.residentBytes
            s.slots[i].contextLength = model.contextLength
            // The full figure may exceed what the file size let in: make room after the fact, from idle models.
            guard let limit = limits.maxMemory else { return [] }
            var over = s.slots.reduce(0) { $0.addingSaturating($1.model == nil ? 0 : $1.residentBytes ?? 0) } - limit
            var out: [Model] = []
            let idle = s.slots.indices.filter {
                $0 != i && s.slots[$0].model != nil && s.slots[$0].leases == 0 && !s.slots[$0].pinned
            }.sorted { s.slots[$0].lastUsed < s.slots[$1].lastUsed }
            for j in idle where over > 0 {
                over -= s.slots[j].residentBytes ?? 0
                if let model = unload(slot: j, in: &s) { out.append(model) }
            }
            return out
        }
        evicted.removeAll()
        notifyWaiters()
    }

    /// Takes the model out of slot `j` (its counters kept); the caller lets go of it outside the lock.
    private func unload(slot j: Int, in s: inout State) -> Model? {
        guard let model = s.slots[j].model else { return nil }
        s.slots[j].retired.accumulate(model.metrics)
        s.slots[j].model = nil
        return model
    }

    /// Ends one lease on entry `i` (``ModelLease/release()``).
    func endLease(_ i: Int) {
        state.withLock { s in
            s.slots[i].leases -= 1
            s.slots[i].lastUsed = .now
        }
        notifyWaiters()
    }

    // MARK: Waiting for room

    private func waitForChange() async {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now: Bool = state.withLock { s in
                    if Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Wakes every request waiting for room; each looks again.
    private func notifyWaiters() {
        let waiters = state.withLock { s in
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Unloading

    /// Unloads the model `name` picks if it is loaded, not leased, and was not handed in loaded; returns
    /// whether it did.
    @discardableResult
    public func unload(_ name: String) -> Bool {
        guard let i = index[name] else { return false }
        let model: Model? = state.withLock { s in
            guard s.slots[i].leases == 0, !s.slots[i].pinned else { return nil }
            return unload(slot: i, in: &s)
        }
        guard model != nil else { return false }
        notifyWaiters()
        return true
    }

    /// Unloads every model that no lease holds and that nothing used for `idle`; returns their names.
    @discardableResult
    public func unloadIdle(for idle: Duration) -> [String] {
        let now = ContinuousClock.now
        let unloaded: [(String, Model)] = state.withLock { s in
            s.slots.indices.compactMap { j -> (String, Model)? in
                let slot = s.slots[j]
                guard slot.model != nil, slot.leases == 0, !slot.pinned, now - slot.lastUsed >= idle,
                      let model = unload(slot: j, in: &s) else { return nil }
                return (entries[j].name, model)
            }
        }
        if !unloaded.isEmpty { notifyWaiters() }
        return unloaded.map(\.0)
    }

    /// Checks for idle models a few times per `idle` (at least every 5 s), holding the registry only while it
    /// checks, so that the registry can go away.
    private func startSweeper(every idle: Duration) {
        let period = max(min(idle / 4, .seconds(5)), .milliseconds(50))
        let task = Task.detached(priority: .utility) { [weak self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: period) } catch { return }
                guard let registry = self else { return }
                registry.unloadIdle(for: idle)
            }
        }
        sweeper.withLock { $0 = task }
    }

    // MARK: Listing

    /// Every entry, in order: name, context length, whether it is loaded, file size.
    public func statuses() -> [Status] {
        let slots = state.withLock { $0.slots }
        var contexts: [Int: Int] = [:]
        for (i, slot) in slots.enumerated() where slot.contextLength == nil {
            // Read outside the lock; the file's metadata does not change while it is served.
            contexts[i] = Self.defaultContext(entries[i].path)
        }
        if !contexts.isEmpty {
            state.withLock { s in
                for (i, c) in contexts where s.slots[i].contextLength == nil { s.slots[i].contextLength = c }
            }
        }
        return slots.enumerated().map { i, slot in
            Status(name: entries[i].name, aliases: entries[i].aliases, path: entries[i].path,
                   contextLength: slot.contextLength ?? contexts[i], isLoaded: slot.model != nil,
                   fileSize: slot.fileSize, activeLeases: slot.leases, residentBytes: slot.residentBytes)
        }
    }

    /// Whether the model `name` picks is loaded now.
    public func isLoaded(_ name: String) -> Bool {
        guard let i = index[name] else { return false }
        return state.withLock { $0.slots[i].model != nil }
    }

    /// Each entry's engine counters, in order: totals over all its loads; the gauges (queue depth, active
    /// sequences, KV-cache bytes) are those of its current load, 0 when it is not loaded.
    public func metrics() -> [(name: String, metrics: EngineMetrics)] {
        let figures = state.withLock { s in s.slots.map { ($0.retired, $0.model) } }
        return figures.enumerated().map { i, figure in
            var total = figure.0
            if let model = figure.1 { total.accumulate(model.metrics, gauges: true) }
            return (entries[i].name, total)
        }
    }

    /// The context a load without a configured context gets: the trained one, at most 4096 (as ``Model``).
    static func defaultContext(_ path: String) -> Int? {
        guard let file = try? GGUFFile(path: path), let config = try? ModelConfig(file) else { return nil }
        let trained = config.trainedContextLength
        return min(trained > 0 ? trained : 4096, 4096)
    }

    /// The size of the file at `path`, a symbolic link followed.
    static func fileSize(_ path: String) -> Int? {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? FileManager.default.attributesOfItem(atPath: resolved))?[.size] as? Int
    }
}
