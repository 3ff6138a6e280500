import Foundation
import SwiftletKernels
import Testing

/// The load-time warning about the portable kernels: given exactly when this build is portable and the
/// CPU (per /proc/cpuinfo) has what the fast kernels need.
@Suite struct CPUFeaturesTests {
    @Test func portableKernelsWarningOnlyWhereTheFastOnesWouldRun() throws {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?
            .split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
        let capable = ["avx2", "fma", "f16c"].allSatisfy(flags.contains)
        #if arch(x86_64)
        let expected = CPUFeatures.required.isEmpty && capable
        #else
        let expected = false
        #endif
        let warning = CPUFeatures.portableKernelsWarning()
        #expect((warning != nil) == expected)
        #expect(CPUFeatures.portableKernelsOnCapableCPU == expected)
        if let warning { #expect(warning.contains("Docs/CPUFeatures.md") && warning.contains("-DSWIFTLET_AVX2")) }
    }

    /// A build with the VNNI kernels names AVX-512 and VNNI among what it needs, so that the executable
    /// stops with a message on a CPU without them instead of dying of SIGILL; only such a build does.
    @Test func vnniBuildRequiresAVX512() {
        #expect(CPUFeatures.required.contains("avx512_vnni") == kernelsUseVNNI)
        if kernelsUseVNNI { #expect(kernelsUseAVX2 && CPUFeatures.missingFeatures().isEmpty) }
    }
}
