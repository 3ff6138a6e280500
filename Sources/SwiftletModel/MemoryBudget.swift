import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much memory a new allocation may take: what the system has available and what the process's
/// address-space limit leaves, read just before allocating, so a request sized by user input (a KV cache
/// for a huge context) is refused with a message instead of the process dying in the allocator.
///
/// llama.cpp has no such check (ggml aborts when an allocation fails); the numbers come from Linux:
/// `MemAvailable` in /proc/meminfo, `getrlimit(RLIMIT_AS)` (`ulimit -v`), and the process's mapped size,
/// `VmSize` in /proc/self/status. A figure that cannot be read (another system) does not limit.
public struct MemoryBudget: Sendable, Equatable {
    /// Bytes the system can give without swapping (`MemAvailable`); nil when unknown.
    public var systemAvailable: Int?
    /// The address-space limit in bytes (`RLIMIT_AS`); nil when there is none.
    public var addressSpaceLimit: Int?
    /// Bytes of address space the process maps already (`VmSize`); nil when unknown.
    public var addressSpaceUsed: Int?

    /// A budget with the given figures.
    public init(systemAvailable: Int?, addressSpaceLimit: Int?, addressSpaceUsed: Int?) {
        self.systemAvailable = systemAvailable
        self.addressSpaceLimit = addressSpaceLimit
        self.addressSpaceUsed = addressSpaceUsed
    }

    /// The figures of this process now.
    public static func current() -> MemoryBudget {
        MemoryBudget(systemAvailable: kilobytes("MemAvailable", in: "/proc/meminfo"),
                     addressSpaceLimit: addressSpaceLimitNow(),
                     addressSpaceUsed: kilobytes("VmSize", in: "/proc/self/status"))
    }

    /// Bytes an allocation may take: the smaller of what the system has available and what the
    /// address-space limit leaves; nil when neither is known.
    public var available: Int? {
        let left = addressSpaceLimit.map { max(0, $0 - (addressSpaceUsed ?? 0)) }
        switch (systemAvailable, left) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    /// Throws when `bytes` more do not fit.
    /// - Parameter what: what needs the memory, for the message ("the KV cache (4096 tokens × 2 sequences)").
    public func check(_ bytes: Int, for what: String) throws(MemoryShortfall) {
        guard let available, bytes > available else { return }
        var limits: [String] = []
        if let s = systemAvailable { limits.append("system memory available \(Self.format(s))") }
        if let l = addressSpaceLimit {
            limits.append("address-space limit \(Self.format(l))"
                          + (addressSpaceUsed.map { ", \(Self.format($0)) of it in use" } ?? ""))
        }
        throw MemoryShortfall(what: what, neededBytes: bytes, availableBytes: available,
                              detail: limits.joined(separator: "; "))
    }

    /// `bytes` in GiB with one decimal (MiB below 1 GiB).
    public static func format(_ bytes: Int) -> String {
        let gib = Double(bytes) / Double(1 << 30)
        return gib >= 1 ? String(format: "%.1f GiB", gib) : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }

    /// The value of a `Name:   123 kB` line of a /proc file, in bytes.
    static func kilobytes(_ name: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let fields = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let value = fields.first.flatMap({ Int($0) }) else { return nil }
            return value.multipliedReportingOverflow(by: 1024).overflow ? nil : value * 1024
        }
        return nil
    }

    static func addressSpaceLimitNow() -> Int? {
        #if canImport(Glibc)
        var limit = rlimit()
        // RLIM_INFINITY is all bits set.
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max
        else { return nil }
        return limit.rlim_cur > UInt(Int.max) ? nil : Int(limit.rlim_cur)
        #else
        return nil
        #endif
    }
}

/// An allocation that does not fit in the memory available.
public struct MemoryShortfall: Error, Sendable, Equatable, CustomStringConvertible {
    /// What needs the memory ("the KV cache (131072 tokens × 8 sequences)").
    public var what: String
    public var neededBytes: Int
    public var availableBytes: Int
    /// The figures the available bytes come from.
    public var detail: String

    public var description: String {
        "\(what) needs \(MemoryBudget.format(neededBytes)) but \(MemoryBudget.format(availableBytes)) is available"
            + (detail.isEmpty ? "" : " (\(detail))")
    }
}
