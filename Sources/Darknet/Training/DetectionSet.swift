import Glibc

/// An object of a label file: its class and its box relative to the image (centre and size, 0…1).
public struct LabeledBox: Sendable, Equatable {
    public var classID: Int
    public var box: Box

    public init(classID: Int, box: Box) {
        self.classID = classID
        self.box = box
    }
}

/// YOLO label files: one `class x y w h` line per object, beside each image as Darknet finds it.
public enum LabelFile {
    /// Darknet's `fill_truth_detection` rule: the first `images`, `JPEGImages` and `raw` in the
    /// path each become `labels`, and the first `.jpg`, `.png`, `.JPG` or `.JPEG` becomes `.txt`.
    /// For another extension (`.jpeg`, `.PNG`, …), where Darknet would read the image itself as
    /// its labels, the last extension becomes `.txt`, as AlexeyAB's fork does.
    public static func path(forImage image: String) -> String {
        var path = Array(image.utf8)
        for (find, replace) in [("images", "labels"), ("JPEGImages", "labels"), ("raw", "labels")] {
            replaceFirst(find, with: replace, in: &path)
        }
        for extensionName in [".jpg", ".png", ".JPG", ".JPEG"] where replaceFirst(extensionName, with: ".txt", in: &path) {
            return String(decoding: path, as: UTF8.self)
        }
        let name = path.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
        let stem = path[name...].lastIndex(of: UInt8(ascii: ".")).flatMap { $0 > name ? $0 : nil } ?? path.count
        return String(decoding: path[..<stem], as: UTF8.self) + ".txt"
    }

    /// Darknet's `find_replace`: the first `find` in `text` becomes `replacement`.
    @discardableResult
    private static func replaceFirst(_ find: String, with replacement: String, in text: inout [UInt8]) -> Bool {
        let pattern = Array(find.utf8)
        guard text.count >= pattern.count,
              let start = (0...(text.count - pattern.count)).first(where: { text[$0..<($0 + pattern.count)].elementsEqual(pattern) })
        else { return false }
        text.replaceSubrange(start..<(start + pattern.count), with: Array(replacement.utf8))
        return true
    }

    /// The objects of the label file at `path`. A line that is not `class x y w h`, a class
    /// outside 0..<classes, or a number outside [0, 1] is an error naming the file and line.
    /// Blank lines are skipped. A box centred at (0, 0) is refused: Darknet's `correct_boxes`
    /// reads it as a blank and turns it into a box of size 999999.
    public static func read(_ path: String, classes: Int) throws -> [LabeledBox] {
        let text = String(decoding: try InputFile.contents(of: path), as: UTF8.self)
        var boxes: [LabeledBox] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            func error(_ message: String) -> Diagnostic { Diagnostic(at: .line(file: path, line: index + 1), message) }
            let fields = raw.split(whereSeparator: \.isWhitespace)
            if fields.isEmpty { continue }
            guard fields.count == 5 else {
                throw error("expected 'class x y w h' (5 numbers), found \(fields.count) field\(fields.count == 1 ? "" : "s"): '\(raw.trimmingWhitespace)'")
            }
            guard let classID = Int(fields[0]) else { throw error("class '\(fields[0])' is not a whole number") }
            guard (0..<classes).contains(classID) else {
                throw error("class \(classID) is out of range: the data has \(classes) class\(classes == 1 ? "" : "es") (0...\(classes - 1))")
            }
            var numbers: [Float] = []
            for (name, field) in zip(["x", "y", "w", "h"], fields.dropFirst()) {
                guard let value = Float(field), value.isFinite else { throw error("\(name) '\(field)' is not a number") }
                guard (0...1).contains(value) else {
                    throw error("\(name) = \(field) is outside the image: expected a fraction of its size in [0, 1]")
                }
                numbers.append(value)
            }
            guard numbers[0] != 0 || numbers[1] != 0 else {
                throw error("the box is centred at x = 0, y = 0, which Darknet reads as no box")
            }
            boxes.append(LabeledBox(classID: classID, box: Box(x: numbers[0], y: numbers[1], w: numbers[2], h: numbers[3])))
        }
        return boxes
    }
}

/// Images listed in Darknet's `train=` or `valid=` file with their YOLO boxes, as a detector
/// trains on them: Darknet's `load_data_detection` augmentation when training, the `detect`
/// command's preprocessing (letterbox or stretch) when validating. Each image's truth is
/// `truthsPerImage / 5` boxes of (x, y, w, h, class), zero-padded, as `Trainer` takes it.
///
/// Every label file is read and checked when the set is made, so that a bad line stops the run
/// before its first step. A missing label file is a warning, and the image has no objects (a
/// background image, as AlexeyAB's fork reads it; pjreddie's Darknet stops).
public struct DetectionSet: TrainingSet {
    public let images: [String]
    /// Each image's objects, relative to the image.
    public let labels: [[LabeledBox]]
    public let classes: Int
    /// Training's crop jitter (the last [yolo] or [region] layer's `jitter`).
    public var jitter: Float
    /// How validation brings an image to the input size (the network's `defaultResize`).
    public var resize: Resize
    /// One per image without a label file.
    public let warnings: [Diagnostic]

    public var count: Int { images.count }

    /// The images in `list` (one path per line), each with its label file.
    public init(list: String, classes: Int, jitter: Float = 0.2, resize: Resize = .letterbox) throws {
        let images = try imageList(list)
        guard !images.isEmpty else { throw Diagnostic(at: .file(list), "the image list is empty") }
        try self.init(images: images.map { resolve($0.name, besideFile: list) }, classes: classes, jitter: jitter, resize: resize)
    }

    public init(images: [String], classes: Int, jitter: Float = 0.2, resize: Resize = .letterbox) throws {
        var labels: [[LabeledBox]] = []
        var warnings: [Diagnostic] = []
        for image in images {
            let path = LabelFile.path(forImage: image)
            if access(path, F_OK) != 0 {
                warnings.append(Diagnostic(.warning, at: .file(path), "no label file for \(image): the image is taken to have no objects"))
                labels.append([])
            } else {
                labels.append(try LabelFile.read(path, classes: classes))
            }
        }
        self.images = images
        self.labels = labels
        self.classes = classes
        self.jitter = jitter
        self.resize = resize
        self.warnings = warnings
    }

    /// The `train=` (or, with `validation`, the `valid=`) images of `data` for `definition`'s
    /// detector: its classes (which `classes=` must equal when given), its last head's jitter and
    /// its default resize.
    public init(data: DataFile, validation: Bool = false, for definition: NetworkDefinition) throws {
        let heads = definition.layers.compactMap(\.spec.head)
        guard let last = heads.last else {
            throw Diagnostic(at: .file(definition.path), "the network has no [yolo] or [region] layer: it is not a detector")
        }
        let (classes, jitter): (Int, Float) = switch last {
        case .yolo(let yolo): (yolo.classes, yolo.jitter)
        case .region(let region): (region.classes, region.jitter)
        case .gaussianYolo(let gaussian): (gaussian.classes, gaussian.jitter)
        }
        if let given = data.classes, given.count != classes {
            throw Diagnostic(at: .line(file: data.path, line: given.line),
                             "classes=\(given.count), but \(definition.path)'s last detection layer predicts \(classes)")
        }
        let key = validation ? "valid" : "train"
        guard let list = data.filePath(key) else {
            throw Diagnostic(at: .file(data.path), "no \(key)= list of images")
        }
        // A list that does not open is reported at its key's line, as a classifier's is.
        self = try data.reading(key) { try Self(list: list, classes: classes, jitter: jitter, resize: definition.defaultResize) }
    }

    public func batch(_ indices: [Int], input: Shape, truthsPerImage: Int, augmentation: Augmentation?,
                      random: inout TrainingRandom) throws -> TrainingBatch {
        guard input.channels == 3 else {
            throw Diagnostic(at: .file(images.first ?? ""), "detection images are RGB; the network reads \(input.channels) channels")
        }
        guard truthsPerImage % 5 == 0 else {
            throw Diagnostic(at: .file(images.first ?? ""), "a detector's truth is boxes of 5 floats; the network takes \(truthsPerImage) per image")
        }
        var pixels: [Float] = []
        var truth: [Float] = []
        var skipped: [String] = []
        for index in indices {
            let image: Image
            do {
                image = try Image(contentsOf: images[index])
            } catch {
                skipped.append("\(error)")
                continue
            }
            let (placed, boxes) = augmentation.map { augmented(image, labels[index], input: input, augmentation: $0, random: &random) }
                ?? validationInput(image, labels[index], input: input)
            pixels += placed.data
            truth += Self.truth(boxes, maxBoxes: truthsPerImage / 5)
        }
        let count = indices.count - skipped.count
        return TrainingBatch(input: Tensor(shape: [count, 3, input.height, input.width], data: pixels),
                             truth: Tensor(shape: [count, truthsPerImage], data: truth), skipped: skipped)
    }

    /// The image as `detect` feeds it to the network, and its boxes in that frame.
    func validationInput(_ image: Image, _ boxes: [LabeledBox], input: Shape) -> (Image, [LabeledBox]) {
        switch resize {
        case .stretch:
            return (image.resized(width: input.width, height: input.height), boxes)
        case .letterbox:
            let size = Image.letterboxSize(imageWidth: image.width, imageHeight: image.height, width: input.width, height: input.height)
            let (w, h) = (Float(input.width), Float(input.height))
            let dx = Float((input.width - size.width) / 2), dy = Float((input.height - size.height) / 2)
            let moved = DetectionAugmentation.correctBoxes(boxes, dx: -dx / w, dy: -dy / h, sx: Float(size.width) / w,
                                                           sy: Float(size.height) / h, flip: false)
            return (image.letterboxed(width: input.width, height: input.height), moved)
        }
    }

    /// Darknet's `load_data_detection` for one image.
    func augmented(_ image: Image, _ boxes: [LabeledBox], input: Shape, augmentation: Augmentation,
                   random: inout TrainingRandom) -> (Image, [LabeledBox]) {
        DetectionAugmentation.apply(to: image, boxes: boxes, width: input.width, height: input.height, jitter: jitter,
                                    augmentation: augmentation, random: &random)
    }

    /// `fill_truth_detection`'s end: at most `maxBoxes` boxes, then those under .001 of the image
    /// wide or high left out (so fewer may remain), each as x, y, w, h, class; zeros after.
    static func truth(_ boxes: [LabeledBox], maxBoxes: Int) -> [Float] {
        var truth = [Float](repeating: 0, count: maxBoxes * 5)
        var slot = 0
        for labeled in boxes.prefix(maxBoxes) {
            let b = labeled.box
            if b.w < 0.001 || b.h < 0.001 { continue }
            truth.replaceSubrange((slot * 5)..<(slot * 5 + 5), with: [b.x, b.y, b.w, b.h, Float(labeled.classID)])
            slot += 1
        }
        return truth
    }
}
