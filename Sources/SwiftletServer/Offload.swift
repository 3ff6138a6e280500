import Dispatch

/// Runs CPU-bound request work (decoding a large body, rendering and tokenizing its prompt) on threads of
/// its own, outside Swift's concurrency pool: the pool has one thread per core, and a few large prompts
/// prepared on it would hold up every other request, `/health` included, until they are done.
enum Offload {
    private static let queue = DispatchQueue(label: "swiftlet.request-preparation", qos: .userInitiated,
                                             attributes: .concurrent)

    static func run<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(E) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
