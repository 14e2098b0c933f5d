import Glibc

extension Yolo: StatelessTraining {
    func trainer() throws -> any LayerTrainer {
        if let classMap { throw TrainingUnsupported(reason: "[yolo] map=\(classMap): mapping truth classes is not supported in training") }
        guard scaleXY == 1, !newCoords else {
            throw TrainingUnsupported(reason: "[yolo] AlexeyAB's scale_x_y and new_coords have no backward pass yet")
        }
        return StatelessTrainer(self)
    }

    var truthFloats: Int? { maxBoxes * 5 }

    /// `forward_yolo_layer`'s cost: the squared magnitude of all its deltas.
    func cost(_ pass: TrainingPass) -> Float? { squaredSum(pass.delta, pass.batch * output.count) }

    /// A box (x, y, w, h) in Darknet's `box`: centre and size relative to the image.
    typealias Box = (x: Float, y: Float, w: Float, h: Float)

    /// `forward_yolo_layer`'s loss in training: deltas on the post-logistic x, y (and raw w, h)
    /// scaled by 2 − w·h of the truth, objectness pushed to 0 except where a prediction
    /// overlaps a truth by more than `ignoreThreshold`, and each truth's best anchor (if it is
    /// one of this layer's) pulled to it.
    func loss(_ pass: TrainingPass) {
        let spec = self
        let (w, h) = (spec.output.width, spec.output.height)
        let spatial = w * h
        let (output, delta) = (pass.output, pass.delta)
        let (netW, netH) = (Float(pass.networkInput.width), Float(pass.networkInput.height))
        func entry(_ b: Int, _ n: Int, _ location: Int, _ field: Int) -> Int {
            b * spec.output.count + n * spatial * (spec.classes + 5) + field * spatial + location
        }
        func predicted(_ index: Int, anchor: Int, _ i: Int, _ j: Int) -> Box {
            (x: (Float(i) + output[index]) / Float(w), y: (Float(j) + output[index + spatial]) / Float(h),
             w: Float(Glibc.exp(Double(output[index + 2 * spatial]))) * spec.anchors[2 * anchor] / netW,
             h: Float(Glibc.exp(Double(output[index + 3 * spatial]))) * spec.anchors[2 * anchor + 1] / netH)
        }
        func truthBox(_ b: Int, _ t: Int) -> Box {
            let p = pass.truth + b * pass.truths + t * 5
            return (p[0], p[1], p[2], p[3])
        }
        func truthClass(_ b: Int, _ t: Int) -> Int { Int(pass.truth[b * pass.truths + t * 5 + 4]) }
        func boxDelta(_ truth: Box, _ index: Int, anchor: Int, _ i: Int, _ j: Int, scale: Float) {
            let tx = truth.x * Float(w) - Float(i), ty = truth.y * Float(h) - Float(j)
            let tw = Float(Glibc.log(Double(truth.w * netW / spec.anchors[2 * anchor])))
            let th = Float(Glibc.log(Double(truth.h * netH / spec.anchors[2 * anchor + 1])))
            for (field, target) in [tx, ty, tw, th].enumerated() {
                delta[index + field * spatial] = scale * (target - output[index + field * spatial])
            }
        }
        func classDelta(_ index: Int, _ cls: Int) {
            if delta[index] != 0 {
                delta[index + spatial * cls] = 1 - output[index + spatial * cls]
                return
            }
            for n in 0..<spec.classes { delta[index + spatial * n] = (n == cls ? 1 : 0) - output[index + spatial * n] }
        }
        let boxes = spec.maxBoxes
        for b in 0..<pass.batch {
            for j in 0..<h {
                for i in 0..<w {
                    for n in 0..<spec.mask.count {
                        let location = j * w + i
                        let boxIndex = entry(b, n, location, 0)
                        let prediction = predicted(boxIndex, anchor: spec.mask[n], i, j)
                        var (bestIoU, bestT): (Float, Int) = (0, 0)
                        for t in 0..<boxes {
                            let truth = truthBox(b, t)
                            if truth.x == 0 { break }
                            let iou = Self.iou(prediction, truth)
                            if iou > bestIoU { (bestIoU, bestT) = (iou, t) }
                        }
                        let objectness = entry(b, n, location, 4)
                        delta[objectness] = 0 - output[objectness]
                        if bestIoU > spec.ignoreThreshold { delta[objectness] = 0 }
                        if bestIoU > spec.truthThreshold {
                            delta[objectness] = 1 - output[objectness]
                            classDelta(entry(b, n, location, 5), truthClass(b, bestT))
                            let truth = truthBox(b, bestT)
                            boxDelta(truth, boxIndex, anchor: spec.mask[n], i, j, scale: 2 - truth.w * truth.h)
                        }
                    }
                }
            }
            for t in 0..<boxes {
                let truth = truthBox(b, t)
                if truth.x == 0 { break }
                let (i, j) = (Int(truth.x * Float(w)), Int(truth.y * Float(h)))
                let shifted: Box = (0, 0, truth.w, truth.h)
                var (bestIoU, bestN): (Float, Int) = (0, 0)
                for n in 0..<(spec.anchors.count / 2) {
                    let iou = Self.iou((0, 0, spec.anchors[2 * n] / netW, spec.anchors[2 * n + 1] / netH), shifted)
                    if iou > bestIoU { (bestIoU, bestN) = (iou, n) }
                }
                guard let maskN = spec.mask.firstIndex(of: bestN) else { continue }
                let location = j * w + i
                let boxIndex = entry(b, maskN, location, 0)
                boxDelta(truth, boxIndex, anchor: bestN, i, j, scale: 2 - truth.w * truth.h)
                let objectness = entry(b, maskN, location, 4)
                delta[objectness] = 1 - output[objectness]
                classDelta(entry(b, maskN, location, 5), truthClass(b, t))
            }
        }
    }

    /// `backward_yolo_layer` passes the deltas down as they are.
    func backward(_ pass: TrainingPass) { addDelta(pass, times: 1) }

    /// Darknet's `box_iou`.
    static func iou(_ a: Box, _ b: Box) -> Float {
        func overlap(_ x1: Float, _ w1: Float, _ x2: Float, _ w2: Float) -> Float {
            let left = max(x1 - w1 / 2, x2 - w2 / 2), right = min(x1 + w1 / 2, x2 + w2 / 2)
            return right - left
        }
        let (ow, oh) = (overlap(a.x, a.w, b.x, b.w), overlap(a.y, a.h, b.y, b.h))
        let intersection: Float = ow < 0 || oh < 0 ? 0 : ow * oh
        return intersection / (a.w * a.h + b.w * b.h - intersection)
    }
}

extension Region {
    /// Darknet's CPU `backward_region_layer` is empty (its body is commented out): on the CPU
    /// the region loss never reaches the layers below, so there is no behaviour to follow yet.
    func trainer() throws -> any LayerTrainer {
        throw TrainingUnsupported(reason: "[region] has no backward pass: Darknet's CPU backward_region_layer is empty, so its loss never reaches the layers below")
    }
}
