import Foundation
import XCTest
@testable import Darknet

final class ImageTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func pixel(_ image: Image, _ x: Int, _ y: Int) -> [Float] {
        (0..<3).map { image.data[$0 * image.width * image.height + y * image.width + x] }
    }

    func testDecodesJPEGAndPNGToRGBInUnitRange() throws {
        let png = try Image(contentsOf: fixture("gradient.png"))
        XCTAssertEqual([png.width, png.height], [32, 24])
        // The fixture's pixel (x, y) is (8x, 10y, 4(x + y)).
        XCTAssertEqual(pixel(png, 3, 2), [24, 20, 20].map { Float($0) / 255 })
        let jpeg = try Image(contentsOf: fixture("gradient.jpg"))
        XCTAssertEqual([jpeg.width, jpeg.height], [32, 24])
        XCTAssertLessThan(largestDifference(jpeg.data, png.data), 0.1) // lossy, but close
        let gray = try Image(contentsOf: fixture("gray.png"))
        XCTAssertEqual(pixel(gray, 3, 2), [24, 24, 24].map { Float($0) / 255 })
        let rgba = try Image(contentsOf: fixture("rgba.png"))
        XCTAssertEqual(rgba, png) // alpha dropped, colour kept
    }

    func testPNGRoundTrip() throws {
        let image = try Image(contentsOf: fixture("gradient.png"))
        let path = directory.appendingPathComponent("copy.png").path
        try image.writePNG(to: path)
        XCTAssertEqual(try Image(contentsOf: path), image)
    }

    func assertError(_ path: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Image(contentsOf: path), file: file, line: line) {
            XCTAssertEqual(($0 as? Diagnostic)?.description, "\(path): error: \(message)", file: file, line: line)
        }
    }

    func testBadImageFiles() throws {
        let jpeg = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("gradient.jpg"))))
        let png = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("gradient.png"))))
        assertError(try write([], "empty.jpg"), "the image file is empty")
        assertError(try write(Array("hello, world\n".utf8), "text.jpg"), "unsupported image: the file is neither JPEG nor PNG (expected JPEG or PNG)")
        assertError(try write(Array("GIF89a".utf8) + [1, 0, 1, 0], "a.gif"), "unsupported image: the file is a GIF (expected JPEG or PNG)")
        assertError(try write(Array("BM".utf8) + [UInt8](repeating: 0, count: 60), "a.bmp"), "unsupported image: the file is a BMP (expected JPEG or PNG)")
        assertError(try write(Array(jpeg.prefix(jpeg.count / 2)), "half.jpg"), "corrupt JPEG (header): Invalid JPEG file structure: missing SOS marker")
        assertError(try write(Array(jpeg.prefix(jpeg.count - 40)), "cut.jpg"), "corrupt JPEG (data): Premature end of JPEG file")
        assertError(try write(Array(jpeg.prefix(20)), "header.jpg"), "the image declares a size of 0×0")
        assertError(try write(Array(png.prefix(png.count - 30)), "half.png"), "corrupt PNG: read beyond end of data")
        var badCRC = png
        badCRC[40] ^= 0xFF // inside IDAT
        let crcPath = try write(badCRC, "crc.png")
        XCTAssertThrowsError(try Image(contentsOf: crcPath)) {
            XCTAssertTrue(($0 as? Diagnostic)?.description.hasPrefix("\(crcPath): error: corrupt PNG: ") ?? false, "\($0)")
        }
        // An IHDR claiming 100000×100000 pixels: refused before any pixel is allocated.
        var huge = Array(png.prefix(33))
        huge.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])
        let crc = crc32(huge[12..<29])
        huge.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        assertError(try write(huge + Array(png.dropFirst(33)), "huge.png"), "the image declares 100000×100000 pixels, more than the 268435456 accepted")
        assertError(directory.path, "cannot read the file: Is a directory")
        let missing = directory.appendingPathComponent("missing.png").path
        assertError(missing, "cannot open the file: No such file or directory")
    }

    func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    func testLetterboxKeepsAspectAndFillsWithHalf() throws {
        let image = try Image(contentsOf: fixture("gradient.png")) // 32×24
        let boxed = image.letterboxed(width: 64, height: 64)        // scaled to 64×48, 8 rows above and below
        XCTAssertEqual(pixel(boxed, 10, 3), [0.5, 0.5, 0.5])
        XCTAssertEqual(pixel(boxed, 10, 60), [0.5, 0.5, 0.5])
        XCTAssertEqual(pixel(boxed, 0, 8), pixel(image, 0, 0))      // corners are sampled exactly
        XCTAssertEqual(pixel(boxed, 63, 55), pixel(image, 31, 23))
        let half = image.resized(width: 16, height: 12)
        // Darknet's scale (32 − 1)/(16 − 1): column 1 samples x = 2.0667 between 2 and 3.
        let dx: Float = 31.0 / 15.0 - 2
        XCTAssertEqual(pixel(half, 1, 0)[0], (1 - dx) * pixel(image, 2, 0)[0] + dx * pixel(image, 3, 0)[0], accuracy: 1e-6)
    }

    func testAnnotatedPNGHasTheBoxWhereTheDetectionIs() throws {
        var image = Image(width: 120, height: 90, fill: 0.25)
        let detection = Detection(classID: 16, className: "dog", probability: 0.87, left: 20, top: 30, right: 100, bottom: 80)
        let color = Image.color(forClass: 16, of: 80)
        image.annotate([detection], classes: 80)
        let path = directory.appendingPathComponent("annotated.png").path
        try image.writePNG(to: path)
        let read = try Image(contentsOf: path)
        let expected = [color.0, color.1, color.2].map { ($0 * 255).rounded() / 255 }
        for (x, y) in [(20, 50), (100, 50), (60, 30), (60, 80), (20, 80), (100, 30)] {
            XCTAssertEqual(pixel(read, x, y), expected, "edge pixel (\(x), \(y))")
        }
        for (x, y) in [(60, 55), (22, 60), (98, 40), (10, 50), (110, 85)] {
            XCTAssertEqual(pixel(read, x, y), [64, 64, 64].map { Float($0) / 255 }, "pixel (\(x), \(y)) off the box")
        }
        // The label strip sits above the box, in the class colour with dark text inside it.
        let strip = (0..<60).map { pixel(read, 20 + $0, 25) }
        XCTAssertTrue(strip.contains(expected))
        XCTAssertTrue(strip.contains([0, 0, 0]))
    }

    /// An image over 416 times wider than tall (or taller than wide) keeps one pixel row (column)
    /// in the letterbox, where Darknet's integer division leaves none; its boxes came out NaN.
    func testExtremeAspectRatiosGiveFiniteBoxesOnTheImage() throws {
        let wide = Image.letterboxSize(imageWidth: 3000, imageHeight: 1, width: 416, height: 416)
        XCTAssertEqual([wide.width, wide.height], [416, 1])
        let tall = Image.letterboxSize(imageWidth: 2, imageHeight: 3000, width: 416, height: 416)
        XCTAssertEqual([tall.width, tall.height], [1, 416])
        let cfg = "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=14\nsize=3\nstride=2\npad=1\nactivation=linear\n"
            + "[yolo]\nmask=0,1\nclasses=2\nnum=2\nanchors=8,8,16,24\n"
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "wide.cfg"))
        let detector = try Detector(network: try Network(definition: definition, weights: try RandomWeights.make(for: definition, seed: 3)),
                                    names: ["a", "b"])
        for (width, height) in [(3000, 1), (2, 3000), (1, 1)] {
            let found = detector.detect(Image(width: width, height: height, fill: 0.7), options: DetectionOptions(threshold: 0.05))
            XCTAssertFalse(found.isEmpty, "\(width)×\(height)")
            for d in found {
                let box = [d.left, d.top, d.right, d.bottom]
                XCTAssert(box.allSatisfy(\.isFinite) && d.left <= d.right && d.top <= d.bottom
                          && d.right <= Float(width - 1) && d.bottom <= Float(height - 1) && d.left >= 0 && d.top >= 0, "\(width)×\(height): \(box)")
            }
        }
    }

    /// Detections are public values: ones with NaN coordinates are skipped, ones far outside the
    /// image (past an Int's range) clamped to it, where converting them to pixels trapped.
    func testAnnotatingNonFiniteOrHugeBoxesDoesNotTrap() {
        var image = Image(width: 40, height: 30, fill: 0.25)
        let color = Image.color(forClass: 1, of: 2)
        image.annotate([Detection(classID: 0, className: "nan", probability: 0.9, left: .nan, top: 2, right: 10, bottom: 10),
                        Detection(classID: 1, className: "huge", probability: 0.8, left: -1e30, top: -.infinity, right: 1e30, bottom: 29)],
                       classes: 2)
        XCTAssertEqual(pixel(image, 0, 29), [color.0, color.1, color.2], "the huge box's edges are the image's")
        XCTAssertEqual(pixel(image, 39, 15), [color.0, color.1, color.2])
        XCTAssertEqual(pixel(image, 20, 15), [0.25, 0.25, 0.25])
    }
}
