import Foundation
import XCTest
@testable import Darknet

final class NetworkTests: XCTestCase {
    /// A small network with most kinds of layers, res2net and triangle included.
    static let cfg = """
        [net]
        width=16
        height=16
        channels=3
        [convolutional]
        filters=16
        size=3
        pad=1
        batch_normalize=1
        activation=mish
        [res2net]
        planes=8
        base_width=32
        [triangle]
        planes=16
        scale=3
        [maxpool]
        size=2
        stride=2
        [convolutional]
        filters=12
        size=3
        pad=1
        groups=12
        activation=relu6
        [upsample]
        stride=2
        [route]
        layers=-1,2
        [shortcut]
        from=-5
        activation=swish
        [convolutional]
        filters=18
        size=1
        activation=linear
        [yolo]
        mask=0,1
        classes=4
        num=3
        anchors=1,2,3,4,5,6
        [route]
        layers=-3
        [avgpool]
        [connected]
        output=7
        batch_normalize=1
        activation=tanh
        [softmax]
        """

    func network() throws -> Network {
        let definition = try NetworkDefinition(cfg: CfgFile(text: Self.cfg, path: "mixed.cfg"))
        return try Network(definition: definition, weights: try RandomWeights.make(for: definition, seed: 3))
    }

    func input(batch: Int, seed: UInt64) -> Tensor {
        var random = SplitMix64(state: seed)
        let shape = batch == 1 ? [3, 16, 16] : [batch, 3, 16, 16]
        return Tensor(shape: shape, data: (0..<(768 * batch)).map { _ in random.uniform(0, 1) })
    }

    func testShapesAndOutputs() throws {
        let network = try network()
        XCTAssertEqual(network.outputLayers, [9, 13])
        let outputs = try network.forward(input(batch: 1, seed: 1))
        XCTAssertEqual(outputs[9]?.shape, [18, 16, 16])
        XCTAssertEqual(outputs[13]?.shape, [7, 1, 1])
        let probabilities = outputs[13]!.data
        XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertTrue(outputs[9]!.data.allSatisfy(\.isFinite))
    }

    /// `[activation]` as Darknet's activation_layer.c: the function (linear by default) on each
    /// input value, same shape, nothing stored. Two images, so each one's slice is checked.
    func testActivationSectionAppliesItsFunction() throws {
        let cfg = "[net]\nwidth=3\nheight=2\nchannels=2\n[activation]\nactivation=leaky\n[activation]\n[activation]\nactivation=elu\n"
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "activation.cfg"))
        XCTAssertEqual(definition.layers.map(\.typeName), ["activation", "activation", "activation"])
        XCTAssertEqual(definition.layers.map(\.output), Array(repeating: Shape(channels: 2, height: 2, width: 3), count: 3))
        XCTAssertEqual(definition.storedFloats, 0)
        guard case .activation(let linear) = definition.layers[1].spec else { return XCTFail() }
        XCTAssertEqual(linear.activation, .linear)
        let network = try Network(definition: definition, weights: NetworkWeights(header: WeightsHeader(), floats: [], for: definition))
        let context = InferenceContext(network, batch: 2, keepAll: true)
        let input: [Float] = (0..<24).map { Float($0 - 12) / 4 }
        input.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) }
        let leaky = input.map { $0 > 0 ? $0 : 0.1 * $0 }
        XCTAssertEqual(context.tensor(of: 0).data, leaky)
        XCTAssertEqual(context.tensor(of: 1).data, leaky)
        let elu = leaky.map { Double($0) >= 0 ? Double($0) : exp(Double($0)) - 1 }
        XCTAssertLessThan(zip(context.tensor(of: 2).data, elu).map { abs(Double($0) - $1) }.max()!, 1e-6)
    }

    func testBatchEqualsImagesOneByOne() throws {
        let network = try network()
        let batch = try network.forward(input(batch: 3, seed: 5))
        for image in 0..<3 {
            let single = try network.forward(Tensor(shape: [3, 16, 16], data: Array(input(batch: 3, seed: 5).data[(image * 768)..<((image + 1) * 768)])))
            for (layer, tensor) in single {
                let count = tensor.data.count
                let slice = Array(batch[layer]!.data[(image * count)..<((image + 1) * count)])
                XCTAssertEqual(largestDifference(slice, tensor.data), 0, accuracy: 1e-5, "layer \(layer)")
            }
        }
    }

    func testImageByImageRunsKeepWhatTheyReadAlive() throws {
        // Layer 0 shares its GEMM across images; 1–2 run image by image and read layer 0 for each
        // image. Layer 2's output (1024 floats an image, read by layer 3) would otherwise take layer
        // 0's freed buffer, and copying image 0's result into it would overwrite layer 0's images 1–2.
        let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
            + "[maxpool]\nsize=2\nstride=2\n[upsample]\nstride=4\n[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=linear\n"
        let definition = try NetworkDefinition(cfg: CfgFile(text: cfg, path: "segments.cfg"))
        let network = try Network(definition: definition, weights: try RandomWeights.make(for: definition, seed: 9))
        let context = InferenceContext(network, batch: 3)
        XCTAssertEqual(context.segments.map(\.layers), [0..<1, 1..<3, 3..<4])
        XCTAssertEqual(context.segments.map(\.imageByImage), [false, true, false])
        XCTAssertEqual(context.segments[1].liveOut, [2])
        XCTAssertNotEqual(context.memoryPlan.buffer[2], context.memoryPlan.buffer[0])
        // Images 0–1 and 2 (on two cores) run side by side, each lane in one-image buffers of its own.
        XCTAssertEqual(context.lanes, min(Parallel.cores, 3))
        let laneBuffers = context.single.map { $0[context.memoryPlan.buffer[1]]! }
        XCTAssertEqual(Set(laneBuffers).count, context.lanes)
        XCTAssertEqual(Set(context.laneWorkspaces).count, context.lanes)
        var random = SplitMix64(state: 4)
        let images = (0..<(3 * 192)).map { _ in random.uniform(0, 1) }
        let batch = try network.forward(Tensor(shape: [3, 3, 8, 8], data: images))[3]!.data
        for image in 0..<3 {
            let single = try network.forward(Tensor(shape: [3, 8, 8], data: Array(images[(image * 192)..<((image + 1) * 192)])))[3]!.data
            XCTAssertEqual(largestDifference(batch[(image * 512)..<((image + 1) * 512)], single), 0, accuracy: 1e-5, "image \(image)")
        }
    }

    func testFourThreadsOnOneNetworkMatchSerialRuns() throws {
        let network = try network()
        let inputs = (0..<8).map { input(batch: 1, seed: UInt64($0)) }
        let serial = try inputs.map { try network.forward($0) }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [Int: [Int: Tensor]] = [:]
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            let context = InferenceContext(network, batch: 1)
            for index in stride(from: thread, to: inputs.count, by: 4) {
                inputs[index].data.withUnsafeBufferPointer { _ = context.forward($0.baseAddress!) }
                let outputs = Dictionary(uniqueKeysWithValues: network.outputLayers.map { ($0, context.tensor(of: $0)) })
                results.lock.withLock { results.values[index] = outputs }
            }
        }
        for index in inputs.indices {
            XCTAssertEqual(results.values[index], serial[index], "input \(index)")
        }
    }

    func testRandomWeightsAreDeterministicAndCalibrated() throws {
        let definition = try NetworkDefinition(cfg: CfgFile(text: Self.cfg, path: "mixed.cfg"))
        let a = try RandomWeights.make(for: definition, seed: 9)
        let b = try RandomWeights.make(for: definition, seed: 9)
        XCTAssertEqual(a.floats, b.floats)
        XCTAssertNotEqual(a.floats, try RandomWeights.make(for: definition, seed: 10).floats)
        let variances = a.arrays(of: 0)[3]
        XCTAssertTrue(variances.allSatisfy { $0 > 0 })
        XCTAssertFalse(variances.allSatisfy { $0 == 1 })
    }

    func testInputShapeIsChecked() throws {
        let network = try network()
        XCTAssertThrowsError(try network.forward(Tensor(shape: [3, 8, 8], data: Array(repeating: 0, count: 192)))) {
            XCTAssertEqual(($0 as? Diagnostic)?.description, "mixed.cfg: error: the input has shape [3, 8, 8]; mixed.cfg takes (3, 16, 16) or a batch of them")
        }
    }

    func testNPYRoundTripAndDamage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.npy").path
        let tensor = Tensor(shape: [2, 3, 1, 2], data: (0..<12).map { Float($0) / 3 })
        try NPYFile.write(tensor, to: path)
        XCTAssertEqual(try NPYFile.read(path), tensor)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(bytes.count, 128 + 48) // header padded to a multiple of 64 bytes
        try bytes.dropLast(4).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try NPYFile.read(path)) {
            XCTAssertEqual(($0 as? Diagnostic)?.description, "\(path): byte 128: error: shape [2, 3, 1, 2] needs more floats than the 44 bytes of data hold")
        }
        try Data("not numpy at all".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try NPYFile.read(path)) {
            XCTAssertEqual(($0 as? Diagnostic)?.description, "\(path): byte 0: error: no NumPy magic (\\x93NUMPY): not a .npy file")
        }
    }
}
