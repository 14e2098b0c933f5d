/// The graph an export builds, layer by layer: each kind's `emitONNX` adds the nodes that
/// compute its layer from the values of the layers it reads, and returns the value holding its
/// output (see `ONNXExport`). Values are tensors (batch, c, h, w), the batch first in every one.
struct ONNXGraph {
    private(set) var nodes: [ONNX.Node] = []
    private(set) var initializers: [ONNX.Tensor] = []
    /// The layer being emitted.
    private(set) var layer: Layer
    let path: String
    /// Which batch-norm formula folds into the weights: the runtime's for the definition.
    let dialect: Dialect
    /// The operator set the file imports (some operators take their axes differently across them).
    let opset: Int
    /// The value holding each emitted layer's output.
    private var values: [String] = []
    /// The current layer's floats in the weights file not yet taken.
    private var parameters: ArraySlice<Float> = []
    /// Names made in the current layer so far.
    private var made = 0

    /// The name of the network's input.
    static let inputName = "input"
    /// The name of layer `index`'s output, `layer_NNN` as `run` names its files.
    static func outputName(_ index: Int) -> String { String(printf: "layer_%03d", index) }

    init(first: Layer, path: String, dialect: Dialect, opset: Int) {
        layer = first
        self.path = path
        self.dialect = dialect
        self.opset = opset
    }

    // MARK: What an emitter reads

    /// The value the layer reads by default: the previous layer's output, or the network's input.
    var input: String { layer.index == 0 ? Self.inputName : values[layer.index - 1] }

    /// The value holding an earlier layer's output.
    func output(of index: Int) -> String { values[index] }

    /// The layer's next `arrays`, by role, in the order of its `weightArrays` (as `PlanBinding.take`).
    mutating func take(_ arrays: [WeightArray]) -> [WeightArray.Role: [Float]] {
        var bound: [WeightArray.Role: [Float]] = [:]
        for array in arrays {
            precondition(bound[array.role] == nil, "one array per role")
            bound[array.role] = Array(parameters.prefix(array.count))
            parameters = parameters.dropFirst(array.count)
        }
        return bound
    }

    /// An error at the layer's section: what in it ONNX cannot express.
    func error(_ message: String) -> Diagnostic {
        Diagnostic(at: .line(file: path, line: layer.line), "[\(layer.typeName)] \(message)")
    }

    // MARK: Layer by layer (ONNXExport)

    /// Emits `next`, whose arrays are `parameters`, and names its output `layer_NNN`: the last
    /// node of the layer writes it directly where it can, an Identity otherwise (a layer that
    /// passes its input through).
    mutating func emit(_ next: Layer, parameters: [Float]) throws {
        layer = next
        self.parameters = parameters[...]
        made = 0
        let firstNode = nodes.count
        let value = try next.spec.kind.emitONNX(&self)
        let name = Self.outputName(next.index)
        if nodes.count > firstNode, nodes[nodes.count - 1].outputs == [value] {
            nodes[nodes.count - 1].outputs = [name]
        } else {
            _ = node("Identity", [value], output: name)
        }
        values.append(name)
    }

    // MARK: Building blocks

    private mutating func fresh(_ what: String) -> String {
        made += 1
        return Self.outputName(layer.index) + "/\(made)_" + what
    }

    /// Adds a node and returns its output.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ attributes: [ONNX.Attribute] = [], output: String? = nil) -> String {
        let name = output ?? fresh(op)
        nodes.append(ONNX.Node(opType: op, inputs: inputs, outputs: [name], name: name, attributes: attributes))
        return name
    }

    mutating func constant(_ floats: [Float], _ dimensions: [Int], _ what: String = "constant") -> String {
        let name = fresh(what)
        initializers.append(ONNX.Tensor(name: name, dimensions: dimensions, floats: floats))
        return name
    }

    mutating func constant(int64s: [Int], _ what: String = "indices") -> String {
        let name = fresh(what)
        initializers.append(ONNX.Tensor(name: name, dimensions: [int64s.count], int64s: int64s))
        return name
    }

    mutating func constant(bools: [Bool], _ dimensions: [Int], _ what: String = "mask") -> String {
        let name = fresh(what)
        initializers.append(ONNX.Tensor(name: name, dimensions: dimensions, bools: bools))
        return name
    }

    /// A rank-0 float (Clip's bounds, factors broadcast over a tensor).
    mutating func scalar(_ value: Float) -> String { constant([value], [], "scalar") }

    /// x·factor, or x itself for a factor of 1.
    mutating func scaled(_ x: String, _ factor: Float) -> String {
        factor == 1 ? x : node("Mul", [x, scalar(factor)])
    }

    /// x reshaped to (batch, dimensions…), whatever the batch.
    mutating func reshape(_ x: String, _ dimensions: [Int]) -> String {
        node("Reshape", [x, constant(int64s: [-1] + dimensions, "shape")])
    }

    /// Elements `range` (every `step`-th) of x along `axis`.
    mutating func slice(_ x: String, axis: Int, _ range: Range<Int>, step: Int = 1) -> String {
        node("Slice", [x, constant(int64s: [range.lowerBound], "starts"), constant(int64s: [range.upperBound], "ends"),
                       constant(int64s: [axis], "axes"), constant(int64s: [step], "steps")])
    }

    /// Zeros (or `value`) added before and after each axis of x: `before` and `after` per axis.
    mutating func pad(_ x: String, before: [Int], after: [Int], value: Float = 0) -> String {
        node("Pad", [x, constant(int64s: before + after, "pads"), scalar(value)])
    }

    /// The reduction `op` (ReduceSum, ReduceMax…) of x along `axis`: its axes an input from
    /// opset 13 for ReduceSum, from 18 for the others, an attribute before.
    mutating func reduce(_ op: String, _ x: String, axis: Int, keepDimensions: Bool = true) -> String {
        let keep = ONNX.Attribute.int("keepdims", keepDimensions ? 1 : 0)
        guard opset >= (op == "ReduceSum" ? 13 : 18) else { return node(op, [x], [.ints("axes", [axis]), keep]) }
        return node(op, [x, constant(int64s: [axis], "axes")], [keep])
    }

    /// A convolution's nodes: Conv with its batch-norm folded into kernels and bias, then its
    /// activation and channel normalization. Takes the convolution's arrays (`parameterArrays`,
    /// an earlier layer's for `share_index`, which `ONNXExport` hands it) from the weights.
    mutating func convolution(_ conv: Convolutional, _ x: String) -> String {
        let (kernels, biases) = folded(take(conv.parameterArrays), outputs: conv.filters)
        let w = constant(kernels, [conv.filters, conv.input.channels / conv.groups, conv.size, conv.size], "kernels")
        let b = constant(biases, [conv.filters], "biases")
        let p = conv.padding
        let y = node("Conv", [x, w, b], [
            .ints("kernel_shape", [conv.size, conv.size]), .ints("strides", [conv.strideY, conv.stride]),
            .ints("pads", [p, p, p, p]), .ints("dilations", [conv.dilation, conv.dilation]), .int("group", conv.groups),
        ])
        let activated = activation(conv.activation, y)
        return conv.channelNormalization.map { normalizeChannels($0, activated) } ?? activated
    }

    /// AlexeyAB's `normalize_channels*` across axis 1 (`Kernels.normalizeChannels`): each
    /// pixel's max(x, 0), e^x or e^(x − max) over 1e-4 plus their sum.
    mutating func normalizeChannels(_ normalization: ChannelNormalization, _ x: String) -> String {
        let terms: String
        switch normalization {
        case .normalizeChannels: terms = node("Relu", [x])
        case .softmax: terms = node("Exp", [x])
        case .softmaxMaxValue: terms = node("Exp", [node("Sub", [x, reduce("ReduceMax", x, axis: 1)])])
        }
        return node("Div", [terms, node("Add", [reduce("ReduceSum", terms, axis: 1), scalar(1e-4)])])
    }

    /// The weights and biases of a convolution or connected layer with `outputs` outputs, with
    /// its batch-norm, if any, folded in: each output's weights times the runtime's multiplier
    /// and its shift as bias (`Kernels.normalization`, which holds the formula and epsilon).
    func folded(_ arrays: [WeightArray.Role: [Float]], outputs: Int) -> (weights: [Float], biases: [Float]) {
        var (weights, biases) = (arrays[.weights]!, arrays[.normBias] ?? arrays[.bias]!)
        guard let scales = arrays[.normScale], let mean = arrays[.rollingMean], let variance = arrays[.rollingVariance] else {
            return (weights, biases)
        }
        let perOutput = weights.count / outputs
        for o in 0..<outputs {
            let (multiplier, shift) = Kernels.normalization(scale: scales[o], mean: mean[o], variance: variance[o], bias: biases[o], dialect: dialect)
            for i in (o * perOutput)..<((o + 1) * perOutput) { weights[i] *= multiplier }
            biases[o] = shift
        }
        return (weights, biases)
    }

    /// Darknet's activation of x (`Activation.callAsFunction`), in ONNX operators.
    mutating func activation(_ activation: Activation, _ x: String) -> String {
        switch activation {
        case .linear: return x
        case .leaky: return node("LeakyRelu", [x], [.float("alpha", 0.1)])
        case .relie: return node("LeakyRelu", [x], [.float("alpha", 0.01)])
        case .logistic: return node("Sigmoid", [x])
        case .relu: return node("Relu", [x])
        case .elu: return node("Elu", [x], [.float("alpha", 1)])
        case .selu: return node("Selu", [x], [.float("alpha", 1.6732), .float("gamma", 1.0507)])
        case .ramp: return node("Add", [node("Relu", [x]), scaled(x, 0.1)])
        case .tanh: return node("Tanh", [x])
        case .hardtan: return clip(x, -1, 1)
        case .relu6: return clip(x, 0, 6)
        case .plse: return piecewiseLinear(x, low: -4, high: 4, slope: 0.125, offset: 0.5, outerSlope: 0.01)
        case .lhtan: return piecewiseLinear(x, low: 0, high: 1, slope: 1, offset: 0, outerSlope: 0.001)
        case .loggy: return node("Sub", [scaled(node("Sigmoid", [x]), 2), scalar(1)])
        case .swish: return node("Mul", [x, node("Sigmoid", [x])])
        case .mish: return node("Mul", [x, node("Tanh", [node("Softplus", [x])])])
        case .gelu: // 0.5·x·(1 + tanh(0.797885·x + 0.035677·x³)), AlexeyAB's constants
            let cube = node("Mul", [node("Mul", [x, x]), x])
            let inner = node("Add", [scaled(x, 0.797885), scaled(cube, 0.035677)])
            return node("Mul", [scaled(x, 0.5), node("Add", [node("Tanh", [inner]), scalar(1)])])
        case .hardMish: // relu(x) + c²/2 + c with c = x clipped to [−2, 0]
            let c = clip(x, -2, 0)
            return node("Add", [node("Relu", [x]), node("Add", [scaled(node("Mul", [c, c]), 0.5), c])])
        case .stair:
            // n = ⌊x⌋, h = ⌊x/2⌋: h for even n, h + (x − n) for odd n, odd being n − 2h.
            let n = node("Floor", [x])
            let h = node("Floor", [scaled(x, 0.5)])
            let odd = node("Sub", [n, scaled(h, 2)])
            return node("Add", [h, node("Mul", [odd, node("Sub", [x, n])])])
        }
    }

    private mutating func clip(_ x: String, _ low: Float, _ high: Float) -> String {
        node("Clip", [x, scalar(low), scalar(high)])
    }

    /// slope·c + offset + outerSlope·(x − c), c = x clipped to [low, high]: plse and lhtan.
    private mutating func piecewiseLinear(_ x: String, low: Float, high: Float, slope: Float, offset: Float, outerSlope: Float) -> String {
        let c = clip(x, low, high)
        let inner = offset == 0 ? scaled(c, slope) : node("Add", [scaled(c, slope), scalar(offset)])
        return node("Add", [inner, scaled(node("Sub", [x, c]), outerSlope)])
    }
}
