import Glibc

/// A box as Darknet holds one: centre and size, relative to the image (0…1).
public struct Box: Sendable, Equatable {
    public var x, y, w, h: Float

    var hasNaN: Bool { x.isNaN || y.isNaN || w.isNaN || h.isNaN }

    /// Darknet's `box_iou`: intersection over union of two centre-size boxes.
    func iou(_ other: Box) -> Float {
        func overlap(_ x1: Float, _ w1: Float, _ x2: Float, _ w2: Float) -> Float {
            min(x1 + w1 / 2, x2 + w2 / 2) - max(x1 - w1 / 2, x2 - w2 / 2)
        }
        let width = overlap(x, w, other.x, other.w), height = overlap(y, h, other.y, other.h)
        let intersection = width < 0 || height < 0 ? 0 : width * height
        let union = w * h + other.w * other.h - intersection
        return intersection / union
    }
}

/// One candidate box with a probability per class, as Darknet's `detection`.
struct Candidate {
    var box: Box
    var objectness: Float
    /// objectness × class score where that exceeds the threshold, else 0.
    var probabilities: [Float]
}

/// One object found: a class, its probability, and its box in original-image pixels.
public struct Detection: Sendable, Equatable, Codable {
    public var classID: Int
    public var className: String
    public var probability: Float
    /// left, top, right, bottom in pixels, clamped to the image.
    public var left, top, right, bottom: Float

    /// A coordinate clamped to an image `size` pixels across: Darknet's draw_detections clamps
    /// left and top below 0 and right and bottom past the edge; this clamps every side of every
    /// corner, so that a box wholly off the image does not end left of where it starts.
    static func clamped(_ value: Float, to size: Int) -> Float { min(max(value, 0), Float(size - 1)) }
}

enum BoxDecoder {
    /// `get_yolo_detections` + `correct_yolo_boxes` for one image of a batch.
    static func yolo(_ spec: Yolo, output: UnsafePointer<Float>, network: Shape, image: (width: Int, height: Int),
                     threshold: Float) -> [Candidate] {
        let (w, h) = (spec.output.width, spec.output.height)
        let spatial = w * h
        let candidates = eachAnchor(of: spec.output, anchors: spec.mask.count) { i, cell, n -> Candidate? in
            let entry = output + n * (spec.classes + 5) * spatial + i
            let objectness = entry[4 * spatial]
            guard objectness > threshold else { return nil }
            let anchor = spec.mask[n]
            // yolo anchors are in network-input pixels.
            let box = decode(entry, spatial: spatial, cell: cell, grid: (w, h),
                             anchor: (spec.anchors[2 * anchor], spec.anchors[2 * anchor + 1]),
                             unit: (network.width, network.height))
            let probabilities = (0..<spec.classes).map { j -> Float in
                let p = objectness * entry[(5 + j) * spatial]
                return p > threshold ? p : 0
            }
            return Candidate(box: box, objectness: objectness, probabilities: probabilities)
        }
        return correct(candidates, network: network, image: image)
    }

    /// `get_region_detections` (YOLOv2) + `correct_region_boxes` for one image of a batch.
    static func region(_ spec: Region, output: UnsafePointer<Float>, network: Shape, image: (width: Int, height: Int),
                       threshold: Float) -> [Candidate] {
        let (w, h) = (spec.output.width, spec.output.height)
        let spatial = w * h
        let candidates = eachAnchor(of: spec.output, anchors: spec.count) { i, cell, n -> Candidate? in
            let entry = output + n * (spec.coords + spec.classes + 1) * spatial + i
            let scale = entry[spec.coords * spatial]
            // region anchors are in grid cells (Darknet's biases default to 0.5).
            let anchor = spec.anchors.isEmpty ? (Float(0.5), Float(0.5)) : (spec.anchors[2 * n], spec.anchors[2 * n + 1])
            let box = decode(entry, spatial: spatial, cell: cell, grid: (w, h), anchor: anchor, unit: (w, h))
            let objectness: Float = scale > threshold ? scale : 0
            let probabilities = (0..<spec.classes).map { j -> Float in
                guard objectness > 0 else { return 0 }
                let p = scale * entry[(spec.coords + 1 + j) * spatial]
                return p > threshold ? p : 0
            }
            return Candidate(box: box, objectness: objectness, probabilities: probabilities)
        }
        return correct(candidates, network: network, image: image)
    }

    /// The candidates `candidate` makes of each anchor `n` of each cell (column, row) of a grid,
    /// `i` the cell's index in a plane, in Darknet's order: cells, then anchors within a cell.
    private static func eachAnchor(of grid: Shape, anchors: Int,
                                   _ candidate: (_ i: Int, _ cell: (Int, Int), _ n: Int) -> Candidate?) -> [Candidate] {
        var candidates: [Candidate] = []
        for i in 0..<(grid.width * grid.height) {
            for n in 0..<anchors {
                if let made = candidate(i, (i % grid.width, i / grid.width), n) { candidates.append(made) }
            }
        }
        return candidates
    }

    /// `get_yolo_box` / `get_region_box`: the cell offset plus the predicted x, y; the anchor
    /// scaled by exp of the predicted w, h; `unit` is what the anchors are measured in.
    static func decode(_ entry: UnsafePointer<Float>, spatial: Int, cell: (Int, Int), grid: (Int, Int),
                       anchor: (Float, Float), unit: (Int, Int)) -> Box {
        Box(x: (Float(cell.0) + entry[0]) / Float(grid.0), y: (Float(cell.1) + entry[spatial]) / Float(grid.1),
            w: Glibc.exp(entry[2 * spatial]) * anchor.0 / Float(unit.0),
            h: Glibc.exp(entry[3 * spatial]) * anchor.1 / Float(unit.1))
    }

    /// Undoes the letterbox: from network-input coordinates to the original image's (relative).
    static func correct(_ candidates: [Candidate], network: Shape, image: (width: Int, height: Int)) -> [Candidate] {
        let (netW, netH) = (network.width, network.height)
        let size = Image.letterboxSize(imageWidth: image.width, imageHeight: image.height, width: netW, height: netH)
        return candidates.map { candidate in
            var c = candidate
            c.box.x = (c.box.x - Float(Double(netW - size.width) / 2 / Double(netW))) / (Float(size.width) / Float(netW))
            c.box.y = (c.box.y - Float(Double(netH - size.height) / 2 / Double(netH))) / (Float(size.height) / Float(netH))
            c.box.w *= Float(netW) / Float(size.width)
            c.box.h *= Float(netH) / Float(size.height)
            return c
        }
    }

    /// Darknet's `do_nms_sort`: drops candidates without objectness, then per class sorts by
    /// that class's probability and zeroes the class in every later box overlapping by more
    /// than `threshold`. Also drops boxes with a NaN coordinate (damaged weights or input):
    /// Darknet draws those at wherever its int conversion lands; they locate nothing.
    static func nonMaximumSuppression(_ candidates: [Candidate], classes: Int, threshold: Float) -> [Candidate] {
        var kept = candidates.filter { $0.objectness != 0 && !$0.box.hasNaN }
        for k in 0..<classes {
            kept.sort { $0.probabilities[k] > $1.probabilities[k] }
            for i in kept.indices where kept[i].probabilities[k] != 0 {
                for j in (i + 1)..<kept.count where kept[i].box.iou(kept[j].box) > threshold {
                    kept[j].probabilities[k] = 0
                }
            }
        }
        return kept
    }
}
