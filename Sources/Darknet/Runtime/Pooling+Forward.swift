extension MaxPool: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.eachImage(input, output) { depth ? Self.maxpoolAcrossChannels(self, $0, $1) : Self.maxpool(self, $0, $1) }
    }

    /// AlexeyAB's `maxpool_depth`: out[g, y, x] = max over channels k ≡ g (mod out_channels) of
    /// in[k, y, x]; a NaN among them gives NaN, as in `maxpool`. No channel (more outputs than
    /// inputs) leaves −FLT_MAX, AlexeyAB's starting value.
    static func maxpoolAcrossChannels(_ spec: MaxPool, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let plane = spec.input.height * spec.input.width
        let groups = spec.output.channels
        output.update(repeating: -.greatestFiniteMagnitude, count: spec.output.count)
        for k in 0..<spec.input.channels {
            let (source, out) = (input + k * plane, output + (k % groups) * plane)
            for i in 0..<plane { out[i] = larger(out[i], source[i]) }
        }
    }

    /// `forward_maxpool_layer`: windows start at −padding/2; outside the image counts as −FLT_MAX.
    /// A window holding a NaN gives NaN, wherever it lies in the window: Darknet's `val > max`
    /// passes over every NaN, which would hide a damaged input behind a plausible maximum.
    /// A window's maximum is the maximum along the row of its columns' maxima: for each output row,
    /// one pass down the window's rows, one along the result, 2·size comparisons an output instead
    /// of size², which large windows (SPP's) need.
    static func maxpool(_ spec: MaxPool, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let (h, w) = (spec.input.height, spec.input.width)
        let (outH, outW) = (spec.output.height, spec.output.width)
        let (size, stride, strideY) = (spec.size, spec.stride, spec.strideY)
        let offset = -spec.padding / 2
        // Output columns [firstX, lastX) have windows entirely inside the image horizontally.
        let firstX = min(outW, max(0, (-offset + stride - 1) / stride))
        // (A window wider than the image leaves none inside: no division, which truncates −1/2 to 0.)
        let lastX = w - size - offset < 0 ? firstX : max(firstX, min(outW, (w - size - offset) / stride + 1))
        Parallel.forEach(spec.input.channels, work: spec.output.count * size * size) { channels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: w) { scratch in
                let columnMaxima = scratch.baseAddress!
                for c in channels {
                    let plane = input + c * h * w
                    for oy in 0..<outH {
                        let top = offset + oy * strideY
                        let rows = Self.clamped(top, size, to: h)
                        let out = output + (c * outH + oy) * outW
                        guard let first = rows.first else { out.update(repeating: -.greatestFiniteMagnitude, count: outW); continue }
                        var line = plane + first * w
                        if rows.count > 1 {
                            columnMaxima.update(from: line, count: w)
                            for y in rows.dropFirst() { maximize(columnMaxima, with: plane + y * w, count: w) }
                            line = UnsafePointer(columnMaxima)
                        }
                        maximaAlongRow(line, width: w, size: size, stride: stride, offset: offset,
                                       inside: firstX..<lastX, into: out, count: outW)
                    }
                }
            }
        }
    }

    /// The part of the window [start, start + size) inside 0..<count, empty for a window wholly
    /// outside (a padding of twice the window puts the first and last ones there).
    private static func clamped(_ start: Int, _ size: Int, to count: Int) -> Range<Int> {
        let low = min(max(0, start), count)
        return low..<max(low, min(count, start + size))
    }

    /// The larger of a and b, NaN if either is (Swift's `max` returns its first argument
    /// when the second is NaN). Without branches, as on lanes below: a branch on the data is
    /// mispredicted on every other value.
    private static func larger(_ a: Float, _ b: Float) -> Float {
        Float(bitPattern: (a < b ? b : a).bitPattern | (b.isNaN ? b.bitPattern : 0))
    }

    /// The same on lanes: the select compiles to one `maxps` (which keeps a NaN in `a` only);
    /// a NaN in `b` is OR-ed in, which leaves a NaN, for little more than the NaN-blind select
    /// alone (two selects, one on OR-ed masks, or a generic version were slower; `pointwiseMax`
    /// is a call here, not inlined).
    @inline(__always)
    private static func larger(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        let m = unsafeBitCast(a.replacing(with: b, where: a .< b), to: SIMD8<UInt32>.self)
        let nan = unsafeBitCast(b .!= b, to: SIMD8<UInt32>.self) & unsafeBitCast(b, to: SIMD8<UInt32>.self)
        return unsafeBitCast(m | nan, to: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func larger(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        let m = unsafeBitCast(a.replacing(with: b, where: a .< b), to: SIMD4<UInt32>.self)
        let nan = unsafeBitCast(b .!= b, to: SIMD4<UInt32>.self) & unsafeBitCast(b, to: SIMD4<UInt32>.self)
        return unsafeBitCast(m | nan, to: SIMD4<Float>.self)
    }

    /// values[i] = larger(values[i], other[i]), eight at a time.
    private static func maximize(_ values: UnsafeMutablePointer<Float>, with other: UnsafePointer<Float>, count: Int) {
        let (target, source) = (UnsafeMutableRawPointer(values), UnsafeRawPointer(other))
        var i = 0
        while i + 8 <= count {
            let (a, b) = (target.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                          source.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            target.storeBytes(of: larger(a, b), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        for i in i..<count { values[i] = larger(values[i], other[i]) }
    }

    /// The maximum of each window along one row; `inside`, the windows wholly within it, without bounds checks.
    private static func maximaAlongRow(_ line: UnsafePointer<Float>, width w: Int, size: Int, stride: Int, offset: Int,
                                       inside: Range<Int>, into maxima: UnsafeMutablePointer<Float>, count: Int) {
        func window(_ ox: Int) -> Float {
            largest(line, clamped(offset + ox * stride, size, to: w))
        }
        for ox in 0..<inside.lowerBound { maxima[ox] = window(ox) }
        for ox in inside.upperBound..<count { maxima[ox] = window(ox) }
        let start = line + offset
        if stride == 1 {
            (maxima + inside.lowerBound).update(from: start + inside.lowerBound, count: inside.count)
            for kx in 1..<size { maximize(maxima + inside.lowerBound, with: start + inside.lowerBound + kx, count: inside.count) }
            return
        }
        var ox = inside.lowerBound
        if size == 2 && stride == 2 { // the common 2×2/2 pool: neighbours in pairs, four at a time
            while ox + 4 <= inside.upperBound {
                let pairs = UnsafeRawPointer(start + 2 * ox).loadUnaligned(as: SIMD8<Float>.self)
                let (left, right) = (pairs.evenHalf, pairs.oddHalf)
                UnsafeMutableRawPointer(maxima + ox).storeBytes(of: larger(left, right), as: SIMD4<Float>.self)
                ox += 4
            }
        }
        for ox in ox..<inside.upperBound { maxima[ox] = largest(start, (ox * stride)..<(ox * stride + size)) }
    }

    /// The largest of `values[range]`, NaN if any is, −FLT_MAX if none. NaNs are counted apart
    /// from the running maximum, which then waits on one `maxss` a value, not on `larger`'s
    /// four instructions.
    private static func largest(_ values: UnsafePointer<Float>, _ range: Range<Int>) -> Float {
        var (best, nans) = (-Float.greatestFiniteMagnitude, 0)
        for x in range {
            best = best < values[x] ? values[x] : best // one maxss (Swift's max, for ±0, is not)
            nans += values[x].isNaN ? 1 : 0
        }
        return nans > 0 ? .nan : best
    }

}

extension AvgPool: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    /// The mean of each input plane.
    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        let spatial = input.height * input.width
        for plane in 0..<(pass.batch * input.channels) {
            var sum: Float = 0
            for i in 0..<spatial { sum += pass.input[plane * spatial + i] }
            pass.output[plane] = sum / Float(spatial)
        }
    }
}

extension LocalAvgPool: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.eachImage(input, output) { Self.average(window, $0, $1) }
    }

    /// `forward_local_avgpool_layer`: the mean of each window's taps inside the image, summed in
    /// window order; the padding does not count.
    static func average(_ window: PoolingWindow, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let (h, w) = (window.input.height, window.input.width)
        let offset = -window.padding / 2
        var out = output
        for c in 0..<window.input.channels {
            let plane = input + c * h * w
            for oy in 0..<window.output.height {
                let top = offset + oy * window.strideY
                let rows = max(0, top)..<min(h, top + window.size)
                for ox in 0..<window.output.width {
                    let left = offset + ox * window.strideX
                    let columns = max(0, left)..<min(w, left + window.size)
                    var sum: Float = 0
                    for y in rows {
                        for x in columns { sum += plane[y * w + x] }
                    }
                    out.pointee = sum / Float(rows.count * columns.count)
                    out += 1
                }
            }
        }
    }
}

extension LocalAvgPool {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}
