@testable import Darknet
import Foundation
import XCTest

/// Class folders and Darknet's classifier `.data` lists read into batches: class order, one-hot
/// truths, labels by path, and the errors each bad input gets.
final class ClassifierDataTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("classifier-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `path` under the scratch folder, its folders created.
    func path(_ relative: String) throws -> String {
        let url = directory.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        return url.path
    }

    /// A `width`×`height` PNG whose red plane is `red` everywhere and green a horizontal ramp.
    @discardableResult
    func writeImage(_ relative: String, red: Float, width: Int = 12, height: Int = 8) throws -> String {
        let plane = width * height
        let data = (0..<(3 * plane)).map { i -> Float in
            switch i / plane {
            case 0: red
            case 1: Float(i % width) / Float(width - 1)
            default: 0.25
            }
        }
        let file = try path(relative)
        try Image(width: width, height: height, data: data).writePNG(to: file)
        return file
    }

    func write(_ relative: String, _ text: String) throws -> String {
        let file = try path(relative)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func error(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    /// Classes are the sorted subfolder names (code-point order: upper case before lower); files
    /// sorted within a class; other files and hidden folders ignored.
    func testClassFoldersSortedAsImageFolder() throws {
        try writeImage("set/train/cat/b.png", red: 0.1)
        try writeImage("set/train/cat/a.PNG", red: 0.2)
        try writeImage("set/train/Zebra/z.png", red: 0.3)
        try writeImage("set/train/dog/x.png", red: 0.4)
        try writeImage("set/train/dog/inner/y.png", red: 0.5)
        try writeImage("set/train/.hidden/h.png", red: 0.6)
        _ = try write("set/train/dog/notes.txt", "not an image")
        _ = try write("set/train/readme.txt", "not a class")
        try writeImage("set/val/dog/v.png", red: 0.7)
        let data = try ClassifierData(contentsOf: directory.appendingPathComponent("set").path)
        XCTAssertEqual(data.classNames, ["Zebra", "cat", "dog"])
        let root = directory.appendingPathComponent("set/train").path
        XCTAssertEqual(data.train.examples.map(\.path), ["Zebra/z.png", "cat/a.PNG", "cat/b.png", "dog/x.png", "dog/inner/y.png"].map { root + "/" + $0 })
        XCTAssertEqual(data.train.examples.map(\.label), [0, 1, 1, 2, 2])
        XCTAssertEqual(data.validation?.examples.map(\.label), [2])
        XCTAssertEqual(data.validation?.classNames, ["Zebra", "cat", "dog"])
    }

    /// A batch: the images' centre crops in order and one-hot truths of their classes.
    func testBatchHasOneHotTruthsAndCentreCrops() throws {
        try writeImage("set/train/a/1.png", red: 0.2)
        try writeImage("set/train/b/1.png", red: 0.6)
        try writeImage("set/train/c/1.png", red: 1.0)
        let set = try ClassifierData(classFolders: directory.appendingPathComponent("set").path).train
        var random = TrainingRandom(seed: 1)
        let batch = try set.batch([2, 0], input: Shape(channels: 3, height: 4, width: 4), truthsPerImage: 3, augmentation: nil, random: &random)
        XCTAssertEqual(batch.input.shape, [2, 3, 4, 4])
        XCTAssertEqual(batch.truth.shape, [2, 3])
        XCTAssertEqual(batch.truth.data, [0, 0, 1, 1, 0, 0])
        XCTAssertEqual(batch.skipped, [])
        // Red is flat: 1.0 in the first image, 0.2 in the second (8-bit rounding aside).
        XCTAssertEqual(batch.input.data[0], 1, accuracy: 1e-6)
        XCTAssertEqual(batch.input.data[48], 51 / 255, accuracy: 1e-6)
        // Green ramps 0...1 over 12 columns; the centre 8×8 square is columns 2...9, resized to 4.
        let green = (0..<4).map { batch.input.data[16 + $0] }
        for (value, column) in zip(green, [2, 4.333333, 6.666667, 9]) {
            XCTAssertEqual(value, Float((column / 11 * 255).rounded() / 255), accuracy: 0.01)
        }
    }

    func testClassCountMustMatchTheNetwork() throws {
        try writeImage("set/train/a/1.png", red: 0.2)
        try writeImage("set/train/b/1.png", red: 0.6)
        let set = try ClassifierData(classFolders: directory.appendingPathComponent("set").path).train
        var random = TrainingRandom(seed: 1)
        let message = error { _ = try set.batch([0], input: Shape(channels: 3, height: 4, width: 4), truthsPerImage: 5, augmentation: nil, random: &random) }
        XCTAssertTrue(message.hasSuffix("set/train: error: 2 classes, but the network's last layer has 5 outputs"), message)
        let gray = error { _ = try set.batch([0], input: Shape(channels: 1, height: 4, width: 4), truthsPerImage: 2, augmentation: nil, random: &random) }
        XCTAssertTrue(gray.hasSuffix("set/train: error: the network reads 1 channels, but images give 3 (RGB)"), gray)
    }

    func testEmptyFoldersAreErrors() throws {
        let root = directory.appendingPathComponent("set").path
        XCTAssertTrue(error { _ = try ClassifierData(classFolders: root) }.contains("found no train folder"))
        try FileManager.default.createDirectory(atPath: root + "/train", withIntermediateDirectories: true)
        XCTAssertTrue(error { _ = try ClassifierData(classFolders: root) }.hasSuffix("set/train: error: the folder holds no class folders (expected \(root)/train/<class>/<image>.png)"))
        try writeImage("set/train/a/1.png", red: 0.2)
        _ = try write("set/train/b/notes.txt", "")
        let message = error { _ = try ClassifierData(classFolders: root) }
        XCTAssertEqual(message, "\(root)/train/b: error: the class folder holds no .jpg, .jpeg or .png file")
        try writeImage("set/train/b/1.png", red: 0.2)
        try writeImage("set/val/c/1.png", red: 0.2)
        XCTAssertEqual(error { _ = try ClassifierData(classFolders: root) }, "\(root)/val/c: error: no class 'c' in \(root)/train (its classes: a, b)")
    }

    /// An image that does not decode is left out of its batch and named in `skipped`.
    func testUndecodableImageIsSkipped() throws {
        try writeImage("set/train/a/1.png", red: 0.2)
        let broken = try write("set/train/a/2.png", "not a png")
        try writeImage("set/train/b/1.png", red: 0.6)
        let set = try ClassifierData(classFolders: directory.appendingPathComponent("set").path).train
        var random = TrainingRandom(seed: 1)
        let batch = try set.batch([0, 1, 2], input: Shape(channels: 3, height: 4, width: 4), truthsPerImage: 2, augmentation: Augmentation(), random: &random)
        XCTAssertEqual(batch.input.shape, [2, 3, 4, 4])
        XCTAssertEqual(batch.truth.data, [1, 0, 0, 1])
        XCTAssertEqual(batch.skipped, ["\(broken): error: unsupported image: the file is neither JPEG nor PNG (expected JPEG or PNG)"])
    }

    /// Darknet's `.data`: classes from labels=, each listed image labelled by the class name in its path.
    func testDataFileLabelsByPath() throws {
        let cat = try writeImage("imgs/cat_01.png", red: 0.1)
        let dog = try writeImage("imgs/dog_01.png", red: 0.9)
        _ = try write("labels.txt", "cat\ndog\n")
        _ = try write("train.list", " imgs/dog_01.png\t\n\n\(cat)\r\n")
        _ = try write("valid.list", "\(dog)\n")
        let file = try write("cls.data", "classes = 2\ntrain=train.list\nvalid=valid.list\nlabels=labels.txt\n# comment\n")
        let data = try ClassifierData(contentsOf: file)
        XCTAssertEqual(data.classNames, ["cat", "dog"])
        XCTAssertEqual(data.train.examples, [.init(path: dog, label: 1), .init(path: cat, label: 0)])
        XCTAssertEqual(data.validation?.examples, [.init(path: dog, label: 1)])
        var random = TrainingRandom(seed: 3)
        let batch = try data.train.batch([0, 1], input: Shape(channels: 3, height: 6, width: 6), truthsPerImage: 2, augmentation: nil, random: &random)
        XCTAssertEqual(batch.truth.data, [0, 1, 1, 0])
        // The network's output count is checked against classes=, whose line the error names.
        let message = error { _ = try data.train.batch([0], input: Shape(channels: 3, height: 6, width: 6), truthsPerImage: 3, augmentation: nil, random: &random) }
        XCTAssertEqual(message, "\(file):1: error: 2 classes, but the network's last layer has 3 outputs")
    }

    func testDataFileErrorsNameFileAndLine() throws {
        _ = try write("labels.txt", "cat\ndog\ncatdog\n")
        let list = try path("train.list")
        let file = try write("cls.data", "classes=3\ntrain=train.list\nlabels=labels.txt\n")
        _ = try write("train.list", "x/catdog.png\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) },
                       "\(list):1: error: x/catdog.png: expected exactly one class name in the path (Darknet labels an image by the class name its path contains), found 'cat', 'dog', 'catdog'")
        _ = try write("train.list", "a/cat_1.png\nb/bird_1.png\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) },
                       "\(list):2: error: b/bird_1.png: expected exactly one class name in the path (Darknet labels an image by the class name its path contains), found none of the 3 class names")
        _ = try write("cls.data", "classes=2\ntrain=train.list\nlabels=labels.txt\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) }, "\(file):1: error: classes=2, but \(try path("labels.txt")) names 3 classes")
        _ = try write("cls.data", "classes=3\ntrain=missing.list\nlabels=labels.txt\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) }, "\(file):2: error: train=missing.list: cannot open the file: No such file or directory")
        _ = try write("cls.data", "classes=3\ntrain=train.list\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) }, "\(file): error: expected labels= (or names=): the file of class names, one per line")
        _ = try write("cls.data", "labels=labels.txt\ntrain=train.list\nnames=other.txt\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) }, "\(file):3: error: names=other.txt and labels=labels.txt (line 1) name different class lists")
        _ = try write("cls.data", "labels=nowhere.txt\ntrain=train.list\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) }, "\(file):1: error: labels=nowhere.txt: cannot open the file: No such file or directory")
        _ = try write("cls.data", "classes=3\ntrain=train.list\nnames=labels.txt\nclasses=3\n")
        XCTAssertEqual(error { _ = try ClassifierData(contentsOf: file) }, "\(file):4: error: classes= is given twice (first at line 1)")
    }
}
