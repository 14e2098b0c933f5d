import Foundation
import XCTest
@testable import Darknet

/// Detection data: `.data` and list paths, Darknet's label-file rules and errors, the truth
/// layout, the augmentation against a drawn box, and mAP against the NumPy reference
/// (scripts/map_reference.py).
final class DetectionSetTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("detdata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("images"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("labels"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A black width×height image with a white rectangle over pixels [left, right) × [top, bottom).
    func rectangle(width: Int, height: Int, left: Int, top: Int, right: Int, bottom: Int) -> Image {
        var image = Image(width: width, height: height, fill: 0)
        for c in 0..<3 {
            for y in top..<bottom {
                for x in left..<right { image.data[(c * height + y) * width + x] = 1 }
            }
        }
        return image
    }

    /// The pixels of `image`'s red plane above `threshold`: [minX, maxX + 1) × [minY, maxY + 1).
    func brightExtent(_ image: Image, threshold: Float = 0.75) -> (left: Float, top: Float, right: Float, bottom: Float)? {
        var extent: (Int, Int, Int, Int)?
        for y in 0..<image.height {
            for x in 0..<image.width where image.data[y * image.width + x] > threshold {
                let e = extent ?? (x, y, x, y)
                extent = (min(e.0, x), min(e.1, y), max(e.2, x), max(e.3, y))
            }
        }
        return extent.map { (Float($0.0), Float($0.1), Float($0.2 + 1), Float($0.3 + 1)) }
    }

    /// Within `tolerance` pixels: Darknet draws the image at whole-pixel offsets and sizes
    /// while the box moves by the exact ones, and bilinear sampling blurs each edge by a pixel.
    func assertUnder(_ image: Image, _ box: Box, tolerance: Float = 2.5, _ message: String, line: UInt = #line) throws {
        let drawn = try XCTUnwrap(brightExtent(image), message, line: line)
        let (w, h) = (Float(image.width), Float(image.height))
        let expected = ((box.x - box.w / 2) * w, (box.y - box.h / 2) * h, (box.x + box.w / 2) * w, (box.y + box.h / 2) * h)
        for (got, want, side) in [(drawn.left, expected.0, "left"), (drawn.top, expected.1, "top"),
                                  (drawn.right, expected.2, "right"), (drawn.bottom, expected.3, "bottom")] {
            XCTAssertEqual(got, want, accuracy: tolerance, "\(message): \(side)", line: line)
        }
    }

    // MARK: label files

    func testLabelPathFollowsDarknet() {
        XCTAssertEqual(LabelFile.path(forImage: "VOCdevkit/VOC2007/JPEGImages/000001.jpg"), "VOCdevkit/VOC2007/labels/000001.txt")
        XCTAssertEqual(LabelFile.path(forImage: "coco/images/train2014/a.jpg"), "coco/labels/train2014/a.txt")
        XCTAssertEqual(LabelFile.path(forImage: "data/raw/b.png"), "data/labels/b.txt")
        XCTAssertEqual(LabelFile.path(forImage: "images/c.JPEG"), "labels/c.txt")
        XCTAssertEqual(LabelFile.path(forImage: "images/d.JPG"), "labels/d.txt")
        // Only the first of each is replaced, wherever it is, as Darknet's find_replace does.
        XCTAssertEqual(LabelFile.path(forImage: "images/images/e.jpg"), "labels/images/e.txt")
        XCTAssertEqual(LabelFile.path(forImage: "drawings/images/f.jpg"), "dlabelsings/labels/f.txt")
        XCTAssertEqual(LabelFile.path(forImage: "images/g.jpg.jpg"), "labels/g.txt.jpg")
        // Extensions Darknet does not replace: the last one becomes .txt.
        XCTAssertEqual(LabelFile.path(forImage: "images/h.jpeg"), "labels/h.txt")
        XCTAssertEqual(LabelFile.path(forImage: "images/v1.2/i.PNG"), "labels/v1.2/i.txt")
        XCTAssertEqual(LabelFile.path(forImage: "images/v1.2/j"), "labels/v1.2/j.txt")
    }

    func testLabelFileReadsBoxes() throws {
        let path = try write("0 0.5 0.5 0.2 0.4\n\n  2\t0.1 0.9 1 0.05  \r\n", "labels/a.txt")
        XCTAssertEqual(try LabelFile.read(path, classes: 3), [
            LabeledBox(classID: 0, box: Box(x: 0.5, y: 0.5, w: 0.2, h: 0.4)),
            LabeledBox(classID: 2, box: Box(x: 0.1, y: 0.9, w: 1, h: 0.05)),
        ])
    }

    func testLabelErrorsNameFileAndLine() throws {
        let cases: [(String, String)] = [
            ("0 0.5 0.5 0.2", "expected 'class x y w h' (5 numbers), found 4 fields: '0 0.5 0.5 0.2'"),
            ("0 0.5 0.5 0.2 0.2 7", "expected 'class x y w h' (5 numbers), found 6 fields: '0 0.5 0.5 0.2 0.2 7'"),
            ("1.5 0.5 0.5 0.2 0.2", "class '1.5' is not a whole number"),
            ("3 0.5 0.5 0.2 0.2", "class 3 is out of range: the data has 3 classes (0...2)"),
            ("-1 0.5 0.5 0.2 0.2", "class -1 is out of range: the data has 3 classes (0...2)"),
            ("0 1.2 0.5 0.2 0.2", "x = 1.2 is outside the image: expected a fraction of its size in [0, 1]"),
            ("0 0.5 0.5 -0.1 0.2", "w = -0.1 is outside the image: expected a fraction of its size in [0, 1]"),
            ("0 0.5 0.5 0.2 nan", "h 'nan' is not a number"),
            ("0 0.5 zero 0.2 0.2", "y 'zero' is not a number"),
            ("0 0 0 0.2 0.2", "the box is centred at x = 0, y = 0, which Darknet reads as no box"),
        ]
        for (bad, message) in cases {
            let path = try write("0 0.5 0.5 0.2 0.2\n\n\(bad)\n", "labels/bad.txt")
            XCTAssertThrowsError(try LabelFile.read(path, classes: 3), bad) { error in
                XCTAssertEqual("\(error)", "\(path):3: error: \(message)")
            }
        }
    }

    // MARK: .data and lists

    func testDataFileAndRelativePaths() throws {
        let image = rectangle(width: 32, height: 24, left: 8, top: 6, right: 20, bottom: 18)
        try image.writePNG(to: directory.appendingPathComponent("images/a.png").path)
        _ = try write("0 0.4375 0.5 0.375 0.5\n", "labels/a.txt")
        try image.writePNG(to: directory.appendingPathComponent("images/b.png").path) // no label file
        try Data("not an image".utf8).write(to: directory.appendingPathComponent("images/c.png"))
        _ = try write("1 0.5 0.5 0.5 0.5\n", "labels/c.txt")
        _ = try write("images/a.png\n\nimages/b.png\n  images/c.png \n", "train.txt")
        let dataPath = try write("# a comment\nclasses = 2\ntrain = train.txt\nnames=missing.names\nbackup=backup/\n", "shapes.data")

        let data = try DataFile(contentsOf: dataPath)
        XCTAssertEqual(data.classes?.count, 2)
        XCTAssertEqual(data.classes?.line, 2)
        XCTAssertEqual(data.filePath("train"), directory.appendingPathComponent("train.txt").path)
        XCTAssertNil(data.filePath("valid"))
        XCTAssertEqual(data.namesPath, "missing.names", "a path found nowhere stays as written")

        let set = try DetectionSet(list: try XCTUnwrap(data.filePath("train")), classes: 2)
        XCTAssertEqual(set.images, ["a", "b", "c"].map { directory.appendingPathComponent("images/\($0).png").path })
        XCTAssertEqual(set.labels, [[LabeledBox(classID: 0, box: Box(x: 0.4375, y: 0.5, w: 0.375, h: 0.5))], [],
                                    [LabeledBox(classID: 1, box: Box(x: 0.5, y: 0.5, w: 0.5, h: 0.5))]])
        XCTAssertEqual(set.warnings.map(\.description),
                       ["\(directory.appendingPathComponent("labels/b.txt").path): warning: no label file for \(set.images[1]): the image is taken to have no objects"])

        var random = TrainingRandom(seed: 1)
        let batch = try set.batch([0, 1, 2], input: Shape(channels: 3, height: 16, width: 16), truthsPerImage: 10,
                                  augmentation: nil, random: &random)
        XCTAssertEqual(batch.input.shape, [2, 3, 16, 16])
        XCTAssertEqual(batch.truth.shape, [2, 10])
        XCTAssertEqual(batch.skipped.count, 1)
        XCTAssertTrue(batch.skipped[0].hasPrefix("\(set.images[2]): error: "), batch.skipped[0])
        // Image b has no objects: its truth is all zeros.
        XCTAssertEqual(Array(batch.truth.data[10...]), Array(repeating: 0, count: 10))

        let wrongClasses = try write("classes=3\ntrain=train.txt\n", "three.data")
        let cfg = "[net]\nwidth=16\nheight=16\nchannels=3\n[convolutional]\nfilters=14\nsize=1\n[yolo]\nclasses=2\nnum=2\nanchors=1,1,2,2\njitter=.3\n"
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "two.cfg"))
        XCTAssertThrowsError(try DetectionSet(data: DataFile(contentsOf: wrongClasses), for: definition)) { error in
            XCTAssertEqual("\(error)", "\(wrongClasses):1: error: classes=3, but two.cfg's last detection layer predicts 2")
        }
        let twice = try write("train=train.txt\n\ntrain = other.txt\n", "twice.data")
        XCTAssertThrowsError(try DataFile(contentsOf: twice)) { error in
            XCTAssertEqual("\(error)", "\(twice):3: error: train= is given twice (first at line 1)")
        }
        let noClasses = try write("classes=two\n", "bad.data")
        XCTAssertThrowsError(try DataFile(contentsOf: noClasses)) { error in
            XCTAssertEqual("\(error)", "\(noClasses):1: error: classes=two: expected a whole number above 0")
        }
        let fitted = try DetectionSet(data: data, for: definition)
        XCTAssertEqual(fitted.jitter, 0.3)
        XCTAssertEqual(fitted.resize, .letterbox)
        XCTAssertThrowsError(try DetectionSet(data: data, validation: true, for: definition)) { error in
            XCTAssertEqual("\(error)", "\(dataPath): error: no valid= list of images")
        }
        let missingList = try write("classes=2\ntrain=train.txt\nvalid=nowhere.txt\n", "missing.data")
        XCTAssertThrowsError(try DetectionSet(data: DataFile(contentsOf: missingList), validation: true, for: definition)) { error in
            XCTAssertEqual("\(error)", "\(missingList):3: error: valid=nowhere.txt: cannot open the file: No such file or directory")
        }
    }

    func testJitterIsReadWithDarknetsDefault() throws {
        func jitter(_ key: String) throws -> Float {
            let cfg = "[net]\nwidth=16\nheight=16\nchannels=3\n[convolutional]\nfilters=14\nsize=1\n[yolo]\nclasses=2\nnum=2\nanchors=1,1,2,2\n\(key)\n"
            let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "j.cfg"))
            guard case .yolo(let yolo) = definition.layers.last!.spec else { throw XCTSkip("not a yolo layer") }
            return yolo.jitter
        }
        XCTAssertEqual(try jitter(""), 0.2)
        XCTAssertEqual(try jitter("jitter=.3"), 0.3)
        XCTAssertThrowsError(try jitter("jitter=1.5")) { error in
            XCTAssertEqual("\(error)", "j.cfg:12: error: [yolo] jitter=1.5: expected a fraction in [0, 1)")
        }
    }

    // MARK: truth layout and preprocessing

    func testTruthTakesMaxBoxesThenDropsTinyOnes() {
        let boxes = [(0, 0.5), (1, 0.0005), (2, 0.3), (0, 0.2)].map {
            LabeledBox(classID: $0.0, box: Box(x: 0.5, y: 0.4, w: Float($0.1), h: 0.25))
        }
        // Darknet keeps the first `max` and then leaves out the tiny ones, so only two remain.
        XCTAssertEqual(DetectionSet.truth(boxes, maxBoxes: 3), [0.5, 0.4, 0.5, 0.25, 0, 0.5, 0.4, 0.3, 0.25, 2, 0, 0, 0, 0, 0])
        XCTAssertEqual(DetectionSet.truth([], maxBoxes: 2), Array(repeating: 0, count: 10))
    }

    func testValidationBoxesFollowTheLetterbox() throws {
        // 160×80 into 96×96: scaled to 96×48, 24 rows of grey above and below.
        let image = rectangle(width: 160, height: 80, left: 40, top: 20, right: 100, bottom: 60)
        let label = LabeledBox(classID: 0, box: Box(x: 70 / 160, y: 40 / 80, w: 60 / 160, h: 40 / 80))
        let set = try DetectionSet(images: [], classes: 1)
        let (boxed, boxes) = set.validationInput(image, [label], input: Shape(channels: 3, height: 96, width: 96))
        XCTAssertEqual(boxes[0].box.y, 0.5, accuracy: 1e-6)
        XCTAssertEqual(boxes[0].box.h, 0.25, accuracy: 1e-6)
        XCTAssertEqual(boxes[0].box.x, 70 / 160, accuracy: 1e-6)
        try assertUnder(boxed, boxes[0].box, "letterbox")

        var stretching = set
        stretching.resize = .stretch
        let (stretched, same) = stretching.validationInput(image, [label], input: Shape(channels: 3, height: 96, width: 96))
        XCTAssertEqual(same, [label])
        try assertUnder(stretched, label.box, "stretch")
    }

    func testAugmentationKeepsBoxesOnTheirObjects() throws {
        let image = rectangle(width: 160, height: 120, left: 40, top: 30, right: 100, bottom: 70)
        let label = LabeledBox(classID: 1, box: Box(x: 70 / 160, y: 50 / 120, w: 60 / 160, h: 40 / 120))
        var augmentation = Augmentation()
        augmentation.flip = true
        var flips = 0
        var sizes = Set<Int>()
        for seed in 0..<24 {
            var random = TrainingRandom(seed: UInt64(seed))
            let (placed, boxes) = DetectionAugmentation.apply(to: image, boxes: [label], width: 96, height: 96, jitter: 0.3,
                                                              augmentation: augmentation, random: &random)
            XCTAssertEqual(boxes.count, 1)
            XCTAssertEqual(boxes[0].classID, 1)
            try assertUnder(placed, boxes[0].box, "seed \(seed)")
            if boxes[0].box.x > 0.5 { flips += 1 }
            sizes.insert(Int(boxes[0].box.w * 96))
        }
        // Both sides of the flip and several jittered sizes were seen.
        XCTAssertGreaterThan(flips, 3)
        XCTAssertLessThan(flips, 21)
        XCTAssertGreaterThan(sizes.count, 3)
    }

    func testAugmentationClipsBoxesAndShufflesThem() throws {
        // A box running off the image's right edge is clipped with it.
        let moved = DetectionAugmentation.correctBoxes([LabeledBox(classID: 0, box: Box(x: 0.9, y: 0.5, w: 0.4, h: 0.2))],
                                                       dx: 0, dy: 0, sx: 1, sy: 1, flip: true)
        XCTAssertEqual(moved[0].box.x, 0.15, accuracy: 1e-6)
        XCTAssertEqual(moved[0].box.w, 0.3, accuracy: 1e-6)
        let boxes = (0..<8).map { LabeledBox(classID: $0, box: Box(x: 0.5, y: 0.5, w: 0.1, h: 0.1)) }
        var random = TrainingRandom(seed: 3)
        let draws = DetectionAugmentation.Draws(boxes: 8, random: &random)
        let image = Image(width: 8, height: 8, fill: 0.5)
        let shuffled = DetectionAugmentation.apply(to: image, boxes: boxes, width: 8, height: 8, jitter: 0, augmentation: Augmentation(), draws: draws).1
        XCTAssertNotEqual(shuffled.map(\.classID), Array(0..<8))
        XCTAssertEqual(shuffled.map(\.classID).sorted(), Array(0..<8))
    }

    func testDistortionMatchesDarknetsHSV() {
        // Pure red shifted a third of the way round the hue circle is pure green.
        var red = Image(width: 1, height: 1, data: [1, 0, 0])
        red.distort(hue: 1.0 / 3, saturation: 1, exposure: 1)
        XCTAssertEqual(red.data[0], 0, accuracy: 1e-6)
        XCTAssertEqual(red.data[1], 1, accuracy: 1e-6)
        XCTAssertEqual(red.data[2], 0, accuracy: 1e-6)
        // (0.8, 0.4, 0.2) is h = 1/18, s = 0.75, v = 0.8; at half the saturation and 1.5 the
        // exposure, s = 0.375 and v = 1.2: r = v, g = t, b = p = v·(1 − s).
        var orange = Image(width: 1, height: 1, data: [0.8, 0.4, 0.2])
        orange.distort(hue: 0, saturation: 0.5, exposure: 1.5)
        XCTAssertEqual(orange.data[0], 1, accuracy: 1e-6, "v 1.2 clipped")
        XCTAssertEqual(orange.data[1], 0.9, accuracy: 1e-5, "t = v·(1 − s·(1 − f)) with f = 1/3")
        XCTAssertEqual(orange.data[2], 0.75, accuracy: 1e-5)
        // Grey has no hue to shift.
        var grey = Image(width: 1, height: 1, data: [0.5, 0.5, 0.5])
        grey.distort(hue: 0.3, saturation: 2, exposure: 1)
        XCTAssertEqual(grey.data, [0.5, 0.5, 0.5])
    }

    func testBatchesAreDeterministicPerSeed() throws {
        let image = rectangle(width: 40, height: 30, left: 5, top: 5, right: 25, bottom: 20)
        try image.writePNG(to: directory.appendingPathComponent("images/a.png").path)
        _ = try write("0 0.375 0.4166667 0.5 0.5\n1 0.8 0.8 0.2 0.2\n", "labels/a.txt")
        let set = try DetectionSet(images: [directory.appendingPathComponent("images/a.png").path], classes: 2, jitter: 0.3)
        var augmentation = Augmentation()
        (augmentation.hue, augmentation.saturation, augmentation.exposure) = (0.1, 1.5, 1.5)
        func batch(_ seed: UInt64) throws -> TrainingBatch {
            var random = TrainingRandom(seed: seed)
            return try set.batch([0, 0], input: Shape(channels: 3, height: 32, width: 32), truthsPerImage: 15,
                                 augmentation: augmentation, random: &random)
        }
        let (first, again, other) = (try batch(7), try batch(7), try batch(8))
        XCTAssertEqual(first.input, again.input)
        XCTAssertEqual(first.truth, again.truth)
        XCTAssertNotEqual(first.input, other.input)
        // The two copies of the image in one batch draw different augmentations.
        XCTAssertNotEqual(Array(first.input.data[..<3072]), Array(first.input.data[3072...]))
        XCTAssertTrue(first.input.data.allSatisfy { (0...1).contains($0) })
        // Each image's truth is its two boxes, in some order, then zeros.
        for image in 0..<2 {
            let truth = Array(first.truth.data[(image * 15)..<(image * 15 + 15)])
            XCTAssertEqual(Set([truth[4], truth[9]]), [0, 1])
            XCTAssertEqual(Array(truth[10...]), [0, 0, 0, 0, 0])
        }
        // The layout is the one a [yolo] layer with max=3 trains on, and its checks accept it.
        let cfg = "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=14\nsize=1\n[yolo]\nclasses=2\nnum=2\nanchors=8,8,16,16\nmax=3\n"
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "tiny.cfg"))
        let trainer = try Trainer(Network(definition: definition, weights: RandomWeights.make(for: definition, seed: 1), winograd: false))
        XCTAssertEqual(trainer.truthsPerImage, 15)
        XCTAssertNoThrow(try trainer.step(input: first.input, truth: first.truth))
    }

    // MARK: against libdarknet (scripts/make_detection_augmentation_fixture.py)

    struct AugmentationFixture: Decodable {
        struct Source: Decodable { let width: Int; let height: Int; let data: [Float] }
        struct Place: Decodable {
            let width, height, dx, dy, canvas_width, canvas_height: Int
            let expected: [Float]
        }
        struct Distort: Decodable { let hue, saturation, exposure: Float; let expected: [Float] }
        struct Truth: Decodable {
            let labels: String
            let flip: Bool
            let dx, dy, sx, sy: Float
            let max_boxes: Int
            let expected: [Float]
        }
        struct Load: Decodable {
            struct Draws: Decodable {
                let width, height, left, top, hue, saturation, exposure: Float
                let keep_saturation, keep_exposure, flip: Bool
                let swaps: [Int]
            }
            let source: Source
            let labels: String
            let width, height: Int
            let jitter, hue, saturation, exposure: Float
            let draws: Draws
            let expected_input, expected_truth: [Float]
        }
        let source: Source
        let place: [Place]
        let load: [Load]
        let distort: [Distort]
        let flip: [Float]
        let truth: [Truth]
    }

    /// Within 1e-5: Debian builds libdarknet with -Ofast, which reorders float arithmetic.
    func assertClose(_ got: [Float], _ expected: [Float], _ message: String, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, message, line: line)
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5, message, line: line)
    }

    func testAugmentationStepsMatchLibdarknet() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/detection/augmentation.json")
        let fixture = try JSONDecoder().decode(AugmentationFixture.self, from: Data(contentsOf: url))
        let source = Image(width: fixture.source.width, height: fixture.source.height, data: fixture.source.data)
        for c in fixture.place {
            var canvas = Image(width: c.canvas_width, height: c.canvas_height, fill: 0.5)
            source.place(width: c.width, height: c.height, dx: c.dx, dy: c.dy, on: &canvas)
            assertClose(canvas.data, c.expected, "place_image \(c.width)×\(c.height) at \(c.dx), \(c.dy)")
        }
        for c in fixture.distort {
            var image = source
            image.distort(hue: c.hue, saturation: c.saturation, exposure: c.exposure)
            assertClose(image.data, c.expected, "distort_image \(c.hue) \(c.saturation) \(c.exposure)")
        }
        var flipped = source
        flipped.flip()
        XCTAssertEqual(flipped.data, fixture.flip)
        XCTAssertEqual(fixture.truth.count, 16)
        for (number, c) in fixture.truth.enumerated() {
            let path = try write(c.labels, "labels/\(number).txt")
            let moved = DetectionAugmentation.correctBoxes(try LabelFile.read(path, classes: 3), dx: c.dx, dy: c.dy,
                                                           sx: c.sx, sy: c.sy, flip: c.flip)
            // Darknet shuffles the boxes with rand(): compare them as a set.
            func boxes(_ truth: [Float]) -> [[Float]] {
                stride(from: 0, to: truth.count, by: 5).map { Array(truth[$0..<($0 + 5)]) }.filter { $0 != [0, 0, 0, 0, 0] }
                    .sorted { $0.lexicographicallyPrecedes($1) }
            }
            let got = boxes(DetectionSet.truth(moved, maxBoxes: c.max_boxes)), expected = boxes(c.expected)
            XCTAssertEqual(got.count, expected.count, "truth case \(number)")
            for (g, e) in zip(got, expected) { assertClose(g, e, "truth case \(number)") }
        }
    }

    func testWholeAugmentationMatchesLibdarknet() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/detection/augmentation.json")
        let fixture = try JSONDecoder().decode(AugmentationFixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.load.count, 9)
        var flips = 0
        for (number, c) in fixture.load.enumerated() {
            let d = c.draws
            let draws = DetectionAugmentation.Draws(width: d.width, height: d.height, left: d.left, top: d.top, hue: d.hue,
                                                    saturation: d.saturation, keepSaturation: d.keep_saturation,
                                                    exposure: d.exposure, keepExposure: d.keep_exposure, flip: d.flip, swaps: d.swaps)
            var augmentation = Augmentation()
            (augmentation.hue, augmentation.saturation, augmentation.exposure) = (c.hue, c.saturation, c.exposure)
            let path = try write(c.labels, "labels/load\(number).txt")
            let source = Image(width: c.source.width, height: c.source.height, data: c.source.data)
            let (image, boxes) = DetectionAugmentation.apply(to: source, boxes: try LabelFile.read(path, classes: 3), width: c.width,
                                                             height: c.height, jitter: c.jitter, augmentation: augmentation, draws: draws)
            assertClose(image.data, c.expected_input, "load_data_detection \(number): image")
            // The same draws shuffle the boxes the same way: the truths agree in order.
            assertClose(DetectionSet.truth(boxes, maxBoxes: 90), c.expected_truth, "load_data_detection \(number): truth")
            if d.flip { flips += 1 }
        }
        XCTAssertEqual(flips, 3)
    }

    // MARK: mAP

    func testAveragePrecisionByHand() {
        func detection(_ probability: Float, _ left: Float, _ top: Float, classID: Int = 0) -> Detection {
            Detection(classID: classID, className: "", probability: probability, left: left, top: top, right: left + 20, bottom: top + 20)
        }
        let truths = [[LabeledBox(classID: 0, box: Box(x: 50, y: 50, w: 20, h: 20)), LabeledBox(classID: 0, box: Box(x: 150, y: 50, w: 20, h: 20)),
                       LabeledBox(classID: 2, box: Box(x: 100, y: 100, w: 10, h: 10))]]
        // TP, a duplicate of it (FP), TP: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1; class 2 found by none.
        let detections = [[detection(0.7, 140, 40), detection(0.9, 40, 40), detection(0.8, 41, 41), detection(0.95, 40, 40, classID: 1)]]
        let ap = AveragePrecision(detections: detections, truths: truths)
        XCTAssertEqual(ap.perClass.keys.sorted(), [0, 2])
        XCTAssertEqual(ap.perClass[0]!, 0.5 + 0.5 * 2 / 3, accuracy: 1e-12)
        XCTAssertEqual(ap.perClass[2], 0)
        XCTAssertEqual(ap.mean, (0.5 + 0.5 * 2 / 3) / 2, accuracy: 1e-12)
        XCTAssertEqual(AveragePrecision(detections: [[]], truths: [[]]).mean, 0)
    }

    func testMeanAveragePrecisionOfANetwork() throws {
        // One box per image over the whole input, probability σ(20)², whatever the image.
        let cfg = """
            [net]
            width=32
            height=32
            channels=3
            [maxpool]
            size=32
            stride=32
            [convolutional]
            filters=6
            size=1
            activation=linear
            [yolo]
            classes=1
            num=1
            mask=0
            anchors=32,32
            """
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "whole.cfg"))
        let biases: [Float] = [0, 0, 0, 0, 20, 20]
        let network = try Network(definition: definition, weights: NetworkWeights(
            header: WeightsHeader(), floats: biases + Array(repeating: 0, count: 18), for: definition))
        let image = rectangle(width: 32, height: 32, left: 0, top: 0, right: 32, bottom: 32)
        for name in ["a", "b"] { try image.writePNG(to: directory.appendingPathComponent("images/\(name).png").path) }
        try Data([0xFF, 0xD8, 0xFF, 0]).write(to: directory.appendingPathComponent("images/c.jpg"))
        _ = try write("0 0.5 0.5 1 1\n", "labels/a.txt")
        _ = try write("0 0.5 0.5 0.5 0.5\n", "labels/b.txt")
        _ = try write("0 0.5 0.5 0.5 0.5\n", "labels/c.txt")
        let images = ["a.png", "b.png", "c.jpg"].map { directory.appendingPathComponent("images/\($0)").path }
        // a's box is found (IoU (31/32)², the detector clamps to the last pixel), b's is not
        // (IoU 256/961): at equal probabilities, precision 1 then 1/2 at recall 1/2.
        let (found, skipped) = try DetectionSet(images: images, classes: 1).meanAveragePrecision(of: network)
        XCTAssertEqual(found.perClass.count, 1)
        XCTAssertEqual(found.mean, 0.5, accuracy: 1e-12)
        XCTAssertEqual(skipped.count, 1)
        XCTAssertTrue(skipped[0].hasPrefix("\(images[2]): error: "), skipped[0])
        // With b first, its miss comes first: precision 0 then 1/2.
        let reversed = try DetectionSet(images: [images[1], images[0]], classes: 1).meanAveragePrecision(of: network)
        XCTAssertEqual(reversed.precision.mean, 0.25, accuracy: 1e-12)
    }

    struct MapCase: Decodable {
        let iou_threshold: Float
        let detections: [[[Float]]]
        let truths: [[[Float]]]
        let per_class: [String: Double]
        let mean: Double
    }

    func testAveragePrecisionMatchesNumPy() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/detection/map.json")
        let cases = try JSONDecoder().decode([MapCase].self, from: Data(contentsOf: url))
        XCTAssertEqual(cases.count, 12)
        for (number, c) in cases.enumerated() {
            let detections = c.detections.map { image in
                image.map { Detection(classID: Int($0[0]), className: "", probability: $0[1], left: $0[2], top: $0[3], right: $0[4], bottom: $0[5]) }
            }
            let truths = c.truths.map { image in image.map { LabeledBox(classID: Int($0[0]), box: Box(x: $0[1], y: $0[2], w: $0[3], h: $0[4])) } }
            let ap = AveragePrecision(detections: detections, truths: truths, iouThreshold: c.iou_threshold)
            XCTAssertEqual(ap.perClass.count, c.per_class.count, "case \(number)")
            for (key, expected) in c.per_class {
                XCTAssertEqual(try XCTUnwrap(ap.perClass[Int(key)!]), expected, accuracy: 1e-12, "case \(number) class \(key)")
            }
            XCTAssertEqual(ap.mean, c.mean, accuracy: 1e-12, "case \(number)")
        }
    }
}
