import Foundation

/// A checked definition bound to its weights, ready to run on the CPU. Immutable: one network
/// can serve many threads, each with its own `InferenceContext`.
public final class Network: Sendable {
    public let definition: NetworkDefinition
    let parameters: ParameterStore
    /// Where each layer's arrays start in `parameters`.
    let offsets: [Int]
    /// The outputs a caller gets by default: yolo/region layers and the last layer.
    public let outputLayers: [Int]
    /// res2net and triangle layers bound to their parameters once, so a forward pass allocates nothing.
    let blocks: [Int: Res2NetBlock]
    let header: WeightsHeader
    let winograd: WinogradKernels
    /// The convolutions that run with Winograd's F(2×2, 3×3) rather than im2col + GEMM.
    public var winogradLayers: [Int] { winograd.layers }

    /// The weights this network runs with, sharing its memory (save them with `write(to:)`).
    public var weights: NetworkWeights { NetworkWeights(header: header, storage: parameters, definition: definition) }

    /// - Parameter winograd: run the 3×3 stride-1 convolutions it pays for with Winograd's
    ///   F(2×2, 3×3) (see `WinogradKernels`); false runs every convolution as im2col + GEMM.
    public convenience init(definition: NetworkDefinition, weights: NetworkWeights, winograd: Bool = true) throws {
        guard weights.coveredLayers == definition.layers.count else {
            throw Diagnostic(at: .file(definition.path), "the weights cover \(weights.coveredLayers) of \(definition.layers.count) layers: a prefix cannot run alone")
        }
        // The runtime reads connected weights as Darknet writes them today (outputs × inputs).
        let runnable = weights.header.transposedConnected ? weights.with(header: WeightsHeader(), definition: definition) : weights
        try self.init(definition: definition, parameters: runnable.storage, header: runnable.header, winograd: winograd)
    }

    init(definition: NetworkDefinition, parameters: ParameterStore, header: WeightsHeader = WeightsHeader(), winograd: Bool) throws {
        for layer in definition.layers {
            if case .region(let region) = layer.spec, region.tree != nil {
                throw Diagnostic(at: .line(file: definition.path, line: layer.line), "[region] tree=\(region.tree!): hierarchical (YOLO9000) softmax is not supported at inference")
            }
        }
        self.definition = definition
        self.parameters = parameters
        self.header = header
        var offset = 0
        offsets = definition.layers.map { layer in
            defer { offset += layer.storedFloats }
            return offset
        }
        var outputs = definition.layers.filter {
            switch $0.spec { case .yolo, .region: true; default: false }
        }.map(\.index)
        if outputs.last != definition.layers.count - 1 { outputs.append(definition.layers.count - 1) }
        outputLayers = outputs
        var blocks: [Int: Res2NetBlock] = [:]
        for (layer, offset) in zip(definition.layers, offsets) {
            switch layer.spec {
            case .res2net(let spec): blocks[layer.index] = Res2NetBlock(split: spec.split, residual: spec.expand, parameters: parameters.pointer + offset)
            case .triangle(let spec): blocks[layer.index] = Res2NetBlock(split: spec.split, residual: nil, parameters: parameters.pointer + offset)
            default: break
            }
        }
        self.blocks = blocks
        self.winograd = WinogradKernels(definition, enabled: winograd) { [offsets] in UnsafePointer(parameters.pointer + offsets[$0]) }
    }

    func parameters(of layer: Int) -> UnsafeMutablePointer<Float> { parameters.pointer + offsets[layer] }

    /// Runs one input (C, H, W) or batch (B, C, H, W) and returns the output layers' tensors.
    public func forward(_ input: Tensor) throws -> [Int: Tensor] {
        let batch = try checkInput(input)
        let context = InferenceContext(self, batch: batch)
        return input.data.withUnsafeBufferPointer { context.forward($0.baseAddress!) }
            .reduce(into: [:]) { $0[$1] = context.tensor(of: $1) }
    }

    /// The batch size of an input tensor, or an error naming what was expected.
    public func checkInput(_ input: Tensor) throws -> Int {
        let expected = definition.input
        let dims = [expected.channels, expected.height, expected.width]
        if input.shape == dims { return 1 }
        if input.shape.count == 4, Array(input.shape.dropFirst()) == dims, input.shape[0] >= 1 { return input.shape[0] }
        throw Diagnostic(at: .file(definition.path), "the input has shape \(input.shape); the network takes (\(dims.map(String.init).joined(separator: ", "))) or a batch of them")
    }
}

/// Everything one forward pass writes: the layer output buffers of a memory plan and one
/// im2col workspace. Allocated once; `forward` allocates nothing. Not for sharing between threads.
public final class InferenceContext {
    public let network: Network
    public let batch: Int
    let plan: MemoryPlan
    let buffers: [UnsafeMutablePointer<Float>]
    let workspace: UnsafeMutablePointer<Float>
    let workspaceFloats: Int
    /// Layers whose outputs survive a forward pass.
    public let keptLayers: Set<Int>

    /// - Parameter keepAll: keep every layer's output (for `run --layers all`), not only the outputs.
    public init(_ network: Network, batch: Int, keepAll: Bool = false) {
        self.network = network
        self.batch = batch
        let kept = keepAll ? Set(network.definition.layers.indices) : Set(network.outputLayers)
        keptLayers = kept
        plan = MemoryPlan(network.definition) { kept.contains($0) }
        buffers = plan.bufferFloats.map { UnsafeMutablePointer<Float>.allocate(capacity: $0 * batch) }
        workspaceFloats = network.definition.layers.map { layer in
            Self.workspaceFloats(layer, winograd: network.winograd.kernels(of: layer.index) != nil, batch: batch)
        }.max() ?? 0
        workspace = .allocate(capacity: max(workspaceFloats, 1))
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        workspace.deallocate()
    }

    /// Bytes this context holds (layer buffers and workspace).
    public var bytes: Int {
        (plan.bufferFloats.reduce(0, +) * batch + workspaceFloats) * 4
    }

    static func workspaceFloats(_ layer: Layer, winograd: Bool, batch: Int) -> Int {
        switch layer.spec {
        case .convolutional(let conv):
            return winograd ? Winograd.workspaceFloats(conv) : conv.columnFloats(batch: batch)
        case .res2net(let block):
            return Res2NetBlock.workspaceFloats(block.split, residual: block.expand)
        case .triangle(let block):
            return Res2NetBlock.workspaceFloats(block.split, residual: nil)
        default:
            return 0
        }
    }

    func output(of layer: Int) -> UnsafeMutablePointer<Float> { buffers[plan.buffer[layer]] }

    /// A copy of a kept layer's output from the last forward pass.
    public func tensor(of layer: Int) -> Tensor {
        precondition(keptLayers.contains(layer), "layer \(layer)'s output is not kept by this context")
        let shape = network.definition.layers[layer].output
        let dims = [shape.channels, shape.height, shape.width]
        let data = Array(UnsafeBufferPointer(start: output(of: layer), count: shape.count * batch))
        return Tensor(shape: batch == 1 ? dims : [batch] + dims, data: data)
    }

    /// Runs the network on `batch` images at `input` (B×C×H×W floats). Returns the kept
    /// output layers; read them with `tensor(of:)`.
    @discardableResult
    public func forward(_ input: UnsafePointer<Float>) -> [Int] {
        forward(input, calibrate: nil)
    }

    @discardableResult
    func forward(_ input: UnsafePointer<Float>, calibrate: Convolution.Calibrator?) -> [Int] {
        for layer in network.definition.layers {
            let source = layer.index == 0 ? input : UnsafePointer(output(of: layer.index - 1))
            let start = layerSeconds == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            run(layer, input: source, output: output(of: layer.index), calibrate: calibrate)
            if layerSeconds != nil { layerSeconds![layer.index] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        }
        return network.outputLayers
    }

    /// When set (to an array of one entry per layer), each forward pass records each layer's time.
    public var layerSeconds: [Double]?

    private func run(_ layer: Layer, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, calibrate: Convolution.Calibrator?) {
        let parameters = network.parameters(of: layer.index)
        let inCount = layer.input.count, outCount = layer.output.count
        switch layer.spec {
        case .convolutional(let spec):
            Convolution(spec, parameters: parameters, winogradKernels: network.winograd.kernels(of: layer.index)).forward(input, output, batch: batch, workspace: workspace, calibrate: calibrate)
        case .connected(let spec):
            Layers.connected(spec, parameters, input, output, batch: batch)
        case .maxpool(let spec):
            for image in 0..<batch { Layers.maxpool(spec, input + image * inCount, output + image * outCount) }
        case .avgpool(let spec):
            let spatial = spec.input.height * spec.input.width
            for plane in 0..<(batch * spec.input.channels) {
                var sum: Float = 0
                for i in 0..<spatial { sum += input[plane * spatial + i] }
                output[plane] = sum / Float(spatial)
            }
        case .route(let spec):
            var offset = 0
            for source in spec.layers {
                let count = network.definition.layers[source].output.count
                Layers.route(spec, source: self.output(of: source), count: count, into: output + offset, outCount: outCount, batch: batch)
                offset += count / spec.groups
            }
        case .shortcut(let spec):
            Layers.shortcut(spec, input: input, add: self.output(of: spec.from), output, batch: batch)
        case .upsample(let spec):
            for image in 0..<batch { Layers.upsample(spec, input + image * inCount, output + image * outCount) }
        case .yolo(let spec):
            output.update(from: input, count: batch * outCount)
            Layers.yolo(spec, output, batch: batch)
        case .region(let spec):
            output.update(from: input, count: batch * outCount)
            Layers.region(spec, output, batch: batch)
        case .reorg(let spec):
            for image in 0..<batch { Layers.reorg(spec, input + image * inCount, output + image * outCount) }
        case .softmax(let spec):
            let n = outCount / spec.groups
            for slice in 0..<(batch * spec.groups) {
                Kernels.softmax(input + slice * n, n: n, stride: 1, temperature: spec.temperature, output: output + slice * n)
            }
        case .dropout, .cost:
            output.update(from: input, count: batch * outCount)
        case .batchnorm:
            let c = layer.output.channels
            output.update(from: input, count: batch * outCount)
            for image in 0..<batch {
                Kernels.batchNorm(output + image * outCount, channels: c, spatial: outCount / c, scales: parameters,
                                  mean: parameters + c, variance: parameters + 2 * c, biases: nil)
            }
        case .res2net, .triangle:
            network.blocks[layer.index]!.forward(input, output, batch: batch, workspace: workspace, calibrate: calibrate)
        }
    }
}
