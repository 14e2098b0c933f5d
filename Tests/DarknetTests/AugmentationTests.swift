@testable import Darknet
import Foundation
import XCTest

/// A classifier's preprocessing and augmentation: each piece against libdarknet's own function
/// (fixtures made by scripts/make_augmentation_fixtures.py), the HSV conversion both ways, and
/// the same batch for the same seed.
final class AugmentationTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/augmentation")

    func fixture(_ name: String) throws -> Tensor { try NPYFile.read(Self.folder.appendingPathComponent(name + ".npy").path) }

    func input() throws -> Image {
        let tensor = try fixture("input")
        return Image(width: tensor.shape[2], height: tensor.shape[1], data: tensor.data)
    }

    func assertEqual(_ image: Image, _ name: String, accuracy: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try fixture(name)
        XCTAssertEqual([3, image.height, image.width], expected.shape, name, file: file, line: line)
        let worst = zip(image.data, expected.data).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, accuracy, name, file: file, line: line)
    }

    func testPiecesEqualLibdarknet() throws {
        let image = try input()
        try assertEqual(image.rotatedCrop(radians: 0.3, scale: 1.7, width: 6, height: 5, dx: 1.2, dy: -0.7, aspect: 1.3), "rotate_crop")
        try assertEqual(ClassifierPreprocessing.centerCrop(image, width: 5, height: 4), "center_crop")
        var flipped = image
        flipped.flip()
        try assertEqual(flipped, "flip", accuracy: 0)
        var distorted = image
        distorted.distort(hue: 0.13, saturation: 1.4, exposure: 0.8)
        try assertEqual(distorted, "distort")
        var wrapped = image
        wrapped.distort(hue: -0.45, saturation: 0.6, exposure: 1.5)
        try assertEqual(wrapped, "distort_wrap")
        XCTAssertNotEqual(distorted, image)
    }

    /// `rand_scale(s)` with s < 1 draws between s and 1 (rand_uniform orders its ends), as with
    /// 1/s; extreme [net] keys give a one-line error or zeros, never a trap.
    func testScaleBelowOneAndExtremeKeys() throws {
        var random = TrainingRandom(seed: 3)
        let factors = (0..<200).map { _ in random.scale(0.5) }
        XCTAssertTrue(factors.allSatisfy { (0.5...2).contains($0) }, "\(factors)")
        XCTAssertGreaterThan(factors.filter { $0 != 1 }.count, 190)

        let image = try input()
        let nan = image.rotatedCrop(radians: .nan, scale: 1, width: 4, height: 3, dx: 0, dy: 0, aspect: 1)
        XCTAssertEqual(nan.data, [Float](repeating: 0, count: 36))
        let wide = image.rotatedCrop(radians: 0, scale: 1, width: 4, height: 3, dx: 0, dy: 0, aspect: 3e38)
        XCTAssertEqual(wide.data.count, 36)

        let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\nhue=2\n[softmax]\n"
        XCTAssertThrowsError(try NetworkDefinition(cfg: CfgFile(text: cfg, path: "hue.cfg"))) { error in
            XCTAssertEqual("\(error)", "hue.cfg:5: error: [net] hue=2: expected a fraction of the hue circle in [-1, 1]")
        }
    }

    func testHSVKnownValuesAndRoundTrip() {
        XCTAssertTrue(Image.hsv(red: 1, green: 0, blue: 0) == (0, 1, 1))
        let blueish = Image.hsv(red: 0, green: 0.5, blue: 1)
        XCTAssertEqual(blueish.hue, 3.5 / 6, accuracy: 1e-7)
        XCTAssertEqual(blueish.saturation, 1)
        XCTAssertTrue(Image.hsv(red: 0.4, green: 0.4, blue: 0.4) == (0, 0, 0.4))
        XCTAssertTrue(Image.rgb(hue: 0.25, saturation: 0, value: 0.7) == (0.7, 0.7, 0.7))
        var random = SplitMix64(state: 9)
        var worst: Float = 0
        for _ in 0..<10_000 {
            let (r, g, b) = (random.uniform(0, 1), random.uniform(0, 1), random.uniform(0, 1))
            let (h, s, v) = Image.hsv(red: r, green: g, blue: b)
            XCTAssertTrue((0..<1).contains(h) && (0...1).contains(s) && v == max(r, g, b))
            let back = Image.rgb(hue: h, saturation: s, value: v)
            worst = max(worst, abs(back.red - r), abs(back.green - g), abs(back.blue - b))
        }
        XCTAssertLessThan(worst, 1e-5)
    }

    /// Darknet's `[net]` augmentation keys turned up: the same seed gives the same batch, another
    /// seed another; values stay in [0, 1].
    func testSameSeedSameBatch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("augmentation-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(state: 4)
        for (index, name) in ["a/1.png", "a/2.png", "b/1.png", "b/2.png", "b/3.png"].enumerated() {
            let url = directory.appendingPathComponent("train/" + name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let (w, h) = (20 + 7 * index, 30 - 3 * index)
            try Image(width: w, height: h, data: (0..<(3 * w * h)).map { _ in random.uniform(0, 1) }).writePNG(to: url.path)
        }
        let set = try ClassifierData(classFolders: directory.path).train
        var augmentation = Augmentation()
        (augmentation.angle, augmentation.aspect, augmentation.hue, augmentation.saturation, augmentation.exposure) = (15, 1.3, 0.1, 1.5, 1.5)
        let shape = Shape(channels: 3, height: 16, width: 16)
        func batch(_ seed: UInt64) throws -> TrainingBatch {
            var random = TrainingRandom(seed: seed)
            return try set.batch([4, 0, 2, 1, 3], input: shape, truthsPerImage: 2, augmentation: augmentation, random: &random)
        }
        let first = try batch(11)
        XCTAssertEqual(first.input, try batch(11).input)
        XCTAssertEqual(first.truth.data, [0, 1, 1, 0, 0, 1, 1, 0, 0, 1])
        XCTAssertNotEqual(first.input, try batch(12).input)
        XCTAssertTrue(first.input.data.allSatisfy { (0...1).contains($0) })
        var validation = TrainingRandom(seed: 11)
        XCTAssertNotEqual(first.input, try set.batch([4, 0, 2, 1, 3], input: shape, truthsPerImage: 2, augmentation: nil, random: &validation).input)
        // The draws for one image: the same seed, the same choices, in Darknet's ranges.
        var a = TrainingRandom(seed: 3), b = TrainingRandom(seed: 3)
        let draw = ClassifierPreprocessing.Draw(imageWidth: 40, imageHeight: 30, width: 16, height: 16, augmentation: augmentation, random: &a)
        XCTAssertEqual(draw, ClassifierPreprocessing.Draw(imageWidth: 40, imageHeight: 30, width: 16, height: 16, augmentation: augmentation, random: &b))
        let crop = try XCTUnwrap(draw.crop)
        XCTAssertLessThanOrEqual(abs(crop.radians), 15 * .pi / 180)
        XCTAssertTrue((1 / 1.3...1.3).contains(crop.aspect) && (1 / 1.5...1.5).contains(draw.saturation) && abs(draw.hue) <= 0.1)
        // center=1: the centre crop, still flipped and distorted at random.
        augmentation.center = true
        var c = TrainingRandom(seed: 3)
        XCTAssertNil(ClassifierPreprocessing.Draw(imageWidth: 40, imageHeight: 30, width: 16, height: 16, augmentation: augmentation, random: &c).crop)
    }

    /// A small cfg of seed 004's kinds reads a class-folder set: batch shapes fit its input and truth.
    func testSeed004KindsReadClassFolders() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seed004-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["circle", "cross", "square", "triangle"] {
            let url = directory.appendingPathComponent("train/\(name)/00000.png")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Image(width: 48, height: 48, fill: Float(name.count) / 10).writePNG(to: url.path)
        }
        let cfg = """
            [net]
            width=32
            height=32
            channels=3
            [convolutional]
            batch_normalize=1
            filters=8
            size=3
            stride=2
            pad=1
            activation=swish
            [convolutional]
            batch_normalize=1
            filters=8
            size=3
            stride=1
            pad=1
            activation=swish
            [shortcut]
            from=-2
            activation=linear
            [route]
            layers=-1,-3
            [maxpool]
            size=5
            stride=1
            [connected]
            output=4
            activation=linear
            [softmax]
            """
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "seed004-small.cfg"))
        let trainer = try Trainer(try Network(definition: definition, weights: RandomWeights.make(for: definition, seed: 1), winograd: false))
        let set = try ClassifierData(classFolders: directory.path).train
        XCTAssertEqual(set.classNames, ["circle", "cross", "square", "triangle"])
        var random = TrainingRandom(seed: 1)
        let batch = try set.batch([3, 1, 0, 2], input: definition.input, truthsPerImage: trainer.truthsPerImage, augmentation: Augmentation(), random: &random)
        XCTAssertEqual(batch.input.shape, [4, 3, 32, 32])
        XCTAssertEqual(batch.truth.shape, [4, 4])
        XCTAssertEqual(batch.truth.data, [0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0])
        try trainer.step(input: batch.input, truth: batch.truth)
    }
}
