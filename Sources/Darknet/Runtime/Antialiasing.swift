/// AlexeyAB's antialiased convolution (`forward_convolutional_layer` with `antialiasing`): the
/// convolution at stride 1 into the workspace, then its fixed depthwise blur with the strides.
struct AntialiasedConvolutionPlan: LayerPlan, @unchecked Sendable {
    let convolution: ConvolutionPlan
    let blur: ConvolutionPlan
    /// The blur's zero biases and fixed weights.
    private let blurParameters: FloatMemory

    init(_ convolution: ConvolutionPlan, blur spec: Convolutional) {
        let arrays = spec.parameterArrays
        let memory = FloatMemory(count: arrays.reduce(0) { $0 + $1.count }, populate: true)
        let parameters = BoundParameters(arrays, at: memory.floats)
        parameters.biases.update(repeating: 0, count: spec.filters)
        let taps = spec.blurTaps
        for c in 0..<spec.filters { (parameters[.weights]! + c * taps.count).update(from: taps, count: taps.count) }
        self.convolution = convolution
        // The blur is depthwise, which the direct kernel does not take.
        self.blur = ConvolutionPlan(spec, parameters: parameters, dialect: convolution.dialect, direct: false)
        blurParameters = memory
    }

    var methodName: String { convolution.methodName + " + blur" }

    func workspaceFloats(batch: Int) -> Int {
        batch * convolution.floatsPerImage + max(convolution.workspaceFloats(batch: batch), blur.workspaceFloats(batch: batch))
    }

    func runsWholeBatch(_ batch: Int) -> Bool { convolution.runsWholeBatch(batch) }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        let full = pass.workspace, scratch = pass.workspace + pass.batch * convolution.floatsPerImage
        convolution.forward(pass.input, full, batch: pass.batch, workspace: scratch, calibrate: pass.calibrate)
        blur.forward(full, pass.output, batch: pass.batch, workspace: scratch)
    }
}

extension AntialiasedConvolutionPlan {
    func trainer() throws -> any LayerTrainer {
        throw TrainingUnsupported(reason: "[convolutional] antialiasing has no backward pass yet")
    }
}
