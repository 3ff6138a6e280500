import Foundation

/// The instruction-set extensions this build's code was generated for, and whether the CPU has them.
///
/// A build made with `-target-cpu haswell` (what `make release` does on a capable machine) executes
/// AVX2, FMA and F16C instructions anywhere in the kernels (one made with `-target-cpu cascadelake`,
/// AVX-512 and VNNI too); on a CPU without them it would die of SIGILL at the first matrix product.
/// Programs call ``missingFeatures()`` at start and stop with a message instead.
public enum CPUFeatures {
    /// The extensions this build requires of the CPU (empty for a portable build).
    public static var required: [String] {
        #if SWIFTLET_AVX2 && SWIFTLET_AVX512 && arch(x86_64)
        ["avx2", "fma", "f16c", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"]
        #elseif SWIFTLET_AVX2 && arch(x86_64)
        ["avx2", "fma", "f16c"]
        #else
        []
        #endif
    }

    /// The required extensions the CPU lacks, as listed in /proc/cpuinfo's flags; empty when all are
    /// there, or when the flags cannot be read (other systems: the check is then skipped).
    public static func missingFeatures() -> [String] {
        guard !required.isEmpty, let flags = cpuFlags() else { return [] }
        return required.filter { !flags.contains($0) }
    }
}

extension CPUFeatures {
    /// The extensions the fast kernels use (AVX2, FMA, F16C), and what a portable build lacks.
    static let fastKernelFeatures = ["avx2", "fma", "f16c"]

    /// The flags of /proc/cpuinfo's first `flags` line; nil when it cannot be read.
    static func cpuFlags() -> Set<String>? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        return Set(line.split(separator: ":").last.map { $0.split(separator: " ").map(String.init) } ?? [])
    }

    /// Whether this build runs the portable kernels on a CPU that has AVX2, FMA and F16C, whose kernels
    /// are 3–18× faster: what a plain `swift build -c release` of a dependent gives.
    public static var portableKernelsOnCapableCPU: Bool {
        #if arch(x86_64)
        guard required.isEmpty, let flags = cpuFlags() else { return false }
        return fastKernelFeatures.allSatisfy(flags.contains)
        #else
        return false
        #endif
    }

    /// The warning to show at load when ``portableKernelsOnCapableCPU`` holds, nil otherwise.
    public static func portableKernelsWarning() -> String? {
        guard portableKernelsOnCapableCPU else { return nil }
        return "this build runs the portable kernels, but the CPU has AVX2, FMA and F16C, whose kernels are "
            + "3-18x faster: build with -Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DSWIFTLET_AVX2 "
            + "(see Docs/CPUFeatures.md)"
    }
}
