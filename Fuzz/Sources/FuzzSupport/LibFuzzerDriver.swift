#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fuzz target's test function: libFuzzer's `LLVMFuzzerTestOneInput(data, size)`.
public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// libFuzzer's entry point for programs that have their own `main` (compiler-rt's FuzzerInterface.h).
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: FuzzTest
) -> CInt

/// Runs libFuzzer over `test` with the process's command line (`-runs=`, corpus folders, ...) and exits
/// with its status.
///
/// SwiftPM links an executable target with `main` aliased to the module's own entry point, so libFuzzer's
/// `main` cannot be the program's; the target's `@main` calls this instead, which is what libFuzzer's
/// `main` does.
public func runLibFuzzer(_ test: FuzzTest) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}
