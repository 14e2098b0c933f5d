import FoundationEssentials

/// Thresholds of a detection run, with Darknet's defaults.
public struct DetectionOptions: Sendable {
    /// Objectness (and objectness × class score) must exceed this.
    public var threshold: Float
    /// Boxes of one class overlapping a better one by more than this IoU are dropped.
    public var nms: Float
    /// How images become network inputs; nil: the network's `defaultResize`.
    public var resize: Resize?

    public init(threshold: Float = 0.5, nms: Float = 0.45, resize: Resize? = nil) {
        self.threshold = threshold
        self.nms = nms
        self.resize = resize
    }
}

/// How an image is brought to the network's input size.
public enum Resize: String, CaseIterable, Sendable {
    /// Scaled to fit with its aspect ratio kept, centred on grey (Darknet's `letterbox_image`;
    /// boxes are mapped back by `correct_yolo_boxes`).
    case letterbox
    /// Scaled to the input's width and height (AlexeyAB's detector without `letter_box`).
    case stretch
}

/// Images in, objects out: Darknet's letterbox, forward pass, box decoding of every [yolo]
/// (or [region], [Gaussian_yolo]) layer, and per-class non-maximum suppression (`do_nms_sort`).
/// Holds one inference context per batch size; use one detector per thread.
public final class Detector {
    public let network: Network
    public let names: [String]
    private var contexts: [Int: InferenceContext] = [:]

    /// The 80 COCO class names, in Darknet's coco.names order.
    public static let cocoNames = [
        "person", "bicycle", "car", "motorbike", "aeroplane", "bus", "train", "truck", "boat",
        "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
        "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie",
        "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
        "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon",
        "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
        "cake", "chair", "sofa", "pottedplant", "bed", "diningtable", "toilet", "tvmonitor", "laptop",
        "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator",
        "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
    ]

    public init(network: Network, names: [String] = Detector.cocoNames) throws {
        guard let classes = network.definition.layers.compactMap({ $0.spec.head?.classes }).max() else {
            throw Diagnostic(at: .file(network.definition.path), "the network has no [yolo], [region] or [Gaussian_yolo] layer to take boxes from")
        }
        guard names.count >= classes else {
            throw Diagnostic(at: .file(network.definition.path), "the network predicts \(classes) classes but \(names.count) names are given")
        }
        self.network = network
        self.names = names
    }

    /// Reads a names file: one class name per line, blank lines ignored.
    public static func names(contentsOf path: String) throws -> [String] {
        String(decoding: try InputFile.contents(of: path), as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { String($0.trimmingWhitespace) }.filter { !$0.isEmpty }
    }

    public func detect(_ image: Image, options: DetectionOptions = .init()) -> [Detection] {
        detect([image], options: options)[0]
    }

    /// Runs the images as one batch.
    public func detect(_ images: [Image], options: DetectionOptions = .init()) -> [[Detection]] {
        let input = network.definition.input
        let context = contexts[images.count] ?? InferenceContext(network, batch: images.count)
        contexts[images.count] = context
        var batch = [Float]()
        batch.reserveCapacity(images.count * input.count)
        let resize = options.resize ?? network.definition.defaultResize
        for image in images {
            switch resize {
            case .letterbox: batch += image.letterboxed(width: input.width, height: input.height).data
            case .stretch: batch += image.resized(width: input.width, height: input.height).data
            }
        }
        batch.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) }
        return images.indices.map { index in
            decode(context: context, image: index, size: (images[index].width, images[index].height), resize: resize, options: options)
        }
    }

    private func decode(context: InferenceContext, image index: Int, size: (width: Int, height: Int), resize: Resize,
                        options: DetectionOptions) -> [Detection] {
        var candidates: [Candidate] = []
        var classes = 0
        for layer in network.definition.layers {
            guard context.keptLayers.contains(layer.index), let head = layer.spec.head else { continue }
            let output = UnsafePointer(context.output(of: layer.index)) + index * layer.output.count
            classes = max(classes, head.classes)
            switch head {
            case .yolo(let yolo):
                candidates += BoxDecoder.yolo(yolo, output: output, network: network.definition.input, image: size,
                                              letterboxed: resize == .letterbox, threshold: options.threshold)
            case .region(let region):
                candidates += BoxDecoder.region(region, output: output, network: network.definition.input, image: size,
                                                letterboxed: resize == .letterbox, threshold: options.threshold)
            case .gaussianYolo(let gaussian):
                candidates += BoxDecoder.gaussianYolo(gaussian, output: output, network: network.definition.input, image: size,
                                                      letterboxed: resize == .letterbox, threshold: options.threshold)
            }
        }
        // AlexeyAB's detectors take the kind of suppression from the network's last layer.
        let suppression: Yolo.Suppression
        switch network.definition.layers.last?.spec.head {
        case .yolo(let last): suppression = last.suppression
        case .gaussianYolo(let last): suppression = last.suppression
        case .region, nil: suppression = .iou
        }
        let kept = BoxDecoder.nonMaximumSuppression(candidates, classes: classes, threshold: options.nms, suppression: suppression)
        var detections: [Detection] = []
        let (w, h) = (Float(size.width), Float(size.height))
        for candidate in kept {
            let b = candidate.box
            for (classID, probability) in candidate.probabilities.enumerated() where probability > options.threshold {
                detections.append(Detection(classID: classID, className: names[classID], probability: probability,
                                            left: Detection.clamped((b.x - b.w / 2) * w, to: size.width),
                                            top: Detection.clamped((b.y - b.h / 2) * h, to: size.height),
                                            right: Detection.clamped((b.x + b.w / 2) * w, to: size.width),
                                            bottom: Detection.clamped((b.y + b.h / 2) * h, to: size.height),
                                            uncertainty: candidate.uncertainty))
            }
        }
        return detections.sorted { $0.probability > $1.probability }
    }
}
