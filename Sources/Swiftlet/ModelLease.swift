import Synchronization

/// A hold on a model of a ``ModelRegistry``: while any lease on it lasts, the model is not unloaded.
///
/// Release it when the generations started with ``model`` have ended (their streams finished or
/// cancelled); a lease that is let go of without ``release()`` releases itself. Do not use ``model`` after
/// the release: the registry may unload it, and a reference kept would keep its memory.
public final class ModelLease: Sendable {
    /// The model leased.
    public let model: Model
    /// The registry entry it was leased for.
    public var entry: ModelRegistry.Entry { registry.entries[index] }
    /// The entry's name (requests' `model` may have been an alias or an unknown name).
    public var name: String { entry.name }

    private let registry: ModelRegistry
    private let index: Int
    private let released = Atomic<Bool>(false)

    init(registry: ModelRegistry, index: Int, model: Model) {
        self.registry = registry
        self.index = index
        self.model = model
    }

    /// Ends the lease (only the first call counts).
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        registry.endLease(index)
    }

    deinit { release() }
}
