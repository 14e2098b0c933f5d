import Foundation
import XCTest
import CDirectConvolution
@testable import Darknet

/// The fast kernels against naive references written straight from the definitions.
final class KernelTests: XCTestCase {
    var random = SplitMix64(state: 42)

    func randomArray(_ count: Int) -> [Float] { (0..<count).map { _ in random.uniform(-1, 1) } }

    func definition(_ text: String) throws -> NetworkDefinition {
        try NetworkDefinition(cfg: CfgFile(text: text, path: "kernel.cfg"))
    }

    /// Direct convolution over one image: out[f][y][x] = Σ w[f][c][ky][kx]·in[g·C/G + c][y·s − p + ky·d][x·s − p + kx·d].
    func naiveConvolution(_ spec: Convolutional, input: [Float], weights: ArraySlice<Float>) -> [Float] {
        let (inC, h, w) = (spec.input.channels / spec.groups, spec.input.height, spec.input.width)
        let perGroup = spec.filters / spec.groups
        var out = [Float](repeating: 0, count: spec.output.count)
        for f in 0..<spec.filters {
            let g = f / perGroup
            for oy in 0..<spec.output.height {
                for ox in 0..<spec.output.width {
                    var sum: Double = 0
                    for c in 0..<inC {
                        for ky in 0..<spec.size {
                            for kx in 0..<spec.size {
                                let y = oy * spec.strideY - spec.padding + ky * spec.dilation
                                let x = ox * spec.stride - spec.padding + kx * spec.dilation
                                guard y >= 0, y < h, x >= 0, x < w else { continue }
                                let weight = weights[weights.startIndex + ((f * inC + c) * spec.size + ky) * spec.size + kx]
                                sum += Double(weight) * Double(input[((g * inC + c) * h + y) * w + x])
                            }
                        }
                    }
                    out[(f * spec.output.height + oy) * spec.output.width + ox] = Float(sum)
                }
            }
        }
        return out
    }

    func assertClose(_ a: [Float], _ b: [Float], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        let worst = largestDifference(a, b)
        let scale = b.map(abs).max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5 + 1e-5 * scale, message, file: file, line: line)
    }

    /// A one-layer network with a linear convolution, zero-padded by `padding` (a multiple of
    /// `dilation`: AlexeyAB's dilation multiplies the cfg's padding).
    func convolution(channels c: Int, height h: Int, width w: Int, filters n: Int, size: Int, stride: Int = 1,
                     strideY: Int = -1, padding: Int, groups: Int = 1, dilation: Int = 1) throws -> Convolutional {
        let d = try definition("""
            [net]
            width=\(w)
            height=\(h)
            channels=\(c)
            [convolutional]
            filters=\(n)
            size=\(size)
            stride=\(stride)
            stride_y=\(strideY)
            padding=\(padding / dilation)
            groups=\(groups)
            dilation=\(dilation)
            activation=linear
            """)
        let spec: Convolutional? = if case .convolutional(let spec) = d.layers[0].spec { spec } else { nil }
        return try XCTUnwrap(spec)
    }

    /// `spec` bound to `parameters` (laid out as its `weightArrays`), its method chosen.
    func plan(_ spec: Convolutional, _ parameters: UnsafeMutablePointer<Float>, winogradKernels: UnsafePointer<Float>? = nil,
              direct: Bool = true) -> ConvolutionPlan {
        ConvolutionPlan(spec, parameters: BoundParameters(spec.weightArrays, at: parameters), dialect: .darknet, winogradKernels: winogradKernels,
                        direct: direct)
    }

    /// What `body` reads from `spec`'s plan (on parameters it does not read).
    func planned<T>(_ spec: Convolutional, direct: Bool = true, _ body: (ConvolutionPlan) -> T) -> T {
        var parameters = [Float](repeating: 0, count: spec.weightArrays.reduce(0) { $0 + $1.count })
        return parameters.withUnsafeMutableBufferPointer { body(plan(spec, $0.baseAddress!, direct: direct)) }
    }

    /// Runs `spec` on a batch of random images with random parameters, through the Winograd path
    /// when `winograd`, and compares each image with the naive convolution plus bias.
    func assertMatchesNaive(_ spec: Convolutional, winograd: Bool, direct: Bool = true, batch: Int = 2, _ label: String, line: UInt = #line) {
        let n = spec.filters
        var parameters = randomArray(spec.weightCount + n)
        var kernels = [Float](repeating: .nan, count: winograd ? Winograd.kernelFloats(spec) : 0)
        if winograd { Winograd.transformKernels(Array(parameters[n...]), filters: n, channels: spec.input.channels, into: &kernels) }
        let input = randomArray(spec.input.count * batch)
        var output = [Float](repeating: .nan, count: spec.output.count * batch)
        kernels.withUnsafeBufferPointer { u in
            parameters.withUnsafeMutableBufferPointer { p in
                let convolution = plan(spec, p.baseAddress!, winogradKernels: winograd ? u.baseAddress! : nil, direct: direct)
                XCTAssertEqual(convolution.method == .winograd, winograd, label, line: line)
                var workspace = [Float](repeating: .nan, count: max(convolution.workspaceFloats(batch: batch), 1))
                convolution.forward(input, &output, batch: batch, workspace: &workspace)
            }
        }
        let spatial = spec.output.height * spec.output.width
        for image in 0..<batch {
            var expected = naiveConvolution(spec, input: Array(input[(image * spec.input.count)...].prefix(spec.input.count)),
                                            weights: parameters[n...])
            for f in 0..<n { for i in 0..<spatial { expected[f * spatial + i] += parameters[f] } }
            assertClose(Array(output[(image * spec.output.count)...].prefix(spec.output.count)), expected, label, line: line)
        }
    }

    func testConvolutionMatchesDirectConvolution() throws {
        // channels, height, width, filters, size, stride, padding, groups, dilation
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
            (3, 9, 7, 4, 3, 1, 1, 1, 1), (4, 8, 8, 6, 3, 2, 1, 2, 1), (5, 7, 9, 5, 3, 1, 1, 5, 1),
            (2, 6, 6, 3, 1, 1, 0, 1, 1), (3, 11, 10, 2, 5, 2, 2, 1, 1), (4, 9, 9, 4, 3, 1, 2, 1, 2),
            (6, 5, 5, 6, 3, 2, 1, 6, 1), (3, 4, 6, 8, 2, 1, 0, 1, 1), (2, 10, 3, 2, 3, 3, 0, 1, 1),
            (256, 32, 32, 4, 3, 1, 1, 1, 1), // 2304·32 floats a row: im2col in two bands of rows
            // strided rows split by x mod stride: odd width, one column, dilation, stride 4
            (2, 8, 9, 3, 3, 2, 1, 1, 1), (3, 7, 1, 2, 3, 2, 1, 1, 1), (2, 9, 11, 3, 3, 2, 2, 1, 2), (2, 9, 13, 2, 5, 4, 2, 1, 1),
        ]
        for (c, h, w, n, size, stride, padding, groups, dilation) in cases {
            let spec = try convolution(channels: c, height: h, width: w, filters: n, size: size, stride: stride,
                                       padding: padding, groups: groups, dilation: dilation)
            if c == 256 { XCTAssertEqual(ConvolutionPlan.bandRows(spec), 28) }
            // Batch 1 runs in bands, batch 3 (small outputs) with the images in one GEMM.
            for batch in [1, 3] {
                assertMatchesNaive(spec, winograd: false, batch: batch,
                                   "c\(c) \(h)×\(w) n\(n) k\(size) s\(stride) p\(padding) g\(groups) d\(dilation) batch \(batch)")
            }
        }
    }

    /// AlexeyAB's stride_x/stride_y, by each method: im2col (3×3), depthwise, a strided 1×1.
    func testSeparateStridesMatchDirectConvolution() throws {
        // channels, height, width, filters, size, stride (x), stride_y, padding, groups
        for (c, h, w, n, size, stride, strideY, padding, groups) in [
            (3, 9, 8, 4, 3, 2, 1, 1, 1), (4, 10, 7, 4, 3, 1, 3, 1, 4), (2, 10, 9, 3, 1, 1, 2, 0, 1), (2, 6, 11, 2, 3, 3, 2, 1, 1),
        ] {
            let spec = try convolution(channels: c, height: h, width: w, filters: n, size: size, stride: stride, strideY: strideY,
                                       padding: padding, groups: groups)
            XCTAssertEqual([spec.output.height, spec.output.width],
                           [(h + 2 * padding - size) / strideY + 1, (w + 2 * padding - size) / stride + 1])
            for batch in [1, 3] {
                assertMatchesNaive(spec, winograd: false, batch: batch, "c\(c) \(h)×\(w) k\(size) s\(stride)×\(strideY) g\(groups) batch \(batch)")
            }
        }
    }

    /// Few channels on a large output: each core unrolls and multiplies bands of rows itself, the
    /// last band shorter, with OpenBLAS single-threaded meanwhile and as threaded as before after.
    func testFewChannelLargeOutputsRunInBandsOnEachCore() throws {
        let threads = BLAS.threads
        // channels, height, width, filters, stride, dilation (= padding), rows a band: 9-row bands
        // of 64 (the last has 1), 7-row of 65 (the last 2), and a dilated 3×3.
        for (c, h, w, n, stride, dilation, rows) in [(3, 64, 64, 5, 1, 1, 9), (4, 130, 130, 3, 2, 1, 7), (3, 64, 64, 4, 1, 2, 9)] {
            let spec = try convolution(channels: c, height: h, width: w, filters: n, size: 3, stride: stride,
                                       padding: dilation, dilation: dilation)
            // Bands need four output rows a core, so on a machine with more than 16 cores these
            // run as one im2col; every other condition holds here on any machine.
            let bands = spec.output.height >= 4 * Parallel.cores
            XCTAssertEqual(ConvolutionPlan.choose(spec, winograd: false, direct: false) == .coreBands, bands)
            XCTAssertEqual(ConvolutionPlan.coreBandRows(spec), rows)
            if bands {
                XCTAssertEqual(planned(spec, direct: false) { $0.workspaceFloats(batch: 1) }, Parallel.cores * c * 9 * spec.output.width * rows)
            }
            assertMatchesNaive(spec, winograd: false, direct: false, batch: 2, "core bands c\(c) \(h)×\(w) s\(stride) d\(dilation)")
            // Where the direct kernel runs, it takes the stride-1 undilated ones.
            let direct = bands && DirectConvolution.available && stride == 1 && dilation == 1
            XCTAssertEqual(ConvolutionPlan.choose(spec, winograd: false, direct: true) == .direct, direct)
            assertMatchesNaive(spec, winograd: false, batch: 2, "direct c\(c) \(h)×\(w) s\(stride) d\(dilation)")
            XCTAssertEqual(BLAS.threads, threads)
        }
        // Too many channels (k = 1152), too small an output, a 1×1 (no columns), groups.
        XCTAssertNotEqual(ConvolutionPlan.choose(try convolution(channels: 128, height: 64, width: 64, filters: 4, size: 3, padding: 1), winograd: false, direct: false), .coreBands)
        XCTAssertNotEqual(ConvolutionPlan.choose(try convolution(channels: 3, height: 32, width: 64, filters: 4, size: 3, padding: 1), winograd: false, direct: false), .coreBands)
        XCTAssertNotEqual(ConvolutionPlan.choose(try convolution(channels: 3, height: 64, width: 64, filters: 4, size: 1, padding: 0), winograd: false, direct: false), .coreBands)
        XCTAssertNotEqual(ConvolutionPlan.choose(try convolution(channels: 4, height: 64, width: 64, filters: 4, size: 3, padding: 1, groups: 2), winograd: false, direct: false), .coreBands)
    }

    /// The direct kernel on its own, against the naive convolution followed by y = m·x + s and
    /// Darknet's leaky or relu: sizes 1 to 5, paddings 0 to size, filter counts
    /// that leave every tile height (12, 8, 4, 1), outputs narrower and wider than a tile, bands of
    /// any height, the rows split between the cores.
    func testDirectKernelMatchesNaiveConvolution() throws {
        try XCTSkipUnless(DirectConvolution.available, "the direct kernel needs AVX-512")
        let activations: [(Activation, direct_activation)] = [(.linear, direct_linear), (.leaky, direct_leaky), (.relu, direct_relu)]
        for trial in 0..<60 {
            let size = 1 + trial % 5, padding = trial / 5 % (size + 1)
            let (c, h, w, n) = (1 + Int(random.next() % 9), size + Int(random.next() % 20), size + Int(random.next() % 45), 1 + Int(random.next() % 30))
            let spec = try convolution(channels: c, height: h, width: w, filters: n, size: size, padding: padding)
            XCTAssertTrue(DirectConvolution.applies(to: spec))
            let (activation, kernelActivation) = activations[trial % 3]
            let input = randomArray(spec.input.count), weights = randomArray(spec.weightCount)
            let multipliers = randomArray(n).map { $0 + 1.5 }, shifts = randomArray(n)
            let bandRows = 1 + Int(random.next() % UInt64(spec.output.height))
            var workspace = [Float](repeating: .nan, count: Parallel.cores * DirectConvolution.workspaceFloats(spec, bandRows: bandRows))
            var output = [Float](repeating: .nan, count: spec.output.count)
            DirectConvolution.convolve(spec, input, weights: weights, multipliers: multipliers, shifts: shifts, activation: kernelActivation,
                                       &output, workspace: &workspace, bandRows: bandRows)
            let spatial = spec.output.height * spec.output.width
            let expected = naiveConvolution(spec, input: input, weights: weights[...]).enumerated().map { i, x in
                activation(x * multipliers[i / spatial] + shifts[i / spatial])
            }
            assertClose(output, expected, "c\(c) \(h)×\(w) n\(n) k\(size) p\(padding) band \(bandRows) \(activation)")
        }
    }

    /// Sections with OpenBLAS single-threaded overlap when contexts run on several threads: each
    /// sees one thread inside, and the count is restored once all have left (restoring each its own
    /// "previous" left it at 1).
    func testOverlappingSingleThreadedSectionsRestoreTheThreadCount() {
        let threads = BLAS.threads
        defer { BLAS.threads = threads }
        BLAS.threads = 2
        // Each worker writes its own 200 slots.
        nonisolated(unsafe) let inside = UnsafeMutablePointer<Int>.allocate(capacity: 8 * 200)
        defer { inside.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<200 { BLAS.singleThreaded { inside[worker * 200 + round] = BLAS.threads } }
        }
        XCTAssertEqual(Set(UnsafeBufferPointer(start: inside, count: 8 * 200)), [1])
        XCTAssertEqual(BLAS.threads, 2)
    }

    /// `forward_maxpool_layer` read literally: the window starts at −padding/2, outside is −FLT_MAX.
    func naiveMaxPool(_ spec: MaxPool, _ input: [Float]) -> [Float] {
        let (h, w) = (spec.input.height, spec.input.width)
        var output: [Float] = []
        for c in 0..<spec.input.channels {
            for oy in 0..<spec.output.height {
                for ox in 0..<spec.output.width {
                    var best = -Float.greatestFiniteMagnitude
                    for ky in 0..<spec.size {
                        for kx in 0..<spec.size {
                            let (y, x) = (oy * spec.stride - spec.padding / 2 + ky, ox * spec.stride - spec.padding / 2 + kx)
                            guard y >= 0 && y < h && x >= 0 && x < w else { continue }
                            let value = input[(c * h + y) * w + x]
                            if value > best || value.isNaN { best = value } // a NaN stays: nothing is > NaN
                        }
                    }
                    output.append(best)
                }
            }
        }
        return output
    }

    func testMaxPoolMatchesItsDefinition() throws {
        // size, stride, padding (nil: Darknet's default size − 1), height, width: 2×2/2 on even and odd
        // widths (four outputs at a time, then the rest), 2×2/1 (yolov3-tiny's last), 3×3/2, SPP's
        // 5×5, 9×9 and 13×13 /1 (windows wider than the image), a 1×1 image, stride = size, and
        // a padding twice the window (the first and last windows wholly outside the image).
        let cases: [(Int, Int, Int?, Int, Int)] = [(2, 2, nil, 6, 20), (2, 2, nil, 7, 19), (2, 2, 0, 9, 13), (2, 1, nil, 5, 13),
                                                   (3, 2, nil, 9, 11), (5, 1, nil, 8, 10), (9, 1, nil, 10, 21), (13, 1, nil, 13, 13),
                                                   (2, 2, nil, 1, 1), (3, 3, 2, 10, 10), (3, 2, 8, 8, 9)]
        for (size, stride, padding, h, w) in cases {
            let d = try definition("[net]\nwidth=\(w)\nheight=\(h)\nchannels=3\n[maxpool]\nsize=\(size)\nstride=\(stride)\n"
                                   + (padding.map { "padding=\($0)\n" } ?? ""))
            guard case .maxpool(let spec) = d.layers[0].spec else { return XCTFail() }
            var input = randomArray(spec.input.count)
            var output = [Float](repeating: .nan, count: spec.output.count)
            MaxPool.maxpool(spec, input, &output)
            XCTAssertEqual(largestDifference(output, naiveMaxPool(spec, input)), 0, "\(size)×\(size)/\(stride) p\(padding ?? size - 1) \(h)×\(w)")

            // Every 7th input NaN (at every place in a window across the outputs): a window
            // holding one gives NaN, the others their maximum.
            for i in Swift.stride(from: 3, to: input.count, by: 7) { input[i] = .nan }
            output = [Float](repeating: 0, count: spec.output.count)
            MaxPool.maxpool(spec, input, &output)
            let expected = naiveMaxPool(spec, input)
            XCTAssert(expected.contains(where: \.isNaN) || input.count < 4, "\(h)×\(w)")
            XCTAssert(zip(output, expected).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }, "NaN, \(size)×\(size)/\(stride) \(h)×\(w)")
        }
    }

    /// Setting how long OpenBLAS's workers spin restarts them: its value reads back, the
    /// environment is left as it was, and a GEMM large enough to be threaded still multiplies right.
    func testWorkerSpinRestartsOpenBLASThreads() throws {
        // Debian's default OpenBLAS (the one the set-up installs) is the threaded build.
        let previous = try XCTUnwrap(BLAS.workerSpin, "OpenBLAS without threads")
        defer { BLAS.workerSpin = previous }
        let environment = ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"]
        for log2Cycles in [previous == 17 ? 18 : 17, 2] {
            BLAS.workerSpin = log2Cycles
            XCTAssertEqual(BLAS.workerSpin, max(log2Cycles, 4)) // OpenBLAS's least is 2^4
            XCTAssertEqual(ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"], environment)
            let (m, n, k) = (96, 300, 200)
            let (a, b) = (randomArray(m * k), randomArray(k * n))
            var c = [Float](repeating: .nan, count: m * n)
            Kernels.gemm(m: m, n: n, k: k, a: a, b: b, c: &c)
            var worst: Float = 0
            for i in 0..<m {
                for j in 0..<n {
                    let expected = (0..<k).reduce(Float(0)) { $0 + a[i * k + $1] * b[$1 * n + j] }
                    worst = max(worst, abs(c[i * n + j] - expected))
                }
            }
            XCTAssertLessThan(worst, 1e-3, "spin 2^\(log2Cycles)")
        }
    }

    /// The kernel's count of huge-page kB in the mapping holding `address`, from /proc/self/smaps
    /// (read to the end: String(contentsOfFile:) stops short on /proc files, which report size 0).
    private func hugePageKilobytes(around address: UnsafeMutableRawPointer) throws -> Int {
        let smaps = String(decoding: try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps")).readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n")
        // Each mapping is a line "start-end perms ..." followed by lines "Name:   N kB"; the kernel
        // may have merged ours with a neighbour, so look for the one that contains it.
        let target = UInt(bitPattern: Int(bitPattern: address))
        let header = try XCTUnwrap(smaps.firstIndex { line in
            let bounds = line.split(separator: " ").first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            return bounds.count == 2 && bounds[0] <= target && target < bounds[1]
        })
        let line = try XCTUnwrap(smaps[(header + 1)...].first { $0.hasPrefix("AnonHugePages:") })
        return try XCTUnwrap(Int(line.split(separator: " ")[1]))
    }

    /// How many of the 4 KiB pages of `floats` are in memory (mincore).
    private func residentPages(_ memory: FloatMemory) -> Int {
        let pages = (memory.count * 4 + 4095) / 4096
        var resident = [UInt8](repeating: 0, count: pages)
        XCTAssertEqual(mincore(memory.floats, memory.count * 4, &resident), 0)
        return resident.filter { $0 & 1 != 0 }.count
    }

    /// Large arrays start on a 2 MiB boundary and, where transparent huge pages are on, are
    /// backed by them once written; without them, a reader's array has every page in before it
    /// writes any (MAP_POPULATE). Every float is ours to write and read either way.
    func testLargeArraysAreOnHugePagesOrPopulated() throws {
        let count = 6 << 20
        func roundTrip(_ memory: FloatMemory) {
            for i in 0..<count { memory.floats[i] = Float(i & 1023) }
            XCTAssertEqual((0..<count).reduce(0) { $0 + Int(memory.floats[$1]) }, count / 1024 * (1023 * 1024 / 2))
        }
        let populated = FloatMemory(count: count, populate: true, hugePages: false)
        XCTAssertEqual(residentPages(populated), count * 4 / 4096)
        roundTrip(populated)
        guard FloatMemory.hugePagesAvailable else { return }
        let huge = FloatMemory(count: count, populate: true)
        XCTAssertEqual(Int(bitPattern: huge.floats) % (1 << 21), 0)
        XCTAssertEqual(residentPages(huge), 0, "faulted in as written, not populated")
        roundTrip(huge)
        XCTAssertGreaterThan(try hugePageKilobytes(around: huge.floats), 0)
    }

    func testImagesShareAGEMMWithinTheBudget() throws {
        let small = try convolution(channels: 3, height: 9, width: 7, filters: 4, size: 3, padding: 1)
        XCTAssertEqual([1, 2, 3, 8].map { batch in planned(small) { $0.imagesPerGEMM(batch: batch) } }, [1, 2, 3, 8])
        // 1×1 (no columns to share), grouped, and 32×32 outputs run one image at a time.
        XCTAssertEqual(planned(try convolution(channels: 2, height: 6, width: 6, filters: 3, size: 1, padding: 0)) { $0.imagesPerGEMM(batch: 4) }, 1)
        XCTAssertEqual(planned(try convolution(channels: 4, height: 8, width: 8, filters: 6, size: 3, padding: 1, groups: 2)) { $0.imagesPerGEMM(batch: 4) }, 1)
        XCTAssertEqual(planned(try convolution(channels: 3, height: 32, width: 32, filters: 4, size: 3, padding: 1)) { $0.imagesPerGEMM(batch: 4) }, 1)
        // (320·9 + 4)·31·31 = 2.77 M floats an image: two of a batch of three fit 3·2 M, the third runs alone.
        let wide = try convolution(channels: 320, height: 31, width: 31, filters: 4, size: 3, padding: 1)
        XCTAssertEqual(planned(wide) { $0.imagesPerGEMM(batch: 3) }, 2)
        XCTAssertEqual(planned(wide) { $0.workspaceFloats(batch: 3) }, 2 * 2884 * 961)
        assertMatchesNaive(wide, winograd: false, batch: 3, "two images in one GEMM, then one alone")
    }

    func testWinogradMatchesDirectConvolution() throws {
        // channels, height, width, filters: odd and even sizes (the last tile row and column
        // stick out of odd ones), a 1×1 image, one in two bands of tile rows, and 10 tiles across
        // (two groups of four at a time, one alone, one sticking out).
        for (c, h, w, n) in [(3, 9, 7, 4), (5, 6, 8, 7), (2, 1, 1, 3), (4, 2, 5, 2), (256, 40, 64, 4), (3, 11, 19, 5)] {
            let spec = try convolution(channels: c, height: h, width: w, filters: n, size: 3, padding: 1)
            XCTAssertTrue(Winograd.applies(to: spec))
            if c == 256 { XCTAssertEqual(Winograd.bandTileRows(spec), 10) }
            assertMatchesNaive(spec, winograd: true, "winograd c\(c) \(h)×\(w) n\(n)")
        }
    }

    func testWinogradTilesOfSeveralImagesShareItsGEMMs() throws {
        // 16·(600 + 4)·16·16 = 2.47 M floats of V and M an image: two of a batch of three fit
        // 3·2 M, the third runs alone; 32×32 outputs run one image at a time, in bands.
        let wide = try convolution(channels: 600, height: 31, width: 31, filters: 4, size: 3, padding: 1)
        let large = try convolution(channels: 64, height: 32, width: 32, filters: 4, size: 3, padding: 1)
        let kernels = [Float](repeating: 0, count: Winograd.kernelFloats(wide))
        var parameters = [Float](repeating: 0, count: wide.weightCount + wide.filters)
        kernels.withUnsafeBufferPointer { u in
            parameters.withUnsafeMutableBufferPointer { p in
                let wideWinograd = plan(wide, p.baseAddress!, winogradKernels: u.baseAddress!)
                XCTAssertEqual(wideWinograd.imagesPerGEMM(batch: 3), 2)
                XCTAssertEqual(wideWinograd.workspaceFloats(batch: 3), 2 * 16 * 604 * 256)
                XCTAssertEqual(plan(large, p.baseAddress!, winogradKernels: u.baseAddress!).imagesPerGEMM(batch: 4), 1)
            }
        }
        assertMatchesNaive(wide, winograd: true, batch: 3, "winograd, two images' tiles in one pass, then one alone")
    }

    func testWinogradGoesToTheLargestQualifyingLayers() throws {
        let cfg = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cfg")
        // yolov3-tiny: every 3×3 layer from 13×13 up but those with 3 to 32 channels; layer 12
        // (512 → 1024 at 13×13, 8.4 M floats) fits only as the budget is twice its 8.86 M floats.
        let tiny = try NetworkDefinition(contentsOf: cfg.appendingPathComponent("yolov3-tiny.cfg").path)
        let tinyChosen = WinogradKernels.choose(tiny)
        XCTAssertEqual(tinyChosen.offsets.keys.sorted(), [6, 8, 10, 12, 14, 21])
        XCTAssertEqual(WinogradKernels.budgetFloats(tiny), 1 << 24)
        XCTAssertEqual(tinyChosen.floats, 14_811_136)
        // yolov3: the budget (its own 61.9 M floats, over 2^24) takes every layer from 104×104 to 26×26, then
        // three of its seven 13×13 ones (8.4 M floats each).
        let yolo = try NetworkDefinition(contentsOf: cfg.appendingPathComponent("yolov3.cfg").path)
        let chosen = WinogradKernels.choose(yolo)
        XCTAssertEqual(chosen.offsets.keys.sorted(), [7, 10, 14, 17, 20, 23, 26, 29, 32, 35, 39, 42, 45, 48, 51, 54, 57, 60,
                                                      64, 67, 70, 88, 90, 92, 100, 102, 104])
        XCTAssertEqual(chosen.floats, 54_263_808)
    }

    func testBatchNormAndActivationFollowDarknet() throws {
        let d = try definition("[net]\nwidth=3\nheight=2\nchannels=2\n[convolutional]\nfilters=2\nbatch_normalize=1\nactivation=leaky\n")
        guard case .convolutional(let spec) = d.layers[0].spec else { return XCTFail() }
        // β, γ, mean, variance, then the 1×1 kernel (identity).
        var parameters: [Float] = [0.5, -1, 2, 3, 0.25, 0.5, 4, 9, 1, 0, 0, 1]
        let input: [Float] = [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6]
        var output = [Float](repeating: 0, count: 12)
        var workspace: [Float] = [0]
        parameters.withUnsafeMutableBufferPointer { p in
            plan(spec, p.baseAddress!).forward(input, &output, batch: 1, workspace: &workspace)
        }
        let (beta, gamma, mean, variance): ([Float], [Float], [Float], [Float]) = ([0.5, -1], [2, 3], [0.25, 0.5], [4, 9])
        let expected: [Float] = input.enumerated().map { i, x in
            let c = i / 6
            let normalized: Float = (x - mean[c]) / (variance[c].squareRoot() + 0.000001)
            let y: Float = gamma[c] * normalized + beta[c]
            return y > 0 ? y : 0.1 * y
        }
        assertClose(output, expected, "BN + leaky")
    }

    /// Through a whole plan, the direct kernel's fused batch-norm and leaky/relu/linear, a
    /// activation it leaves to the pass after (mish), and the raw product a calibrator sees, all
    /// as the core bands compute them.
    func testDirectPlanNormalizesAndActivatesAsCoreBands() throws {
        try XCTSkipUnless(DirectConvolution.available, "the direct kernel needs AVX-512")
        for activation in ["leaky", "relu", "linear", "mish"] {
            let d = try definition("[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=14\nsize=3\npad=1\nbatch_normalize=1\nactivation=\(activation)\n")
            guard case .convolutional(let spec) = d.layers[0].spec else { return XCTFail() }
            var parameters = randomArray(spec.weightArrays.reduce(0) { $0 + $1.count })
            parameters.withUnsafeMutableBufferPointer { p in
                let variance = BoundParameters(spec.weightArrays, at: p.baseAddress!)[.rollingVariance]!
                for c in 0..<spec.filters { variance[c] = abs(variance[c]) + 0.1 }
            }
            let input = randomArray(spec.input.count * 2)
            func run(direct: Bool, calibrating: Bool) -> (output: [Float], raw: [Float]) {
                var output = [Float](repeating: .nan, count: spec.output.count * 2), raw: [Float] = []
                parameters.withUnsafeMutableBufferPointer { p in
                    let convolution = plan(spec, p.baseAddress!, direct: direct)
                    XCTAssertEqual(convolution.method, direct ? .direct : .coreBands)
                    var workspace = [Float](repeating: .nan, count: convolution.workspaceFloats(batch: 2))
                    let calibrate: ConvolutionPlan.Calibrator = { plan, values, batch in
                        raw = Array(UnsafeBufferPointer(start: values, count: plan.floatsPerImage * batch))
                    }
                    convolution.forward(input, &output, batch: 2, workspace: &workspace, calibrate: calibrating ? calibrate : nil)
                }
                return (output, raw)
            }
            let (direct, bands) = (run(direct: true, calibrating: false), run(direct: false, calibrating: false))
            assertClose(direct.output, bands.output, "direct \(activation)")
            let (directRaw, bandsRaw) = (run(direct: true, calibrating: true), run(direct: false, calibrating: true))
            assertClose(directRaw.raw, bandsRaw.raw, "raw product for a calibrator, \(activation)")
            assertClose(directRaw.output, bands.output, "direct \(activation) after a calibrator")
        }
    }

    func testConnectedMatchesMatrixProduct() throws {
        let d = try definition("[net]\nwidth=3\nheight=2\nchannels=2\n[connected]\noutput=5\nactivation=linear\n")
        guard case .connected(let spec) = d.layers[0].spec else { return XCTFail() }
        var parameters = randomArray(d.storedFloats)
        let input = randomArray(12 * 3)
        var output = [Float](repeating: 0, count: 5 * 3)
        parameters.withUnsafeMutableBufferPointer { p in
            input.withUnsafeBufferPointer { ConnectedPlan.connected(spec, BoundParameters(spec.weightArrays, at: p.baseAddress!), $0.baseAddress!, &output, batch: 3, dialect: .darknet) }
        }
        var expected = [Float](repeating: 0, count: 15)
        for b in 0..<3 { for o in 0..<5 {
            expected[b * 5 + o] = parameters[o] + (0..<12).reduce(0) { $0 + parameters[5 + o * 12 + $1] * input[b * 12 + $1] }
        } }
        assertClose(output, expected, "connected")
    }

    /// The vector exp against Foundation's over its whole range, lengths with and without a
    /// tail, and the clamp: no overflow to inf, no NaN, for any finite input.
    func testVectorExpFollowsFoundation() {
        var worst: Float = 0
        for x in stride(from: Float(-87), through: 88, by: 0.0137) {
            let expected = Foundation.exp(x)
            worst = max(worst, abs(Kernels.exp(SIMD8(repeating: x))[0] - expected) / expected)
        }
        XCTAssertLessThan(worst, 2e-7)
        let extremes = Kernels.exp(SIMD8(-1e30, -200, -88, 89, 200, 1e30, -.greatestFiniteMagnitude, .greatestFiniteMagnitude))
        XCTAssertTrue((0..<8).allSatisfy { extremes[$0].isFinite && extremes[$0] >= 0 }, "\(extremes)")
        XCTAssertGreaterThan(extremes[3], 1e38)
        for count in [1, 7, 8, 9, 1000] {
            let values = randomArray(count).map { $0 * 20 }
            var logistic = values
            logistic.withUnsafeMutableBufferPointer { Activation.logistic.apply($0.baseAddress!, count: count) }
            for (y, x) in zip(logistic, values) { XCTAssertEqual(y, 1 / (1 + Foundation.exp(-x)), accuracy: 3e-7, "count \(count)") }
        }
    }

    func testMemoryPlanNeverSharesALiveBuffer() throws {
        let d = try NetworkDefinition(contentsOf: DefinitionTests.shipped("yolov3.cfg"))
        let plan = MemoryPlan(d) { [82, 94, 106].contains($0) }
        XCTAssertLessThan(Set(plan.buffer).count, 12)
        // Replay: a buffer may be reused only when no later layer still reads its old content.
        var readers = [Int: Int]() // layer → last reader
        for layer in d.layers {
            readers[layer.index] = layer.index + 1
            if case .route(let r) = layer.spec { r.layers.forEach { readers[$0] = max(readers[$0]!, layer.index) } }
            if case .shortcut(let s) = layer.spec { s.from.forEach { readers[$0] = max(readers[$0]!, layer.index) } }
        }
        for a in d.layers.indices {
            for b in (a + 1)..<d.layers.count where plan.buffer[a] == plan.buffer[b] {
                XCTAssertFalse([82, 94, 106].contains(a), "kept layer \(a) overwritten by \(b)")
                XCTAssertLessThan(readers[a]!, b, "layer \(b) overwrites layer \(a), still read by layer \(readers[a]!)")
            }
            XCTAssertGreaterThanOrEqual(plan.bufferFloats[plan.buffer[a]], d.layers[a].output.count)
        }
    }

    /// `do_nms_sort`'s pass as Darknet writes it: every later box compared with every box
    /// still standing.
    func naiveSuppression(_ boxes: [Box], threshold: Float, suppression: Yolo.Suppression) -> [Bool] {
        var suppressed = [Bool](repeating: false, count: boxes.count)
        for i in boxes.indices where !suppressed[i] {
            for j in (i + 1)..<boxes.count where boxes[i].overlap(boxes[j], by: suppression) > threshold { suppressed[j] = true }
        }
        return suppressed
    }

    func testSuppressionComparesOnlyNearbyBoxesAndDecidesAsDarknet() {
        for trial in 0..<40 {
            // Dense clusters of small boxes, a few wide ones, and boxes that only touch.
            let count = 1 + trial * 10
            var boxes = (0..<count).map { _ in
                Box(x: random.uniform(0, 1), y: random.uniform(0, 1), w: random.uniform(0, 0.15), h: random.uniform(0, 0.15))
            }
            if trial % 3 == 0 { boxes.append(Box(x: 0.5, y: 0.5, w: random.uniform(0.5, 2), h: 0.3)) }
            if trial % 4 == 0, let first = boxes.first { boxes.append(Box(x: first.x + first.w, y: first.y, w: first.w, h: first.h)) }
            for threshold: Float in [0, 0.1, 0.45, 0.9, -0.5] {
                for suppression: Yolo.Suppression in [.iou, .distanceIoU(exponent: 0.6)] {
                    let suppressed = BoxDecoder.suppressedBoxes(boxes, threshold: threshold, suppression: suppression)
                    XCTAssertEqual(suppressed, naiveSuppression(boxes, threshold: threshold, suppression: suppression),
                                   "trial \(trial), \(suppression) > \(threshold)")
                    if threshold == 0.45, suppression == .iou, count > 100 { XCTAssertTrue(suppressed.contains(true), "trial \(trial) suppresses something") }
                }
            }
        }
    }
}
