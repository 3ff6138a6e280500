import Foundation

/// The instruction-set extensions this build's code was generated for, and whether the CPU has them.
///
/// A build made with `-target-cpu haswell` (what `make release` does on a capable machine) executes
/// AVX2, FMA and F16C instructions anywhere in the kernels; on a CPU without them it would die of SIGILL
/// at the first matrix product. Programs call ``missingFeatures()`` at start and stop with a message
/// instead.
public enum CPUFeatures {
    /// The extensions this build requires of the CPU (empty for a portable build).
    public static var required: [String] {
        #if SWIFTLET_AVX2 && arch(x86_64)
        ["avx2", "fma", "f16c"]
        #else
        []
        #endif
    }

    /// The required extensions the CPU lacks, as listed in /proc/cpuinfo's flags; empty when all are
    /// there, or when the flags cannot be read (other systems: the check is then skipped).
    public static func missingFeatures() -> [String] {
        guard !required.isEmpty,
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        let flags = Set(line.split(separator: ":").last.map { $0.split(separator: " ").map(String.init) } ?? [])
        return required.filter { !flags.contains($0) }
    }
}
