extension Yolo: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        Self.yolo(self, pass.input, pass.output, batch: pass.batch)
    }

    /// `forward_yolo_layer` at inference: logistic on x, y, objectness and class scores (none
    /// with `new_coords`), then x, y scaled by `scale_x_y` about 0.5. Each plane is copied and
    /// finished by one core while in its cache, not in a pass of its own.
    static func yolo(_ spec: Yolo, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let spatial = spec.output.height * spec.output.width
        // Plane p is entry p % (classes + 5) of an anchor (tx, ty, tw, th, objectness, classes…).
        let planes = batch * spec.mask.count * (spec.classes + 5)
        let (scale, shift) = (spec.scaleXY, Float(-0.5 * (Double(spec.scaleXY) - 1)))
        Parallel.forEach(planes, work: planes * spatial) { range in
            for plane in range {
                let target = output + plane * spatial
                target.update(from: input + plane * spatial, count: spatial)
                let entry = plane % (spec.classes + 5)
                if entry != 2 && entry != 3 && !spec.newCoords { Activation.logistic.apply(target, count: spatial) }
                if entry < 2 && scale != 1 {
                    for i in 0..<spatial { target[i] = target[i] * scale + shift }
                }
            }
        }
    }

}

extension Region: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan {
        if let tree {
            throw Diagnostic(at: binding.location, "[region] tree=\(tree): hierarchical (YOLO9000) softmax is not supported at inference")
        }
        return self
    }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        pass.output.update(from: pass.input, count: pass.batch * output.count)
        Self.region(self, pass.output, batch: pass.batch)
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
