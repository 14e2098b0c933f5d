/// `[Gaussian_yolo]` (AlexeyAB, Gaussian YOLOv3): a yolo output whose boxes carry an
/// uncertainty. Each of its `mask` anchors has 9 + classes channels: μx, σx, μy, σy, μw, σw, μh,
/// σh, objectness, then the classes. The layer passes its input through with the logistic on all
/// but μw and μh, and `scale_x_y` applied to μx and μy. A detector decodes the box from the four
/// μ as [yolo] does, reports the four σ with it, and scales each class's probability by
/// 1 − their mean (`get_gaussian_yolo_detections`).
public struct GaussianYolo: Kind {
    static let sectionNames = ["Gaussian_yolo"]
    var spec: LayerSpec { .gaussianYolo(self) }
    func sources(at index: Int) -> [Int] { previousLayer(index) }
    /// The logistic where `activate` applies it (a Where on a channel mask), then μx and μy
    /// times scale_x_y plus −(scale_x_y − 1)/2 (a per-channel Mul and Add).
    func emitONNX(_ graph: inout ONNXGraph) throws -> String {
        let entries = classes + 9
        let logistic = (0..<output.channels).map { $0 % entries != 4 && $0 % entries != 6 }
        let mask = graph.constant(bools: logistic, [output.channels, 1, 1])
        let activated = graph.node("Where", [mask, graph.node("Sigmoid", [graph.input]), graph.input])
        guard scaleXY != 1 else { return activated }
        let isMean = (0..<output.channels).map { $0 % entries == 0 || $0 % entries == 2 }
        let factors = graph.constant(isMean.map { $0 ? scaleXY : 1 }, [output.channels, 1, 1], "scale_x_y")
        let shifts = graph.constant(isMean.map { $0 ? -0.5 * (scaleXY - 1) : 0 }, [output.channels, 1, 1], "shift")
        return graph.node("Add", [graph.node("Mul", [activated, factors]), shifts])
    }
    var weightArrays: [WeightArray] { [] }

    public var classes: Int
    /// Indices into `anchors` of the anchors this scale predicts.
    public var mask: [Int]
    /// All anchors as (width, height) pairs in network-input pixels.
    public var anchors: [Float]
    public var scaleXY: Float
    /// How the detector suppresses overlapping boxes, when this is the network's last layer.
    public var suppression: Yolo.Suppression
    /// `yolo_point`: which point of the box μx, μy locate.
    public var point: Point
    /// The training augmentation's `jitter` (a detection set reads the last head's).
    public var jitter: Float
    public var output: Shape

    public enum Point: String, Sendable {
        case center
        case leftTop = "left_top"
        case rightBottom = "right_bottom"
    }

    init(_ r: inout SectionReader, _ context: SectionContext) throws {
        (classes, mask, anchors) = try Yolo.readAnchors(&r)
        scaleXY = try r.float("scale_x_y", default: 1)
        suppression = try Yolo.readSuppression(&r)
        let pointName = r.string("yolo_point") ?? "center"
        guard let point = Point(rawValue: pointName) else { throw r.error("yolo_point", "expected center, left_top or right_bottom") }
        self.point = point
        jitter = try Yolo.readJitter(&r)
        // Training only (AlexeyAB's parse_gaussian_yolo): losses, their weights, label matching.
        r.ignore(["ignore_thresh", "truth_thresh", "iou_thresh", "iou_thresh_kind", "random", "max",
                  "max_delta", "counters_per_class", "label_smooth_eps", "objectness_smooth", "uc_normalizer",
                  "iou_normalizer", "obj_normalizer", "cls_normalizer", "delta_normalizer", "iou_loss", "resize", "map"])
        output = context.input
        let expected = mask.count * (classes + 9)
        guard output.channels == expected else {
            throw Diagnostic(at: r.location, "[Gaussian_yolo] input has \(output.channels) channels; \(mask.count) anchors × (\(classes) classes + 9) need \(expected)")
        }
    }

    var summaryFilters: String { "\(classes)" }
}
