import Glibc

/// A box as Darknet holds one: centre and size, relative to the image (0…1).
public struct Box: Sendable, Equatable {
    public var x, y, w, h: Float

    public init(x: Float, y: Float, w: Float, h: Float) {
        (self.x, self.y, self.w, self.h) = (x, y, w, h)
    }

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

    /// The overlap a suppression compares with its threshold.
    @inline(__always)
    func overlap(_ other: Box, by suppression: Yolo.Suppression) -> Float {
        switch suppression {
        case .iou: iou(other)
        case .distanceIoU(let exponent): distanceIoU(other, exponent: exponent)
        }
    }

    /// AlexeyAB's `box_diounms`: IoU − (d²/c²)^exponent, d the distance of the centres and c the
    /// diagonal of the smallest box enclosing both (plain IoU when c is 0).
    func distanceIoU(_ other: Box, exponent: Float) -> Float {
        let width = max(x + w / 2, other.x + other.w / 2) - min(x - w / 2, other.x - other.w / 2)
        let height = max(y + h / 2, other.y + other.h / 2) - min(y - h / 2, other.y - other.h / 2)
        let diagonal = width * width + height * height
        let overlap = iou(other)
        guard diagonal != 0 else { return overlap }
        let distance = (x - other.x) * (x - other.x) + (y - other.y) * (y - other.y)
        return overlap - Float(Glibc.pow(Double(distance / diagonal), Double(exponent)))
    }
}

/// One candidate box with a probability per class, as Darknet's `detection`.
struct Candidate {
    var box: Box
    var objectness: Float
    /// objectness × class score where that exceeds the threshold, else 0.
    var probabilities: [Float]
    /// A [Gaussian_yolo] box's σ of x, y, w and h (AlexeyAB's `uc`); nil for other heads.
    var uncertainty: BoxUncertainty? = nil
}

/// How unsure a [Gaussian_yolo] layer is of a box: the logistic σ (0…1) it predicts for the
/// box's x, y, w and h, in that order of Darknet's `uc[4]`.
public struct BoxUncertainty: Sendable, Equatable, Codable {
    public var x, y, w, h: Float

    /// Their mean, what AlexeyAB's detector scales class probabilities by (1 − mean).
    var mean: Float { (x + y + w + h) / 4 }
}

/// One object found: a class, its probability, and its box in original-image pixels.
public struct Detection: Sendable, Equatable, Codable {
    public var classID: Int
    public var className: String
    public var probability: Float
    /// left, top, right, bottom in pixels, clamped to the image.
    public var left, top, right, bottom: Float
    /// The box's σ from a [Gaussian_yolo] layer; nil for [yolo] and [region].
    public var uncertainty: BoxUncertainty? = nil

    /// A coordinate clamped to an image `size` pixels across: Darknet's draw_detections clamps
    /// left and top below 0 and right and bottom past the edge; this clamps every side of every
    /// corner, so that a box wholly off the image does not end left of where it starts.
    static func clamped(_ value: Float, to size: Int) -> Float { min(max(value, 0), Float(size - 1)) }
}

enum BoxDecoder {
    /// `get_yolo_detections` + `correct_yolo_boxes` for one image of a batch.
    static func yolo(_ spec: Yolo, output: UnsafePointer<Float>, network: Shape, image: (width: Int, height: Int),
                     letterboxed: Bool = true, threshold: Float) -> [Candidate] {
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
                             unit: (network.width, network.height), squared: spec.newCoords)
            let probabilities = (0..<spec.classes).map { j -> Float in
                let p = objectness * entry[(5 + j) * spatial]
                return p > threshold ? p : 0
            }
            return Candidate(box: box, objectness: objectness, probabilities: probabilities)
        }
        return letterboxed ? correct(candidates, network: network, image: image) : candidates
    }

    /// `get_gaussian_yolo_detections` + `correct_gaussian_yolo_boxes`: the box from μx, μy, μw, μh
    /// as `get_gaussian_yolo_box` decodes it (the centre moved by half the box for `yolo_point`
    /// left_top or right_bottom), and each class's probability objectness × score × (1 − mean σ).
    static func gaussianYolo(_ spec: GaussianYolo, output: UnsafePointer<Float>, network: Shape, image: (width: Int, height: Int),
                             letterboxed: Bool = true, threshold: Float) -> [Candidate] {
        let (w, h) = (spec.output.width, spec.output.height)
        let spatial = w * h
        let candidates = eachAnchor(of: spec.output, anchors: spec.mask.count) { i, cell, n -> Candidate? in
            let entry = output + n * (spec.classes + 9) * spatial + i
            let objectness = entry[8 * spatial]
            guard objectness > threshold else { return nil }
            let anchor = spec.mask[n]
            let unit = (Float(network.width), Float(network.height))
            var box = Box(x: (Float(cell.0) + entry[0]) / Float(w), y: (Float(cell.1) + entry[2 * spatial]) / Float(h),
                          w: Glibc.exp(entry[4 * spatial]) * spec.anchors[2 * anchor] / unit.0,
                          h: Glibc.exp(entry[6 * spatial]) * spec.anchors[2 * anchor + 1] / unit.1)
            switch spec.point {
            case .center: break
            case .leftTop: (box.x, box.y) = (box.x + box.w / 2, box.y + box.h / 2)
            case .rightBottom: (box.x, box.y) = (box.x - box.w / 2, box.y - box.h / 2)
            }
            let uncertainty = BoxUncertainty(x: entry[spatial], y: entry[3 * spatial], w: entry[5 * spatial], h: entry[7 * spatial])
            let probabilities = (0..<spec.classes).map { j -> Float in
                let p = objectness * entry[(9 + j) * spatial] * (1 - uncertainty.mean)
                return p > threshold ? p : 0
            }
            return Candidate(box: box, objectness: objectness, probabilities: probabilities, uncertainty: uncertainty)
        }
        return letterboxed ? correct(candidates, network: network, image: image) : candidates
    }

    /// `get_region_detections` (YOLOv2) + `correct_region_boxes` for one image of a batch.
    static func region(_ spec: Region, output: UnsafePointer<Float>, network: Shape, image: (width: Int, height: Int),
                       letterboxed: Bool = true, threshold: Float) -> [Candidate] {
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
        return letterboxed ? correct(candidates, network: network, image: image) : candidates
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
    /// scaled by exp of the predicted w, h (by 4·w², 4·h² when `squared`, AlexeyAB's
    /// `new_coords`); `unit` is what the anchors are measured in.
    static func decode(_ entry: UnsafePointer<Float>, spatial: Int, cell: (Int, Int), grid: (Int, Int),
                       anchor: (Float, Float), unit: (Int, Int), squared: Bool = false) -> Box {
        let (tw, th) = (entry[2 * spatial], entry[3 * spatial])
        let (w, h) = squared ? (tw * tw * 4, th * th * 4) : (Glibc.exp(tw), Glibc.exp(th))
        return Box(x: (Float(cell.0) + entry[0]) / Float(grid.0), y: (Float(cell.1) + entry[spatial]) / Float(grid.1),
                   w: w * anchor.0 / Float(unit.0), h: h * anchor.1 / Float(unit.1))
    }

    /// Undoes the letterbox: from network-input coordinates to the original image's (relative).
    /// A stretched image needs nothing: its relative coordinates are the network input's.
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
    ///
    /// With `.distanceIoU` (AlexeyAB's `diounms_sort`) the overlap is IoU less the DIoU penalty.
    static func nonMaximumSuppression(_ candidates: [Candidate], classes: Int, threshold: Float,
                                      suppression: Yolo.Suppression = .iou) -> [Candidate] {
        var kept = candidates.filter { $0.objectness != 0 && !$0.box.hasNaN }
        for k in 0..<classes {
            kept.sort { $0.probabilities[k] > $1.probabilities[k] }
            // Probabilities are 0 or above the threshold: the boxes with this class come first,
            // and a box already suppressed suppresses nothing and needs zeroing only once.
            let withClass = kept.firstIndex { $0.probabilities[k] == 0 } ?? kept.count
            let suppressed = suppressedBoxes(kept[..<withClass].map(\.box), threshold: threshold, suppression: suppression)
            for j in 0..<withClass where suppressed[j] { kept[j].probabilities[k] = 0 }
        }
        return kept
    }

    /// One class's pass of `do_nms_sort` over `boxes` in decreasing probability: each box not
    /// yet suppressed suppresses every later one it overlaps by more than `threshold`.
    static func suppressedBoxes(_ boxes: [Box], threshold: Float, suppression: Yolo.Suppression) -> [Bool] {
        var suppressed = [Bool](repeating: false, count: boxes.count)
        // An overlap above a threshold ≥ 0 needs the boxes to intersect: a box is compared only
        // with those whose left edge lies left of its right edge and within twice their width of
        // its left edge. Boxes are grouped by width (powers of two, so that one wide box does
        // not widen every search), and each group ordered by left edge for a binary search.
        let lefts = boxes.map { $0.x - $0.w / 2 }
        let groups = Dictionary(grouping: boxes.indices) { i -> Int in
            let width = abs(boxes[i].w)
            return width.isFinite && width > 0 ? min(max(Int(width.exponent), -30), 30) : Int.max
        }.values.map { members -> (order: [Int], lefts: [Float], reach: Float) in
            let order = members.sorted { lefts[$0] < lefts[$1] }
            return (order, order.map { lefts[$0] }, 2 * (members.map { abs(boxes[$0].w) }.max() ?? 0))
        }
        func firstPosition(in sortedLefts: [Float], where isAfter: (Float) -> Bool) -> Int {
            var (low, high) = (0, sortedLefts.count)
            while low < high {
                let middle = (low + high) / 2
                if isAfter(sortedLefts[middle]) { high = middle } else { low = middle + 1 }
            }
            return low
        }
        for i in boxes.indices where !suppressed[i] {
            let box = boxes[i]
            for group in groups {
                let window = threshold < 0 ? group.order.indices
                    : firstPosition(in: group.lefts) { $0 >= lefts[i] - group.reach }..<firstPosition(in: group.lefts) { $0 >= box.x + box.w / 2 }
                for position in window {
                    let j = group.order[position]
                    if j > i, !suppressed[j], box.overlap(boxes[j], by: suppression) > threshold { suppressed[j] = true }
                }
            }
        }
        return suppressed
    }
}
