// libFuzzer target (a): any bytes as a cfg → a checked definition (or one diagnostic) and its
// summary. Built by scripts/fuzz.sh together with the library's sources, in one module.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCfg(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    // A small memory limit: the fuzzer must find crashes, not allocate gigabytes legitimately.
    let options = DefinitionOptions(strict: size % 2 == 0, memoryLimit: 64 << 20)
    if let definition = try? NetworkDefinition(cfg: CfgFile(bytes: Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz.cfg"),
                                               options: options) {
        _ = NetworkSummary(definition).table
    }
    return 0
}
