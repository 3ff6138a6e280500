import Foundation

/// Figures about this process that the CLI reports.
enum ProcessStats {
    /// Peak resident set size (VmHWM in /proc/self/status), in bytes; nil where unavailable.
    static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// Seconds since an arbitrary fixed point, for timings.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
