import Foundation
import XCTest
import Darknet

/// Every layer kind's outputs against references computed once, outside this library, by
/// libdarknet or NumPy (scripts/make_fixtures.py; each fixture's cfg names its oracle). Only the
/// public API: load the cfg and weights, run, compare each layer's output.
final class LayerFixtureTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/layers")

    struct Fixture {
        let name: String
        /// Which program computed the expected outputs, from the cfg's first line.
        let oracle: String
        let definition: NetworkDefinition
        let weights: NetworkWeights
        /// A batch of two images.
        let input: Tensor
        let expected: [Int: Tensor]
    }

    static func fixtures() throws -> [Fixture] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { name in
            let directory = folder.appendingPathComponent(name)
            let cfg = directory.appendingPathComponent("network.cfg").path
            // Every reference computes Darknet's formulas, also where a cfg uses AlexeyAB's mish or
            // route groups, which would otherwise make it AlexeyAB's.
            let definition = try NetworkDefinition(contentsOf: cfg, options: DefinitionOptions(dialect: .darknet))
            var expected: [Int: Tensor] = [:]
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasPrefix("layer_") {
                let layer = try XCTUnwrap(Int(file.dropFirst("layer_".count).dropLast(".npy".count)), file)
                expected[layer] = try NPYFile.read(directory.appendingPathComponent(file).path)
            }
            // "# Made by scripts/make_fixtures.py; expected outputs from libdarknet."
            let firstLine = try String(contentsOfFile: cfg, encoding: .utf8).prefix { $0 != "\n" }
            let oracle = try XCTUnwrap(firstLine.components(separatedBy: "expected outputs from ").last?.dropLast(), cfg)
            return Fixture(name: name, oracle: String(oracle), definition: definition,
                           weights: try NetworkWeights(contentsOf: directory.appendingPathComponent("network.weights").path, for: definition),
                           input: try NPYFile.read(directory.appendingPathComponent("input.npy").path), expected: expected)
        }
    }

    /// The fixtures cover every kind the library parses, and every layer of each fixture has an
    /// expected output.
    func testEveryLayerKindHasAReference() throws {
        let fixtures = try Self.fixtures()
        let covered = Set(fixtures.flatMap { $0.definition.layers.map(\.typeName) })
        XCTAssertEqual(covered, ["convolutional", "connected", "maxpool", "avgpool", "route", "shortcut", "upsample", "yolo",
                                 "region", "reorg", "softmax", "dropout", "batchnorm", "cost", "res2net", "triangle",
                                 "scale_channels", "sam", "reorg3d", "local_avgpool", "implicit", "Gaussian_yolo"])
        for fixture in fixtures {
            XCTAssertEqual(fixture.expected.keys.sorted(), Array(fixture.definition.layers.indices), fixture.name)
            XCTAssertEqual(fixture.input.shape.first, 2, fixture.name)
        }
    }

    /// Each layer's output within float32 rounding of the reference: 5e-6·(1 + max|expected|)
    /// for the layer, about 40 float32 ulps of its largest value. The references sum in float64
    /// (NumPy) or in another order (libdarknet's gemm), so outputs differ by the rounding of
    /// sums of up to 54 products, carried through the layers before; the worst seen is an eighth
    /// of the tolerance. A wrong index, constant or formula is off by the size of a value.
    func testEveryLayerMatchesItsReference() throws {
        for fixture in try Self.fixtures() {
            let perImage = fixture.input.data.count / 2
            let network = try Network(definition: fixture.definition, weights: fixture.weights)
            // The batch of two, and each image alone: the runtime takes other paths for each.
            let runs = [(fixture.input.data, 0..<2)] + (0..<2).map { image in
                (Array(fixture.input.data[(image * perImage)..<((image + 1) * perImage)]), image..<(image + 1))
            }
            for (input, images) in runs {
                let context = InferenceContext(network, batch: images.count, keepAll: true)
                input.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) }
                for layer in fixture.definition.layers {
                    let expected = try XCTUnwrap(fixture.expected[layer.index])
                    let count = expected.data.count / 2
                    let want = Array(expected.data[(images.lowerBound * count)..<(images.upperBound * count)])
                    let label = "\(fixture.name)/network.cfg:\(layer.line): layer \(layer.index) [\(layer.typeName)] against \(fixture.oracle), "
                        + (images.count == 2 ? "batch of 2" : "image \(images.lowerBound) alone")
                    assertClose(context.tensor(of: layer.index).data, want, label)
                }
            }
        }
    }

    func assertClose(_ got: [Float], _ expected: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        guard got.count == expected.count else {
            return XCTFail("\(label): \(got.count) outputs, the reference has \(expected.count)", file: file, line: line)
        }
        let tolerance = 5e-6 * (1 + (expected.map(abs).max() ?? 0))
        var worst = (difference: Float(0), index: 0)
        for (index, (a, b)) in zip(got, expected).enumerated() {
            let difference = a.isNaN || b.isNaN ? Float.infinity : abs(a - b)
            if difference > worst.difference { worst = (difference, index) }
        }
        if worst.difference > tolerance {
            XCTFail("\(label): worst |difference| \(worst.difference) at output \(worst.index) (got \(got[worst.index]), "
                    + "expected \(expected[worst.index])), tolerance \(tolerance)", file: file, line: line)
        }
    }
}
