import CCPUID

/// The processor as CPUID and the operating system describe it: what `bench` prints, and what
/// decides which OpenBLAS kernels can run here.
public struct Processor: Sendable {
    /// The brand string, e.g. "Intel(R) Xeon(R) Platinum 8581C CPU @ 2.30GHz"; empty where CPUID has none.
    public let name: String
    /// CPUID's display family and model (Intel's and AMD's rule for the extended fields).
    public let family: Int
    public let model: Int
    /// The newest family of OpenBLAS x86-64 kernels that the processor has the instructions
    /// for and whose registers the operating system saves.
    public let kernels: KernelFamily

    public static let current = Processor()

    private init() {
        let leaf1 = x86_cpuid(1, 0)
        let baseFamily = Int(leaf1.eax >> 8 & 0xF), baseModel = Int(leaf1.eax >> 4 & 0xF)
        family = baseFamily == 0xF ? baseFamily + Int(leaf1.eax >> 20 & 0xFF) : baseFamily
        model = baseFamily == 0x6 || baseFamily == 0xF ? Int(leaf1.eax >> 16 & 0xF) << 4 | baseModel : baseModel

        let brand = (UInt32(0x8000_0002)...0x8000_0004).flatMap { leaf -> [UInt32] in
            let r = x86_cpuid(leaf, 0)
            return [r.eax, r.ebx, r.ecx, r.edx]
        }
        let bytes = brand.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
        name = String(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingWhitespace)

        let leaf7 = x86_cpuid(7, 0)
        let leaf7Subleaf1 = leaf7.eax >= 1 ? x86_cpuid(7, 1) : x86_cpuid_registers()
        let states = x86_enabled_register_states()
        func has(_ register: UInt32, _ bits: Int...) -> Bool { bits.allSatisfy { register >> $0 & 1 == 1 } }
        let avxStates = states & 0x6 == 0x6 // XMM and YMM
        let avx512States = states & 0xE6 == 0xE6 // and opmask, ZMM0-15's upper halves, ZMM16-31
        let avx = avxStates && has(leaf1.ecx, 28)
        // Haswell's kernels are built for the whole Haswell set: FMA, F16C, MOVBE, BMI1/2 beside AVX2.
        let avx2 = avx && has(leaf1.ecx, 12, 22, 29) && has(leaf7.ebx, 3, 5, 8)
        // SkylakeX's: AVX-512 F, DQ, CD, BW and VL.
        let avx512 = avx2 && avx512States && has(leaf7.ebx, 16, 17, 28, 30, 31)
        kernels = avx512 ? (has(leaf7Subleaf1.eax, 5) ? .avx512BF16 : .avx512) : avx2 ? .avx2 : avx ? .avx : .sse
    }
}

/// OpenBLAS's x86-64 kernel families, oldest first, each named by the core whose kernels it is.
public enum KernelFamily: Int, Comparable, Sendable {
    case sse, avx, avx2, avx512, avx512BF16

    /// The instructions that set them apart, e.g. "AVX-512".
    public var instructions: String {
        switch self {
        case .sse: "SSE"
        case .avx: "AVX"
        case .avx2: "AVX2"
        case .avx512: "AVX-512"
        case .avx512BF16: "AVX-512 with BF16"
        }
    }

    /// The `OPENBLAS_CORETYPE` that selects these kernels.
    public var openBLASCore: String {
        switch self {
        case .sse: "Prescott"
        case .avx: "Sandybridge"
        case .avx2: "Haswell"
        case .avx512: "SkylakeX"
        case .avx512BF16: "Cooperlake"
        }
    }

    /// The family of one of OpenBLAS's core names (as `openblas_get_corename` spells them);
    /// the names of pre-AVX cores, and any it does not know, are `.sse`.
    public init(openBLASCore name: String) {
        switch name.lowercased() {
        case "sapphirerapids", "cooperlake": self = .avx512BF16
        case "skylakex": self = .avx512
        case "haswell", "zen", "excavator": self = .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": self = .avx
        default: self = .sse
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
