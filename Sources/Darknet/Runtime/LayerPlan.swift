/// One layer ready to run: its kind bound to its parameters, with every runtime choice made
/// once, when the network is built (`Kind.plan`). Its training half is `trainer()`, which
/// each kind answers in `Runtime/<Kind>+Backward.swift`.
protocol LayerPlan: Sendable {
    /// The method chosen for the layer, shown by `bench --layers` ("" where there is no choice).
    var methodName: String { get }
    /// Scratch floats a forward pass over `batch` images needs.
    func workspaceFloats(batch: Int) -> Int
    /// Whether a batch of this many images runs through the layer at once (one GEMM), rather
    /// than image by image with the layers around it (see `InferenceContext`).
    func runsWholeBatch(_ batch: Int) -> Bool
    /// Runs the layer on `pass.batch` images; `sources` gives where an earlier layer's output is.
    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>)
    /// The layer's forward-in-training, backward and update (`LayerTrainer`), or
    /// `TrainingUnsupported` for a kind or setting without a backward pass (`untrainable`).
    func trainer() throws -> any LayerTrainer
}

extension LayerPlan {
    var methodName: String { "" }
    func workspaceFloats(batch: Int) -> Int { 0 }
    func runsWholeBatch(_ batch: Int) -> Bool { false }
}

/// What a layer's forward pass reads and writes: pointers to `batch` images of its input and
/// output (contiguous, NCHW), the context's workspace, and the calibration hook of `RandomWeights`.
struct ForwardPass {
    let input: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let batch: Int
    let workspace: UnsafeMutablePointer<Float>
    let calibrate: ConvolutionPlan.Calibrator?

    /// Runs `body` on each image's input (of `input`'s shape) and output (of `output`'s).
    func eachImage(_ input: Shape, _ output: Shape, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        for image in 0..<batch { body(self.input + image * input.count, self.output + image * output.count) }
    }
}

/// What `Kind.plan` gets when the network is built: the layer's place, its parameters (taken
/// from the store in file order), and the network-wide choices that concern it.
struct PlanBinding {
    let layer: Layer
    let path: String
    /// The next unbound float of the parameter store.
    private var next: UnsafeMutablePointer<Float>
    /// The Winograd kernels the network transformed for this layer, if it chose Winograd for it.
    let winogradKernels: UnsafePointer<Float>?
    /// Whether convolutions may run with `DirectConvolution`.
    let directConvolution: Bool
    /// The network's dialect: whose batch-norm formula the plans compute.
    let dialect: Dialect

    init(layer: Layer, path: String, parameters: UnsafeMutablePointer<Float>, winogradKernels: UnsafePointer<Float>?,
         directConvolution: Bool, dialect: Dialect) {
        self.layer = layer
        self.dialect = dialect
        self.path = path
        self.next = parameters
        self.winogradKernels = winogradKernels
        self.directConvolution = directConvolution
    }

    /// The next `arrays` of the store, bound by role.
    mutating func take(_ arrays: [WeightArray]) -> BoundParameters {
        defer { next += arrays.reduce(0) { $0 + $1.count } }
        return BoundParameters(arrays, at: next)
    }

    var location: SourceLocation { .line(file: path, line: layer.line) }
}

/// A layer's parameter arrays (its `weightArrays`) bound to where they lie, found by role.
struct BoundParameters: @unchecked Sendable {
    private let pointers: [WeightArray.Role: UnsafeMutablePointer<Float>]

    /// `arrays` laid out one after the other from `base`, in their order.
    init(_ arrays: [WeightArray], at base: UnsafeMutablePointer<Float>) {
        var pointers: [WeightArray.Role: UnsafeMutablePointer<Float>] = [:]
        var next = base
        for array in arrays {
            precondition(pointers[array.role] == nil, "one array per role")
            pointers[array.role] = next
            next += array.count
        }
        self.pointers = pointers
    }

    subscript(role: WeightArray.Role) -> UnsafeMutablePointer<Float>? { pointers[role] }

    /// The biases a layer adds: batch-norm's β with batch-norm, else the plain bias.
    var biases: UnsafeMutablePointer<Float> { (pointers[.normBias] ?? pointers[.bias])! }
}
