/// The forward passes of the layers without a kernel of their own, each as Darknet computes it.
/// Pointers are to one image unless a `batch` is passed.
enum Layers {
    /// `forward_connected_layer`: x·Wᵀ, then batch-norm (whose β are the biases) or bias, then the activation.
    static func connected(_ spec: Connected, _ parameters: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
                          _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let (n, k) = (spec.outputs, spec.inputs)
        let biases = parameters, weights = parameters + n
        Kernels.gemm(m: batch, n: n, k: k, a: input, b: weights, transposeB: true, c: output)
        for image in 0..<batch {
            let row = output + image * n
            if spec.batchNormalize {
                let statistics = weights + n * k // scales, rolling mean, rolling variance
                Kernels.batchNorm(row, channels: n, spatial: 1, scales: statistics, mean: statistics + n,
                                  variance: statistics + 2 * n, biases: biases)
            } else {
                Kernels.addBias(row, channels: n, spatial: 1, biases: biases)
            }
        }
        spec.activation.apply(output, count: batch * n)
    }

    /// `forward_maxpool_layer`: windows start at −padding/2; outside the image counts as −FLT_MAX.
    /// A window holding a NaN gives NaN, wherever it lies in the window: Darknet's `val > max`
    /// passes over every NaN, which would hide a damaged input behind a plausible maximum.
    /// A window's maximum is the maximum along the row of its columns' maxima: for each output row,
    /// one pass down the window's rows, one along the result, 2·size comparisons an output instead
    /// of size². yolov3-spp's 13×13, 9×9 and 5×5 pools: 11.9 → 0.9, 4.0 → 0.7, 1.2 → 0.5 ms.
    static func maxpool(_ spec: MaxPool, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let (h, w) = (spec.input.height, spec.input.width)
        let (outH, outW) = (spec.output.height, spec.output.width)
        let (size, stride) = (spec.size, spec.stride)
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
                        let top = offset + oy * stride
                        let rows = max(0, top)..<min(h, top + size)
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

    /// The larger of a and b, NaN if either is (Swift's `max` returns its first argument
    /// when the second is NaN). Without branches, as on lanes below: a branch on the data was
    /// mispredicted on every other value (SPP's pools, whose rows of 13 leave 5 to this, 2× slower).
    private static func larger(_ a: Float, _ b: Float) -> Float {
        Float(bitPattern: (a < b ? b : a).bitPattern | (b.isNaN ? b.bitPattern : 0))
    }

    /// The same on lanes: the select compiles to one `maxps` (which keeps a NaN in `a` only);
    /// a NaN in `b` is OR-ed in, which leaves a NaN. yolov3-tiny's six pools 0.74 → 0.81 ms
    /// against the NaN-blind select alone (9 alternating rounds), yolov3-spp's three 1.84 →
    /// 1.91 ms; two selects, or one on OR-ed masks, were 1.3–1.9× slower, not inlined 2×, a
    /// generic version 20× (`pointwiseMax` is a call here, not inlined).
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
            let left = offset + ox * stride
            return largest(line, max(0, left)..<min(w, left + size))
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
    /// four instructions (through `larger`, yolov3-spp's pools, mostly such windows, 2.20 ms
    /// against 1.83, 9 alternating rounds).
    private static func largest(_ values: UnsafePointer<Float>, _ range: Range<Int>) -> Float {
        var (best, nans) = (-Float.greatestFiniteMagnitude, 0)
        for x in range {
            best = best < values[x] ? values[x] : best // one maxss (Swift's max, for ±0, is not)
            nans += values[x].isNaN ? 1 : 0
        }
        return nans > 0 ? .nan : best
    }

    /// One source of a concatenation along channels: with groups, its `groupID`-th slice of
    /// `count` floats per image goes to `destination` in each image's output.
    static func route(_ spec: Route, source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutablePointer<Float>,
                      outCount: Int, batch: Int) {
        let part = count / spec.groups
        for image in 0..<batch {
            (destination + image * outCount).update(from: source + image * count + spec.groupID * part, count: part)
        }
    }

    /// `forward_shortcut_layer`: out = alpha·input + beta·add over the common channels (sampling
    /// the larger grid, as `shortcut_cpu`), input elsewhere, then the activation. Equal shapes,
    /// the usual case, take one fused pass split over the cores.
    static func shortcut(_ spec: Shortcut, input: UnsafePointer<Float>, add: UnsafePointer<Float>,
                         _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let count = batch * spec.output.count
        if spec.fromShape == spec.output {
            let (alpha, beta) = (spec.alpha, spec.beta)
            Parallel.forEach(count, work: count) { range in
                for i in range { output[i] = alpha * input[i] + beta * add[i] }
                spec.activation.apply(output + range.lowerBound, count: range.count)
            }
            return
        }
        output.update(from: input, count: count)
        let (w1, h1, c1) = (spec.fromShape.width, spec.fromShape.height, spec.fromShape.channels)
        let (w2, h2, c2) = (spec.output.width, spec.output.height, spec.output.channels)
        let stride = max(w1 / w2, 1), sample = max(w2 / w1, 1)
        let (minW, minH, minC) = (min(w1, w2), min(h1, h2), min(c1, c2))
        for b in 0..<batch {
            for k in 0..<minC {
                for j in 0..<minH {
                    for i in 0..<minW {
                        let out = i * sample + w2 * (j * sample + h2 * (k + c2 * b))
                        let source = i * stride + w1 * (j * stride + h1 * (k + c1 * b))
                        output[out] = spec.alpha * output[out] + spec.beta * add[source]
                    }
                }
            }
        }
        spec.activation.apply(output, count: count)
    }

    /// `upsample_cpu`: nearest neighbour times scale; downsampling sums each block times scale.
    static func upsample(_ spec: Upsample, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let s = spec.stride
        if spec.downsample {
            let (h, w) = (spec.input.height, spec.input.width)
            let (outH, outW) = (spec.output.height, spec.output.width)
            output.update(repeating: 0, count: spec.output.count)
            for c in 0..<spec.input.channels {
                for y in 0..<h {
                    for x in 0..<w {
                        output[(c * outH + y / s) * outW + x / s] += spec.scale * input[(c * h + y) * w + x]
                    }
                }
            }
        } else {
            // Each input row widened s times into its first output row, which s − 1 rows copy.
            let (h, w) = (spec.input.height, spec.input.width)
            let outW = spec.output.width
            Parallel.forEach(spec.input.channels * h, work: spec.output.count) { rows in
                for row in rows {
                    let source = input + row * w, line = output + row * s * outW
                    for x in 0..<w {
                        let value = spec.scale * source[x]
                        for k in 0..<s { line[x * s + k] = value }
                    }
                    for k in 1..<s { (line + k * outW).update(from: line, count: outW) }
                }
            }
        }
    }

    /// `reorg_cpu` with Darknet's index arithmetic (forward = 0 for the usual space-to-depth).
    static func reorg(_ spec: Reorg, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let (w, h, c, stride) = (spec.input.width, spec.input.height, spec.input.channels, spec.stride)
        if spec.extra > 0 {
            output.update(from: input, count: spec.input.count)
            (output + spec.input.count).update(repeating: 0, count: spec.extra)
            return
        }
        let outC = c / (stride * stride)
        for k in 0..<c {
            for j in 0..<h {
                for i in 0..<w {
                    let inIndex = i + w * (j + h * k)
                    let (c2, offset) = (k % outC, k / outC)
                    let w2 = i * stride + offset % stride, h2 = j * stride + offset / stride
                    let outIndex = w2 + w * stride * (h2 + h * stride * c2)
                    if spec.reverse { output[outIndex] = input[inIndex] } else { output[inIndex] = input[outIndex] }
                }
            }
        }
    }

    /// `forward_yolo_layer` at inference: logistic on x, y, objectness and class scores. Each
    /// plane is copied and finished by one core while in its cache, not in a pass of its own.
    static func yolo(_ spec: Yolo, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let spatial = spec.output.height * spec.output.width
        // Plane p is entry p % (classes + 5) of an anchor (tx, ty, tw, th, objectness, classes…).
        let planes = batch * spec.mask.count * (spec.classes + 5)
        Parallel.forEach(planes, work: planes * spatial) { range in
            for plane in range {
                let target = output + plane * spatial
                target.update(from: input + plane * spatial, count: spatial)
                let entry = plane % (spec.classes + 5)
                if entry != 2 && entry != 3 { Activation.logistic.apply(target, count: spatial) }
            }
        }
    }

    /// `forward_region_layer` at inference: logistic on x, y and objectness; softmax (or
    /// logistic) over the classes at each position.
    static func region(_ spec: Region, _ values: UnsafeMutablePointer<Float>, batch: Int) {
        let spatial = spec.output.height * spec.output.width
        for b in 0..<batch {
            for n in 0..<spec.count {
                let entry = values + b * spec.output.count + n * (spec.coords + spec.classes + 1) * spatial
                Activation.logistic.apply(entry, count: 2 * spatial)
                Activation.logistic.apply(entry + spec.coords * spatial, count: spatial)
                let classes = entry + (spec.coords + 1) * spatial
                if spec.softmax {
                    for position in 0..<spatial {
                        Kernels.softmax(classes + position, n: spec.classes, stride: spatial, temperature: 1, output: classes + position)
                    }
                } else {
                    Activation.logistic.apply(classes, count: spec.classes * spatial)
                }
            }
        }
    }
}
