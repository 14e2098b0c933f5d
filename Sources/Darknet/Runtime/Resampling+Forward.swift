extension Upsample: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.eachImage(input, output) { Self.upsample(self, $0, $1) }
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

}

extension Reorg: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.eachImage(input, output) { Self.reorg(self, $0, $1) }
    }

    /// `reorg_cpu` with Darknet's index arithmetic (forward = 0 for the usual space-to-depth).
    static func reorg(_ spec: Reorg, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        if spec.extra > 0 {
            output.update(from: input, count: spec.input.count)
            (output + spec.input.count).update(repeating: 0, count: spec.extra)
            return
        }
        spec.eachPair { inIndex, outIndex in
            if spec.reverse { output[outIndex] = input[inIndex] } else { output[inIndex] = input[outIndex] }
        }
    }

    /// Each pair of `reorg_cpu`'s indices (`in_index`, `out_index`) over one image of the input's shape.
    @inline(__always)
    func eachPair(_ body: (Int, Int) -> Void) {
        let (w, h, c) = (input.width, input.height, input.channels)
        let outC = c / (stride * stride)
        for k in 0..<c {
            for j in 0..<h {
                for i in 0..<w {
                    let (c2, offset) = (k % outC, k / outC)
                    let w2 = i * stride + offset % stride, h2 = j * stride + offset / stride
                    body(i + w * (j + h * k), w2 + w * stride * (h2 + h * stride * c2))
                }
            }
        }
    }

}

extension Reorg3d: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.eachImage(input, output) { Self.spaceToDepth(self, $0, $1) }
    }

    /// AlexeyAB's `forward_reorg_layer`: out[(dy·s + dx)·C + c, y, x] = in[c, y·s + dy, x·s + dx].
    static func spaceToDepth(_ spec: Reorg3d, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        let s = spec.stride
        let (c, h, w) = (spec.input.channels, spec.input.height, spec.input.width)
        let (outH, outW) = (spec.output.height, spec.output.width)
        var out = output
        for offset in 0..<(s * s) {
            let (dy, dx) = (offset / s, offset % s)
            for channel in 0..<c {
                let plane = input + channel * h * w
                for y in 0..<outH {
                    let row = plane + (y * s + dy) * w + dx
                    for x in 0..<outW { out[x] = row[x * s] }
                    out += outW
                }
            }
        }
    }
}

extension Reorg3d {
    func trainer() throws -> any LayerTrainer { throw untrainable(Self.typeName) }
}
