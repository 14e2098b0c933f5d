import Dispatch

/// A checked definition bound to its weights, ready to run on the CPU. Immutable: one network
/// can serve many threads, each with its own `InferenceContext`.
public final class Network: Sendable {
    public let definition: NetworkDefinition
    let parameters: ParameterStore
    /// The outputs a caller gets by default: yolo/region layers and the last layer.
    public let outputLayers: [Int]
    /// Each layer bound to its parameters with its runtime method chosen, so that a forward
    /// pass only runs them.
    let plans: [any LayerPlan]
    let header: WeightsHeader
    let winograd: WinogradKernels
    /// The convolutions that run with Winograd's F(2×2, 3×3) rather than im2col + GEMM.
    public var winogradLayers: [Int] { winograd.layers }
    /// The method each layer runs with ("" for kinds that have no choice), as `bench --layers` shows it.
    public var methods: [String] { plans.map(\.methodName) }

    /// The weights this network runs with, sharing its memory (save them with `write(to:)`).
    public var weights: NetworkWeights { NetworkWeights(header: header, storage: parameters, definition: definition) }

    /// - Parameter winograd: run the 3×3 stride-1 convolutions it pays for with Winograd's
    ///   F(2×2, 3×3) (see `WinogradKernels`); false runs every convolution as im2col + GEMM.
    /// - Parameter directConvolution: run the convolutions it applies to with `DirectConvolution`
    ///   where the processor can; false leaves them to im2col + GEMM.
    public convenience init(definition: NetworkDefinition, weights: NetworkWeights, winograd: Bool = true, directConvolution: Bool = true) throws {
        guard weights.coveredLayers == definition.layers.count else {
            throw Diagnostic(at: .file(definition.path), "the weights cover \(weights.coveredLayers) of \(definition.layers.count) layers: a prefix cannot run alone")
        }
        // The runtime reads connected weights as Darknet writes them today (outputs × inputs).
        let runnable = weights.header.transposedConnected ? weights.with(header: WeightsHeader(seen: weights.header.seen), definition: definition) : weights
        try self.init(definition: definition, parameters: runnable.storage, header: runnable.header, winograd: winograd,
                      directConvolution: directConvolution)
    }

    init(definition: NetworkDefinition, parameters: ParameterStore, header: WeightsHeader = WeightsHeader(), winograd: Bool,
         directConvolution: Bool = true) throws {
        self.definition = definition
        self.parameters = parameters
        self.header = header
        outputLayers = definition.outputLayers
        // Where each layer's arrays begin: the weights file's layout, which the plans bind to.
        let ranges = NetworkWeights.ranges(definition.layers)
        // (A layer sharing another's parameters, AlexeyAB's share_index, binds that layer's.)
        let start = { (layer: Int) in
            let owner = definition.layers[layer].spec.kind.sharedParameters ?? layer
            return parameters.pointer + (ranges[owner].first?.lowerBound ?? 0)
        }
        let winograd = WinogradKernels(definition, enabled: winograd, parameters: start)
        self.winograd = winograd
        plans = try definition.layers.map { layer in
            var binding = PlanBinding(layer: layer, path: definition.path, parameters: start(layer.index),
                                      winogradKernels: winograd.kernels(of: layer.index), directConvolution: directConvolution,
                                      dialect: definition.dialect)
            let plan = try layer.spec.kind.plan(&binding)
            // Checked here, where the plan knows what it allocates, not in the definition.
            let floats = plan.workspaceFloats(batch: 1)
            guard floats <= definition.memoryLimit / MemoryLayout<Float>.size else {
                throw Diagnostic(at: binding.location, "[\(layer.typeName)] its \(plan.methodName) workspace of \(floats) floats would need more than the memory limit of \(formatBytes(definition.memoryLimit))")
            }
            return plan
        }
    }

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
        throw Diagnostic(at: .file(definition.path), "the input has shape \(input.shape); \(definition.path) takes (\(dims.map(String.init).joined(separator: ", "))) or a batch of them")
    }
}

/// Everything one forward pass writes: the layer output buffers of a memory plan and one
/// workspace. Allocated once; `forward` allocates nothing. Not for sharing between threads.
///
/// At batch > 1 the layers run in segments. Layers whose plans run the whole batch at once
/// (`LayerPlan.runsWholeBatch`: convolutions whose images share one GEMM, connected layers) do
/// so; the runs of layers between them go image by image, so that an image's large early
/// activations may still be in cache when the next layer reads them, one image on each core at
/// a time with single-threaded GEMMs (a lane each). Such a run works in buffers for one image
/// per lane (`single`, laid out by the same memory plan) and copies only the outputs read after
/// it into the batch's buffers, which need not hold its other layers: the context is smaller,
/// and no slower.
public final class InferenceContext {
    public let network: Network
    public let batch: Int
    let memoryPlan: MemoryPlan
    let buffers: [UnsafeMutablePointer<Float>]
    let workspace: UnsafeMutablePointer<Float>
    /// Image-by-image runs take one image on each lane (a core) at a time, each lane with its
    /// own one-image buffers and workspace; lane 0's workspace is `workspace`.
    let lanes: Int
    let laneWorkspaces: [UnsafeMutablePointer<Float>]
    /// Seconds per layer while `layerSeconds` is set: the whole-batch layers', then each lane's.
    private let times: UnsafeMutablePointer<Double>
    /// Where `buffers`, `single` and `workspace` live.
    private let memory: FloatMemory
    /// Layers whose outputs survive a forward pass.
    public let keptLayers: Set<Int>
    let segments: [Segment]
    /// One image's buffers for each lane, for the buffers that image-by-image segments use (nil elsewhere).
    let single: [[UnsafeMutablePointer<Float>?]]

    struct Segment {
        let layers: Range<Int>
        let imageByImage: Bool
        /// Its layers whose outputs are read after it, or kept.
        let liveOut: [Int]
    }

    /// - Parameter keepAll: keep every layer's output (for `run --layers all`), not only the outputs.
    public init(_ network: Network, batch: Int, keepAll: Bool = false) {
        self.network = network
        self.batch = batch
        let kept = keepAll ? Set(network.definition.layers.indices) : Set(network.outputLayers)
        keptLayers = kept
        let spans = Self.segments(network, batch: batch)
        memoryPlan = MemoryPlan(network.definition, keep: { kept.contains($0) }, imageByImage: spans.filter(\.imageByImage).map(\.layers))
        segments = spans.map { [memoryPlan] span in
            Segment(layers: span.layers, imageByImage: span.imageByImage, liveOut: span.layers.filter { memoryPlan.lastUse[$0] >= span.layers.upperBound })
        }
        // A buffer holds a batch only for the layers that run on the whole batch or are copied
        // out of an image-by-image run, and one image for the layers inside such runs.
        var batchFloats = [Int](repeating: 0, count: memoryPlan.bufferFloats.count)
        var singleFloats = batchFloats
        for segment in segments {
            for index in segment.layers {
                let (buffer, count) = (memoryPlan.buffer[index], network.definition.layers[index].output.count)
                if segment.imageByImage { singleFloats[buffer] = max(singleFloats[buffer], count) }
                if !segment.imageByImage || segment.liveOut.contains(index) { batchFloats[buffer] = max(batchFloats[buffer], count) }
            }
        }
        let workspaceFloats = network.plans.map { $0.workspaceFloats(batch: batch) }.max() ?? 0
        let imageWorkspaceFloats = network.plans.map { $0.workspaceFloats(batch: 1) }.max() ?? 0
        let lanes = segments.contains(where: \.imageByImage) ? min(Parallel.cores, batch) : 1
        self.lanes = lanes
        // One allocation carved into every buffer, each starting on a cache line.
        let laneSizes = (1..<max(lanes, 1)).flatMap { _ in singleFloats + [imageWorkspaceFloats] }
        let sizes = batchFloats.map { $0 * batch } + singleFloats + [workspaceFloats] + laneSizes
        let offsets = sizes.reduce(into: [0]) { $0.append($0.last! + ($1 + 15) / 16 * 16) }
        memory = FloatMemory(count: offsets.last!)
        let base = memory.floats
        buffers = batchFloats.indices.map { base + offsets[$0] }
        let laneStarts = (0..<lanes).map { batchFloats.count + $0 * (singleFloats.count + 1) }
        single = laneStarts.map { start in singleFloats.indices.map { singleFloats[$0] > 0 ? base + offsets[start + $0] : nil } }
        workspace = base + offsets[batchFloats.count + singleFloats.count]
        laneWorkspaces = laneStarts.map { base + offsets[$0 + singleFloats.count] }
        times = .allocate(capacity: (lanes + 1) * network.definition.layers.count)
    }

    deinit { times.deallocate() }

    /// Bytes this context holds (layer buffers, each lane's one-image buffers and workspace).
    public var bytes: Int { memory.count * 4 }

    /// Consecutive layers grouped by whether they need the whole batch at once.
    static func segments(_ network: Network, batch: Int) -> [(layers: Range<Int>, imageByImage: Bool)] {
        let layers = network.definition.layers
        func wholeBatch(_ layer: Layer) -> Bool { batch == 1 || network.plans[layer.index].runsWholeBatch(batch) }
        var segments: [(layers: Range<Int>, imageByImage: Bool)] = []
        var first = 0
        while first < layers.count {
            let kind = wholeBatch(layers[first])
            var end = first + 1
            while end < layers.count && wholeBatch(layers[end]) == kind { end += 1 }
            segments.append((first..<end, !kind))
            first = end
        }
        return segments
    }

    func output(of layer: Int) -> UnsafeMutablePointer<Float> { buffers[memoryPlan.buffer[layer]] }

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

    /// `calibrate` (RandomWeights) runs at batch 1: at batch > 1 the layers inside image-by-image
    /// runs have no batch buffers to hold the whole batch's raw outputs.
    @discardableResult
    func forward(_ input: UnsafePointer<Float>, calibrate: ConvolutionPlan.Calibrator?) -> [Int] {
        precondition(calibrate == nil || batch == 1, "calibration runs at batch 1")
        let layers = network.definition.layers
        // When timing, one row of seconds for the whole-batch layers, then one for each lane.
        let timing = layerSeconds != nil
        if timing { times.update(repeating: 0, count: (lanes + 1) * layers.count) }
        for segment in segments {
            guard segment.imageByImage else {
                for index in segment.layers {
                    run(layers[index], input: index == 0 ? input : UnsafePointer(output(of: index - 1)), batch: batch,
                        outputs: output(of:), workspace: workspace, seconds: timing ? times : nil, calibrate: calibrate)
                }
                continue
            }
            // Each lane writes its own images of the batch buffers and its own one-image buffers.
            // (a nested function, passed on non-escaping: nothing is allocated per segment)
            func runLanes() {
                Parallel.forEach(batch, work: Int.max) { lane, images in
                    for image in images { runImage(image, segment, input, lane: lane, seconds: timing ? times + (lane + 1) * layers.count : nil) }
                }
            }
            if lanes > 1 { BLAS.singleThreaded(runLanes) } else { runLanes() }
        }
        // The lanes run side by side: an image-by-image layer's time is the mean of the lanes'.
        if timing {
            layerSeconds = layers.indices.map { index in
                times[index] + (1...lanes).reduce(0) { $0 + times[$1 * layers.count + index] } / Double(lanes)
            }
        }
        return network.outputLayers
    }

    /// One image through an image-by-image segment on `lane`.
    private func runImage(_ image: Int, _ segment: Segment, _ input: UnsafePointer<Float>, lane: Int, seconds: UnsafeMutablePointer<Double>?) {
        let layers = network.definition.layers
        // This image's slice of a batch buffer, or the lane's one-image buffer inside the segment
        // (a nested function, passed on non-escaping: nothing is allocated per image).
        func outputs(_ index: Int) -> UnsafeMutablePointer<Float> {
            segment.layers.contains(index) ? single[lane][memoryPlan.buffer[index]]! : output(of: index) + image * layers[index].output.count
        }
        for index in segment.layers {
            run(layers[index], input: index == 0 ? input + image * layers[0].input.count : UnsafePointer(outputs(index - 1)),
                batch: 1, outputs: outputs, workspace: laneWorkspaces[lane], seconds: seconds, calibrate: nil)
        }
        for index in segment.liveOut {
            let count = layers[index].output.count
            (output(of: index) + image * count).update(from: outputs(index), count: count)
        }
    }

    /// When set (to an array of one entry per layer), each forward pass records each layer's time.
    public var layerSeconds: [Double]?

    /// Runs `layer` on `batch` images; `outputs` gives where a layer's output for them is.
    private func run(_ layer: Layer, input: UnsafePointer<Float>, batch: Int, outputs: (Int) -> UnsafeMutablePointer<Float>,
                     workspace: UnsafeMutablePointer<Float>, seconds: UnsafeMutablePointer<Double>?, calibrate: ConvolutionPlan.Calibrator?) {
        let start = seconds == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        defer { if let seconds { seconds[layer.index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 } }
        let pass = ForwardPass(input: input, output: outputs(layer.index), batch: batch, workspace: workspace, calibrate: calibrate)
        network.plans[layer.index].forward(pass, sources: outputs)
    }
}
