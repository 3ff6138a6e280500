import Foundation
import Synchronization

/// Runs a kernel's independent pieces on a fixed set of threads with microsecond dispatch.
///
/// `threads - 1` persistent workers plus the calling thread share each job. Between jobs the workers
/// spin briefly (a decode step issues hundreds of small matrix products back to back), then sleep on a
/// condition variable, so an idle pool costs nothing. `DispatchQueue.concurrentPerform` was measured to
/// give no speed-up below about 1 ms of work per share, which is why this exists.
public final class ThreadPool: Sendable {
    public let threadCount: Int
    private let state: State
    private let dispatchLock = NSLock()

    /// A pool running jobs on `threads` threads in all (the caller included).
    public init(threads: Int) {
        threadCount = max(1, threads)
        state = State(workers: threadCount - 1)
        for i in 1..<threadCount {
            let state = self.state
            let t = Thread { state.workerLoop() }
            t.name = "swiftlet-worker-\(i)"
            t.start()
        }
    }

    deinit { state.stop() }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the pool's threads; returns when all
    /// calls have returned.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if threadCount == 1 || count == 1 {
            for i in 0..<count { body(i) }
            return
        }
        dispatchLock.lock()
        defer { dispatchLock.unlock() }
        withoutActuallyEscaping(body) { state.run(count, $0) }
    }

    /// What the workers share with the pool; workers hold it, so it outlives the pool until they stop.
    final class State: @unchecked Sendable {
        // @unchecked: `job` and `count` are written only by `run` before it publishes a new generation
        // (sequentially consistent), and read by workers only after they observe that generation.
        let workers: Int
        let generation = Atomic<Int>(0)
        let nextIndex = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let sleepers = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let condition = NSCondition()
        var job: ((Int) -> Void)?
        var count = 0
        /// Iterations a worker spins waiting for the next job before it sleeps.
        static let spinLimit = 200_000

        init(workers: Int) { self.workers = workers }

        func run(_ count: Int, _ body: @escaping (Int) -> Void) {
            job = body
            self.count = count
            nextIndex.store(0, ordering: .sequentiallyConsistent)
            finished.store(0, ordering: .sequentiallyConsistent)
            publish()
            runShare()
            // Wait for the workers; yield now and then, so a worker that the OS has descheduled (the
            // machine may be busy with other processes) gets the core instead of this spin.
            var spins = 0
            while finished.load(ordering: .sequentiallyConsistent) < workers {
                spins += 1
                if spins & 255 == 0 { sched_yield() }
            }
            job = nil
        }

        func stop() {
            stopping.store(true, ordering: .sequentiallyConsistent)
            publish()
        }

        private func publish() {
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
        }

        private func runShare() {
            guard let job else { return }
            while true {
                let i = nextIndex.add(1, ordering: .sequentiallyConsistent).oldValue
                if i >= count { break }
                job(i)
            }
        }

        func workerLoop() {
            var seen = 0
            while true {
                var spins = 0
                while generation.load(ordering: .sequentiallyConsistent) == seen {
                    spins += 1
                    if spins & 255 == 0 { sched_yield() }
                    if spins >= State.spinLimit {
                        condition.lock()
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while generation.load(ordering: .sequentiallyConsistent) == seen { condition.wait() }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        condition.unlock()
                    }
                }
                seen = generation.load(ordering: .sequentiallyConsistent)
                if stopping.load(ordering: .sequentiallyConsistent) { return }
                runShare()
                finished.add(1, ordering: .sequentiallyConsistent)
            }
        }
    }
}
