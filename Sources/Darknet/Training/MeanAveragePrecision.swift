/// A detector's average precision at one IoU threshold, as AlexeyAB's `validate_detector_map`
/// computes it with `points=0`: per class, the area under the precision–recall curve at every
/// rank (VOC 2010's all-point interpolation: precision made non-increasing in recall), and the
/// mean of those areas over the classes that have ground truth (AlexeyAB divides by every
/// class, so a class without truth counts 0 there).
///
/// Per class, detections are taken in order of falling probability (equal ones in the order
/// given: image, then the detector's order). Each is matched to the truth of its class in its
/// image it overlaps most, if by more than the threshold: a true positive if no earlier
/// detection took that truth, else a false positive, as is a detection matching none.
public struct AveragePrecision: Sendable, Equatable {
    /// Each class with at least one truth box → its AP in [0, 1].
    public var perClass: [Int: Double]
    /// The mean of `perClass`; 0 when no image has truth.
    public var mean: Double

    /// `detections[i]` and `truths[i]` are image i's, both in one frame (e.g. the image's pixels,
    /// the `Detector`'s frame: a detection's box is its left, top, right, bottom).
    public init(detections: [[Detection]], truths: [[LabeledBox]], iouThreshold: Float = 0.5) {
        precondition(detections.count == truths.count, "detections and truths are per image, for the same images")
        var truthCounts: [Int: Int] = [:]
        for boxes in truths { for truth in boxes { truthCounts[truth.classID, default: 0] += 1 } }

        struct Ranked { let image: Int; let probability: Float; let truth: Int? }
        var ranked: [Int: [Ranked]] = [:]
        for (image, found) in detections.enumerated() {
            for detection in found where truthCounts[detection.classID] != nil {
                let box = Box(x: (detection.left + detection.right) / 2, y: (detection.top + detection.bottom) / 2,
                              w: detection.right - detection.left, h: detection.bottom - detection.top)
                var best: (index: Int, iou: Float)?
                for (index, truth) in truths[image].enumerated() where truth.classID == detection.classID {
                    let iou = box.iou(truth.box)
                    if iou > iouThreshold, iou > best?.iou ?? 0 { best = (index, iou) }
                }
                ranked[detection.classID, default: []].append(Ranked(image: image, probability: detection.probability, truth: best?.index))
            }
        }

        var perClass: [Int: Double] = [:]
        for (classID, truthCount) in truthCounts {
            // A stable sort keeps equal probabilities in the order given.
            let order = (ranked[classID] ?? []).enumerated()
                .sorted { $0.element.probability != $1.element.probability ? $0.element.probability > $1.element.probability : $0.offset < $1.offset }
                .map(\.element)
            var taken = Set<[Int]>()
            var (truePositives, falsePositives) = (0, 0)
            var precision: [Double] = [], recall: [Double] = []
            for detection in order {
                if let truth = detection.truth, taken.insert([detection.image, truth]).inserted {
                    truePositives += 1
                } else {
                    falsePositives += 1
                }
                precision.append(Double(truePositives) / Double(truePositives + falsePositives))
                recall.append(Double(truePositives) / Double(truthCount))
            }
            perClass[classID] = Self.area(precision: precision, recall: recall)
        }
        self.perClass = perClass
        mean = perClass.isEmpty ? 0 : perClass.values.reduce(0, +) / Double(perClass.count)
    }

    /// AlexeyAB's area under the curve: from the last rank back, each step in recall times the
    /// best precision at that rank or later, then the first recall times the best precision.
    static func area(precision: [Double], recall: [Double]) -> Double {
        guard var lastRecall = recall.last, var bestPrecision = precision.last else { return 0 }
        var area = 0.0
        for rank in stride(from: recall.count - 2, through: 0, by: -1) {
            area += (lastRecall - recall[rank]) * max(bestPrecision, precision[rank])
            lastRecall = recall[rank]
            bestPrecision = max(bestPrecision, precision[rank])
        }
        return area + lastRecall * bestPrecision
    }
}

extension DetectionSet {
    /// The detector's mAP over this set's images at `iouThreshold` (0.5: mAP@0.5), detecting as
    /// AlexeyAB's `map` does (probability threshold .005, NMS .45) with this set's resize, and
    /// comparing in each image's pixels. Images that do not load are left out and named in `skipped`.
    public func meanAveragePrecision(of network: Network, iouThreshold: Float = 0.5) throws
        -> (precision: AveragePrecision, skipped: [String]) {
        let detector = try Detector(network: network, names: (0..<classes).map { "\($0)" })
        let options = DetectionOptions(threshold: 0.005, nms: 0.45, resize: resize)
        var detections: [[Detection]] = [], truths: [[LabeledBox]] = []
        var skipped: [String] = []
        for (path, objects) in zip(images, labels) {
            let image: Image
            do {
                image = try Image(contentsOf: path)
            } catch {
                skipped.append("\(error)")
                continue
            }
            detections.append(detector.detect(image, options: options))
            let (w, h) = (Float(image.width), Float(image.height))
            truths.append(objects.map { object in
                let b = object.box
                return LabeledBox(classID: object.classID, box: Box(x: b.x * w, y: b.y * h, w: b.w * w, h: b.h * h))
            })
        }
        return (AveragePrecision(detections: detections, truths: truths, iouThreshold: iouThreshold), skipped)
    }
}
