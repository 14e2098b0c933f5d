/// Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
/// Neural Networks", 2016) for 3×3, stride-1, padding-1 convolutions. Each 2×2 output tile is
/// Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, d being the 4×4 input tile around it; summed over the channels, the
/// ⊙ becomes 16 GEMMs (filters × channels)·(channels × tiles): 16 multiply-adds per 2×2 outputs
/// and channel instead of im2col's 36. The transforms only add and subtract.
enum Winograd {
    static func applies(to spec: Convolutional) -> Bool {
        spec.size == 3 && spec.stride == 1 && spec.strideY == 1 && spec.antialiasing == 0 && spec.padding == 1 && spec.dilation == 1 && spec.groups == 1
            && spec.output.height == spec.input.height && spec.output.width == spec.input.width
    }

    /// Floats of the transformed kernels U: 16 per filter and channel.
    static func kernelFloats(_ spec: Convolutional) -> Int { 16 * spec.filters * spec.input.channels }

    /// U = G g Gᵀ for every filter f and channel c, stored [16][filters][channels] so that each
    /// of the 16 is the A matrix of one GEMM. G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
    static func transformKernels(_ weights: UnsafePointer<Float>, filters: Int, channels: Int, into u: UnsafeMutablePointer<Float>) {
        let plane = filters * channels
        for f in 0..<filters {
            for c in 0..<channels {
                let g = weights + (f * channels + c) * 9
                // The columns of G·g (each a SIMD4 over its 4 rows), then (G·g)·Gᵀ column by column.
                func column(_ x: Int) -> SIMD4<Float> {
                    let (g0, g1, g2) = (g[x], g[3 + x], g[6 + x])
                    return SIMD4(g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
                }
                let (c0, c1, c2) = (column(0), column(1), column(2))
                let (u0, u1, u2, u3) = (c0, (c0 + c1 + c2) / 2, (c0 - c1 + c2) / 2, c2)
                let target = u + f * channels + c
                for i in 0..<4 {
                    target[4 * i * plane] = u0[i]
                    target[(4 * i + 1) * plane] = u1[i]
                    target[(4 * i + 2) * plane] = u2[i]
                    target[(4 * i + 3) * plane] = u3[i]
                }
            }
        }
    }

    /// Tiles across and down the output.
    static func tiles(_ spec: Convolutional) -> (across: Int, down: Int) {
        ((spec.output.width + 1) / 2, (spec.output.height + 1) / 2)
    }

    /// Tile rows transformed at a time: equal bands whose V and M matrices take about the im2col
    /// budget (at least one row of tiles), so the workspace stays as small as the direct path's.
    static func bandTileRows(_ spec: Convolutional) -> Int {
        let (across, down) = tiles(spec)
        let perRow = 16 * (spec.input.channels + spec.filters) * across
        let bands = max(1, (perRow * down + ConvolutionPlan.columnBudget - 1) / ConvolutionPlan.columnBudget)
        return (down + bands - 1) / bands
    }

    /// V (16 × channels × band tiles), then M (16 × filters × band tiles).
    static func workspaceFloats(_ spec: Convolutional) -> Int {
        16 * (spec.input.channels + spec.filters) * tiles(spec).across * bandTileRows(spec)
    }

    /// V and M for `images` whole images side by side (see `convolve`).
    static func workspaceFloats(_ spec: Convolutional, images: Int) -> Int {
        let (across, down) = tiles(spec)
        return 16 * (spec.input.channels + spec.filters) * across * down * images
    }

    /// `images` images: output (filters × h × w each) = the convolution of input (channels × h × w
    /// each), before bias and batch-norm, with the kernels `u` from `transformKernels`. One image
    /// goes in bands of tile rows; several go whole, their tiles side by side in each of the 16
    /// GEMMs, which a small output would make narrow.
    static func convolve(_ spec: Convolutional, kernels u: UnsafePointer<Float>, images: Int = 1, _ input: UnsafePointer<Float>,
                         _ output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let (channels, filters) = (spec.input.channels, spec.filters)
        let (across, down) = tiles(spec)
        let band = images > 1 ? down : bandTileRows(spec)
        for first in stride(from: 0, to: down, by: band) {
            let rows = first..<min(first + band, down)
            let perImage = rows.count * across, count = perImage * images
            let v = workspace, m = workspace + 16 * channels * count
            Parallel.forEach(channels, work: 16 * channels * count) { range in
                for image in 0..<images {
                    transformInput(spec, input + image * spec.input.count, channels: range, tileRows: rows,
                                   into: v + image * perImage, tiles: count)
                }
            }
            // Each core multiplies its share of the filters in all 16 products, single-threaded,
            // and turns them into outputs while they are still in its cache.
            BLAS.singleThreaded {
                Parallel.forEach(filters, work: 16 * filters * channels * count) { range in
                    for k in 0..<16 {
                        Kernels.gemm(m: range.count, n: count, k: channels, a: u + (k * filters + range.lowerBound) * channels,
                                     b: v + k * channels * count, c: m + (k * filters + range.lowerBound) * count)
                    }
                    for image in 0..<images {
                        transformOutput(spec, m + image * perImage, filters: range, tileRows: rows, tiles: count,
                                        into: output + image * spec.output.count)
                    }
                }
            }
        }
    }

    /// V = Bᵀ d B for each channel and tile, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]: first
    /// across four input rows at once (whole rows, contiguous), then along the row.
    private static func transformInput(_ spec: Convolutional, _ input: UnsafePointer<Float>, channels: Range<Int>,
                                       tileRows: Range<Int>, into v: UnsafeMutablePointer<Float>, tiles: Int) {
        let (h, w) = (spec.input.height, spec.input.width)
        let across = self.tiles(spec).across
        let count = spec.input.channels
        // Four combined rows over x = −1 ..< 2·across + 1 (zero outside the image), then a zero row.
        let padded = 2 * across + 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * padded + w) { scratch in
            let t = scratch.baseAddress!, zero = t + 4 * padded
            t.update(repeating: 0, count: 4 * padded)
            zero.update(repeating: 0, count: w)
            for c in channels {
                let plane = input + c * h * w
                for ty in tileRows {
                    func row(_ r: Int) -> UnsafePointer<Float> {
                        let y = 2 * ty - 1 + r
                        return y >= 0 && y < h ? plane + y * w : UnsafePointer(zero)
                    }
                    let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3))
                    let (t0, t1, t2, t3) = (t + 1, t + padded + 1, t + 2 * padded + 1, t + 3 * padded + 1)
                    for x in 0..<w {
                        t0[x] = d0[x] - d2[x]
                        t1[x] = d1[x] + d2[x]
                        t2[x] = d2[x] - d1[x]
                        t3[x] = d1[x] - d3[x]
                    }
                    let tile = (ty - tileRows.lowerBound) * across
                    for i in 0..<4 {
                        let s = t + i * padded
                        let v0 = v + ((4 * i) * count + c) * tiles + tile
                        let v1 = v0 + count * tiles, v2 = v1 + count * tiles, v3 = v2 + count * tiles
                        var tx = 0
                        while tx + 4 <= across { // four tiles at a time: their a, b and e, f are the evens and odds of 8 floats
                            let p = UnsafeRawPointer(s + 2 * tx).loadUnaligned(as: SIMD8<Float>.self)
                            let q = UnsafeRawPointer(s + 2 * tx + 2).loadUnaligned(as: SIMD8<Float>.self)
                            let (a, b, e, f) = (p.evenHalf, p.oddHalf, q.evenHalf, q.oddHalf)
                            UnsafeMutableRawPointer(v0 + tx).storeBytes(of: a - e, as: SIMD4<Float>.self)
                            UnsafeMutableRawPointer(v1 + tx).storeBytes(of: b + e, as: SIMD4<Float>.self)
                            UnsafeMutableRawPointer(v2 + tx).storeBytes(of: e - b, as: SIMD4<Float>.self)
                            UnsafeMutableRawPointer(v3 + tx).storeBytes(of: b - f, as: SIMD4<Float>.self)
                            tx += 4
                        }
                        for tx in tx..<across {
                            let (a, b, e, f) = (s[2 * tx], s[2 * tx + 1], s[2 * tx + 2], s[2 * tx + 3])
                            v0[tx] = a - e
                            v1[tx] = b + e
                            v2[tx] = e - b
                            v3[tx] = b - f
                        }
                    }
                }
            }
        }
    }

    /// Y = Aᵀ m A for each filter and tile, Aᵀ = [1 1 1 0; 0 1 −1 −1], written to its 2×2 outputs.
    /// The loops run along a row of tiles, reading each of the 16 matrices contiguously, four
    /// tiles at a time; the rest, and an odd output's last tile column and row, which stick out,
    /// one at a time through the same arithmetic.
    private static func transformOutput(_ spec: Convolutional, _ m: UnsafePointer<Float>, filters: Range<Int>,
                                        tileRows: Range<Int>, tiles: Int, into output: UnsafeMutablePointer<Float>) {
        let (h, w) = (spec.output.height, spec.output.width)
        let across = self.tiles(spec).across
        let stride = spec.filters * tiles
        for f in filters {
            let plane = output + f * h * w
            for ty in tileRows {
                let mt = m + f * tiles + (ty - tileRows.lowerBound) * across
                let top = plane + 2 * ty * w, bottom = 2 * ty + 1 < h ? top + w : nil
                let full = w / 2 // tiles whose two columns are both inside
                // Four tiles at a time, their outputs interleaved into the rows.
                var first = 0
                while first + 4 <= full {
                    let y = outputs { k in UnsafeRawPointer(mt + k * stride + first).loadUnaligned(as: SIMD4<Float>.self) }
                    @inline(__always) func store(_ left: SIMD4<Float>, _ right: SIMD4<Float>, _ row: UnsafeMutablePointer<Float>) {
                        let pairs = SIMD8(left[0], right[0], left[1], right[1], left[2], right[2], left[3], right[3])
                        UnsafeMutableRawPointer(row + 2 * first).storeBytes(of: pairs, as: SIMD8<Float>.self)
                    }
                    store(y.0, y.1, top)
                    if let bottom { store(y.2, y.3, bottom) }
                    first += 4
                }
                // The rest one at a time, in lane 0; the last tile of an odd width sticks out by a column.
                for tx in first..<across {
                    let y = outputs { k in SIMD4(mt[k * stride + tx], 0, 0, 0) }
                    let inside = 2 * tx + 1 < w
                    top[2 * tx] = y.0[0]
                    if inside { top[2 * tx + 1] = y.1[0] }
                    if let bottom {
                        bottom[2 * tx] = y.2[0]
                        if inside { bottom[2 * tx + 1] = y.3[0] }
                    }
                }
            }
        }
    }

    /// Aᵀ m A, Aᵀ = [1 1 1 0; 0 1 −1 −1], for four tiles at once, a lane each (`load(k)`: the
    /// values of the k-th of the 16 matrices): their top-left, top-right, bottom-left and
    /// bottom-right outputs.
    @inline(__always)
    private static func outputs(_ load: (Int) -> SIMD4<Float>) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
        @inline(__always) func column(_ j: Int) -> (SIMD4<Float>, SIMD4<Float>) { // (Aᵀ m)[·][j]
            let (m0, m1, m2, m3) = (load(j), load(4 + j), load(8 + j), load(12 + j))
            return (m0 + m1 + m2, m1 - m2 - m3)
        }
        let (a0, b0) = column(0), (a1, b1) = column(1), (a2, b2) = column(2), (a3, b3) = column(3)
        return (a0 + a1 + a2, a1 - a2 - a3, b0 + b1 + b2, b1 - b2 - b3)
    }
}

/// The Winograd kernels of a network's convolutions, transformed once when it is built. They
/// take 16/9 of the kernels' memory, so only the layers where Winograd pays most get them:
/// - outputs of 13×13 and more, and 64 input channels and more: with fewer channels the
///   transforms cost about what the GEMMs save, and below 13×13 reading the 16/9× larger
///   kernels does.
/// - the largest outputs first, as the multiply-adds saved per byte of kernels grow with the
///   output's area, while the transformed kernels stay within the weights' own size, or twice
///   it up to 64 MiB (a small network's one 13×13 layer with many channels), at least 16 MiB,
///   so that peak memory stays below what the fastest fp32 runtimes take for the same model.
/// The rule was chosen on whole-model runs (single-layer runs move too much with the machine's
/// load to decide it).
final class WinogradKernels: @unchecked Sendable {
    private let memory: FloatMemory
    private let offsets: [Int: Int]

    static func qualifies(_ spec: Convolutional) -> Bool {
        let area = spec.output.height * spec.output.width
        return Winograd.applies(to: spec) && area >= 13 * 13
            && spec.input.channels >= 64
            // one row of tiles within the im2col budget, so the workspace stays under twice it
            && 16 * (spec.input.channels + spec.filters) * Winograd.tiles(spec).across <= ConvolutionPlan.columnBudget
    }

    static func budgetFloats(_ definition: NetworkDefinition) -> Int {
        max(definition.storedFloats, min(2 * definition.storedFloats, 1 << 24), 1 << 22)
    }

    /// The layers chosen, each with its kernels' offset in the store, and the floats they need.
    static func choose(_ definition: NetworkDefinition) -> (offsets: [Int: Int], floats: Int) {
        let candidates = definition.layers.compactMap { layer -> (index: Int, spec: Convolutional)? in
            guard case .convolutional(let spec) = layer.spec, qualifies(spec) else { return nil }
            return (layer.index, spec)
        }.sorted { a, b in
            let (areaA, areaB) = (a.spec.output.height * a.spec.output.width, b.spec.output.height * b.spec.output.width)
            return areaA != areaB ? areaA > areaB : a.index < b.index
        }
        var offsets: [Int: Int] = [:], total = 0
        for (index, spec) in candidates where total + Winograd.kernelFloats(spec) <= budgetFloats(definition) {
            offsets[index] = total
            total += Winograd.kernelFloats(spec)
        }
        return (offsets, total)
    }

    /// - Parameter parameters: where each layer's parameters start.
    init(_ definition: NetworkDefinition, enabled: Bool, parameters: (Int) -> UnsafeMutablePointer<Float>) {
        let (offsets, total) = enabled ? Self.choose(definition) : ([:], 0)
        memory = FloatMemory(count: total, populate: true)
        for (index, offset) in offsets {
            guard case .convolutional(let spec) = definition.layers[index].spec else { continue }
            let weights = BoundParameters(spec.parameterArrays, at: parameters(index))[.weights]!
            Winograd.transformKernels(weights, filters: spec.filters, channels: spec.input.channels,
                                      into: memory.floats + offset)
        }
        self.offsets = offsets
    }

    func kernels(of layer: Int) -> UnsafePointer<Float>? { offsets[layer].map { UnsafePointer(memory.floats + $0) } }

    /// The layers that run with Winograd, in order.
    var layers: [Int] { offsets.keys.sorted() }
}
