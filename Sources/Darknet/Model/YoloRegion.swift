/// `[yolo]`: YOLOv3's detection output. It passes its input through with the logistic applied
/// to x, y, objectness and class scores of each of its `mask` anchors, and x, y scaled about
/// their centre by AlexeyAB's `scale_x_y`. With `new_coords` the convolution before it applies
/// the logistic instead, and box sizes grow with the square of the prediction.
public struct Yolo: Kind {
    static let sectionNames = ["yolo"]
    var spec: LayerSpec { .yolo(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var classes: Int
    /// Indices into `anchors` of the anchors this scale predicts.
    public var mask: [Int]
    /// All anchors as (width, height) pairs in network-input pixels.
    public var anchors: [Float]
    /// The loss's thresholds and the boxes per image of the truth (Darknet's `max`).
    public var ignoreThreshold: Float
    public var truthThreshold: Float
    public var maxBoxes: Int
    /// `map`: a file mapping truth classes to this layer's, which training would apply.
    public var classMap: String?
    /// Training's crop jitter: the image's width and height each change by up to this fraction
    /// before it is placed in the input (`load_data_detection`).
    public var jitter: Float
    /// AlexeyAB's x′ = s·x − (s − 1)/2 of the activated x and y (1: none).
    public var scaleXY: Float
    /// AlexeyAB's `new_coords=1` (YOLOv4-csp, YOLOv7): no logistic here, w = 4·t²·anchor.
    public var newCoords: Bool
    /// How the detector suppresses overlapping boxes, when this is the network's last layer.
    public var suppression: Suppression
    public var output: Shape

    /// AlexeyAB's `nms_kind` with its `beta_nms` (`box.c: do_nms_sort`, `diounms_sort`).
    public enum Suppression: Sendable, Equatable {
        /// IoU > nms (`default`; `cornersnms`, which AlexeyAB's [yolo] reads as the default and its
        /// [Gaussian_yolo] suppresses by plain IoU too).
        case iou
        /// IoU − (d²/c²)^exponent > nms: d the distance of the centres, c the diagonal of the
        /// box enclosing both. `greedynms` uses 0.6, `diounms` `beta_nms`.
        case distanceIoU(exponent: Float)
    }

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        (classes, mask, anchors) = try Self.readAnchors(&r, readsFirst: true)
        ignoreThreshold = try r.float("ignore_thresh", default: 0.5)
        truthThreshold = try r.float("truth_thresh", default: 1)
        maxBoxes = try r.int("max", default: 90, in: 1...Int(Int32.max))
        classMap = r.string("map")
        jitter = try Self.readJitter(&r)
        scaleXY = try r.float("scale_x_y", default: 1)
        guard scaleXY > 0 else { throw r.error("scale_x_y", "expected a number > 0") }
        newCoords = try r.int("new_coords", default: 0, in: 0...1) == 1
        suppression = try Self.readSuppression(&r)
        // Training only (AlexeyAB's parse_yolo): losses, their weights, label and anchor matching.
        r.ignore(["random", "counters_per_class", "label_smooth_eps",
                  "iou_normalizer", "cls_normalizer", "obj_normalizer", "delta_normalizer", "iou_loss", "iou_thresh",
                  "iou_thresh_kind", "max_delta", "objectness_smooth", "focal_loss", "resize"])
        output = context.input
        let expected = mask.count * (classes + 5)
        guard output.channels == expected else {
            throw Diagnostic(at: r.location, "[yolo] input has \(output.channels) channels; \(mask.count) anchors × (\(classes) classes + 5) need \(expected)")
        }
    }

    /// The logistic where the forward pass applies it (all but each anchor's w and h), chosen per channel.
    /// The forward pass's logistic (none with `new_coords`) and x, y scaled by `scale_x_y`
    /// about 0.5, as per-channel factors and shifts (1 and 0 on the other channels).
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let entries = (0..<output.channels).map { $0 % (classes + 5) }
        var y = graph.input
        if !newCoords {
            let mask = graph.constant(bools: entries.map { $0 != 2 && $0 != 3 }, [output.channels, 1, 1])
            y = graph.node("Where", [mask, graph.node("Sigmoid", [y]), y])
        }
        guard scaleXY != 1 else { return y }
        let shift = Float(-0.5 * (Double(scaleXY) - 1))
        let factors = graph.constant(entries.map { $0 < 2 ? scaleXY : 1 }, [output.channels, 1, 1], "scale_x_y")
        let shifts = graph.constant(entries.map { $0 < 2 ? shift : 0 }, [output.channels, 1, 1], "shift")
        return graph.node("Add", [graph.node("Mul", [y, factors]), shifts])
    }

    var summaryFilters: String { "\(classes)" }

    /// `classes`, `mask` (default: every anchor) and `anchors`, as [yolo] and [Gaussian_yolo] read them.
    /// Darknet's parsers fill the anchors they are not given with 0.5, and AlexeyAB's [yolo] reads
    /// the first 2·num numbers of a longer list (its cspx-p7-mish lists 20 anchors for num=16;
    /// cspx-p7-mish_hp has 31 numbers for 32): both read as they do, with a warning. With
    /// `readsFirst` false a longer list is an error: AlexeyAB's [Gaussian_yolo] writes it past
    /// its array. No anchors at all is an error.
    static func readAnchors(_ r: inout SectionReader, readsFirst: Bool = false) throws -> (classes: Int, mask: [Int], anchors: [Float]) {
        let classes = try r.int("classes", default: 20, in: 1...Int(Int32.max))
        let total = try r.int("num", default: 1, in: 1...Int(Int32.max))
        // The anchors first: they bound `num`, which the default mask is as long as.
        var anchors = try r.floats("anchors") ?? []
        guard !anchors.isEmpty, readsFirst || anchors.count <= 2 * total else {
            throw r.error("anchors", "has \(anchors.count) numbers; num=\(total) needs \(2 * total) (a width and a height per anchor)")
        }
        if anchors.count > 2 * total {
            r.warnTruncated("anchors", "\(anchors.count) numbers; num=\(total) reads the first \(2 * total), as AlexeyAB's darknet does; the rest are ignored")
            anchors.removeLast(anchors.count - 2 * total)
        } else if anchors.count < 2 * total {
            r.warnTruncated("anchors", "\(anchors.count) numbers; num=\(total) needs \(2 * total): the missing \(2 * total - anchors.count) are 0.5, as Darknet fills them")
            anchors += repeatElement(0.5, count: 2 * total - anchors.count)
        }
        let mask = try r.ints("mask") ?? Array(0..<total)
        if let bad = mask.first(where: { !(0..<total).contains($0) }) {
            throw r.error("mask", "index \(bad) is beyond the \(total) anchors (num=\(total))")
        }
        try checkPositive(anchors, r)
        return (classes, mask, anchors)
    }

    /// `jitter`, with Darknet's default .2: a fraction of the image's size, 0 ≤ jitter < 1 (at 1
    /// the jittered width or height can reach 0).
    static func readJitter(_ r: inout SectionReader) throws -> Float {
        let jitter = try r.float("jitter", default: 0.2)
        guard jitter >= 0, jitter < 1 else { throw r.error("jitter", "expected a fraction in [0, 1)") }
        return jitter
    }

    /// `nms_kind` and `beta_nms`, as [yolo] and [Gaussian_yolo] read them.
    static func readSuppression(_ r: inout SectionReader) throws -> Suppression {
        let beta = try r.float("beta_nms", default: 0.6)
        switch r.string("nms_kind") ?? "default" {
        case "default", "cornersnms": return .iou
        case "greedynms": return .distanceIoU(exponent: 0.6)
        case "diounms": return .distanceIoU(exponent: beta)
        default: throw r.error("nms_kind", "expected default, greedynms, diounms or cornersnms")
        }
    }

    /// Anchors are box widths and heights, which Darknet reads with atof and never checks: a
    /// negative one draws boxes whose right edge is left of their left one.
    static func checkPositive(_ anchors: [Float], _ r: SectionReader) throws {
        if let bad = anchors.first(where: { $0 <= 0 }) {
            throw r.error("anchors", "\(String(printf: "%g", Double(bad))) is not a width or height: expected numbers > 0")
        }
    }
}

/// `[region]`: YOLOv2's detection output (logistic on x, y and objectness; softmax over classes).
public struct Region: Kind {
    static let sectionNames = ["region"]
    var spec: LayerSpec { .region(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    var weightArrays: [WeightArray] { [] }

    public var classes: Int
    public var coords: Int
    public var count: Int
    public var anchors: [Float]
    public var softmax: Bool
    public var tree: String?
    /// Training's crop jitter, as [yolo]'s.
    public var jitter: Float
    public var output: Shape

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        classes = try r.int("classes", default: 20, in: 1...Int(Int32.max))
        coords = try r.int("coords", default: 4, in: 4...Int(Int32.max))
        count = try r.int("num", default: 1, in: 1...Int(Int32.max))
        anchors = try r.floats("anchors") ?? []
        guard anchors.isEmpty || anchors.count == 2 * count else {
            throw r.error("anchors", "has \(anchors.count) numbers; num=\(count) needs \(2 * count)")
        }
        try Yolo.checkPositive(anchors, r)
        softmax = try r.bool("softmax")
        tree = r.string("tree")
        jitter = try Yolo.readJitter(&r)
        if try r.bool("background") { throw r.error("background", "region with background is not supported") }
        r.ignore(["rescore", "thresh", "classfix", "absolute", "random", "coord_scale", "object_scale",
                  "noobject_scale", "mask_scale", "class_scale", "bias_match", "max", "map"])
        output = context.input
        let expected = count * (classes + coords + 1)
        guard output.channels == expected else {
            throw Diagnostic(at: r.location, "[region] input has \(output.channels) channels; \(count) anchors × (\(classes) classes + \(coords) coords + 1) need \(expected)")
        }
    }

    /// Per anchor: the logistic of x, y and objectness; a softmax (or the logistic) over the
    /// classes at each position, along an axis of their own.
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        if let tree {
            throw graph.error("tree=\(tree): hierarchical (YOLO9000) softmax cannot be exported")
        }
        let (entries, h, w) = (coords + classes + 1, output.height, output.width)
        let anchors = graph.reshape(graph.input, [count, entries, h, w])
        let boxes = graph.slice(anchors, axis: 2, 0..<(coords + 1))
        let logistic = (0...coords).map { $0 < 2 || $0 == coords }
        let mask = graph.constant(bools: logistic, [1, coords + 1, 1, 1])
        let activated = graph.node("Where", [mask, graph.node("Sigmoid", [boxes]), boxes])
        let scores = graph.slice(anchors, axis: 2, (coords + 1)..<entries)
        let probabilities = softmax ? graph.node("Softmax", [scores], [.int("axis", 2)]) : graph.node("Sigmoid", [scores])
        let joined = graph.node("Concat", [activated, probabilities], [.int("axis", 2)])
        return graph.reshape(joined, [output.channels, h, w])
    }

    var summaryFilters: String { "\(classes)" }
}
