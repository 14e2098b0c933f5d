@testable import Darknet
import XCTest

/// Gradient checks of `[res2net]`, `[triangle]` and the kinds of the shipped cfgs (YOLOv5's
/// classifier, MobileNetV2's depthwise convolutions), and one step of each shipped cfg that trains.
extension TrainingTests {
    /// Every batch-norm of the case with the variance's true gradient (see testBatchNormGradients).
    func useTrueBatchNormGradients(_ c: Case) {
        for index in c.trainer.network.definition.layers.indices {
            switch c.trainer.trainer(of: index) {
            case let convolution as ConvolutionTrainer: convolution.product.norm?.darknetVarianceGradient = false
            case let connected as ConnectedTrainer: connected.product.norm?.darknetVarianceGradient = false
            case let block as SplitBlockTrainer:
                for convolution in block.convolutionTrainers { convolution.product.norm?.darknetVarianceGradient = false }
            default: break // kinds without batch-norm
            }
        }
    }

    /// Weights, scales and biases of each of block `layer`'s convolutions, in file order.
    func blockArrays(_ c: Case, _ layer: Int, _ name: String) -> [(String, TrainedArray)] {
        let block = c.trainer.trainer(of: layer) as! SplitBlockTrainer
        return block.convolutionTrainers.enumerated().flatMap { i, convolution in
            [("\(name).conv\(i).weights", convolution.product.weights), ("\(name).conv\(i).scales", convolution.product.norm!.scales),
             ("\(name).conv\(i).biases", convolution.product.biases)]
        }
    }

    /// res2net (width 2, scale 3: two inner convolutions, the second after a sum) and triangle
    /// (scale 4), each after a conv whose delta comes through the block (and res2net's residual).
    /// Leaky's kink under batch-norm makes central differences jump where a value lies within
    /// the step of 0; these seeds and steps are ones where none does (testSplitBlocksEqualTheirLayers
    /// covers any seed).
    func testRes2NetAndTriangleGradients() throws {
        for (section, seed, step) in [("[res2net]\nplanes=4\nbase_width=32\nscale=3\n", UInt64(2), Float(1e-2)),
                                      ("[triangle]\nplanes=4\nbase_width=32\nscale=4\n", 4, 3e-3)] {
            let c = try makeCase(conv(8, "tanh") + section + "[cost]\n", input: (2, 4, 4), seed: seed)
            useTrueBatchNormGradients(c)
            checkGradients(c, [("conv0.weights", convolution(c, 0).weights)] + blockArrays(c, 1, String(section.dropFirst().prefix(7))),
                           loss: .squaredError, step: step)
        }
    }

    /// Each block's gradients (Darknet's batch-norm backward) are those of the same block
    /// written as layers: a 1×1 conv, route groups, 3×3 convs, shortcuts for the sums, a route
    /// for the concatenation and (res2net) the closing conv and a shortcut, on the same weights.
    func testSplitBlocksEqualTheirLayers() throws {
        let res2net = conv(6, size: 1, bn: true, "leaky") + "[route]\nlayers=-1\ngroups=3\ngroup_id=0\n" + conv(2, bn: true, "leaky")
            + "[route]\nlayers=-3\ngroups=3\ngroup_id=1\n" + "[shortcut]\nfrom=-2\nactivation=linear\n" + conv(2, bn: true, "leaky")
            + "[route]\nlayers=-6\ngroups=3\ngroup_id=2\n" + "[route]\nlayers=-5,-2,-1\n" + conv(8, size: 1, bn: true)
            + "[shortcut]\nfrom=-10\nactivation=linear\n"
        let triangle = conv(4, size: 1, bn: true, "leaky") + "[route]\nlayers=-1\ngroups=2\ngroup_id=0\n" + conv(2, bn: true, "leaky")
            + "[route]\nlayers=-3\ngroups=2\ngroup_id=1\n" + "[route]\nlayers=-2,-1\n"
        for (block, layers, convolutions) in [("[res2net]\nplanes=4\nbase_width=32\nscale=3\n", res2net, [1, 3, 6, 9]),
                                              ("[triangle]\nplanes=4\nbase_width=32\nscale=2\n", triangle, [1, 3])] {
            let c = try makeCase(conv(8, "tanh") + block + "[cost]\n", input: (2, 4, 4), seed: 3)
            let text = "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=2\n" + conv(8, "tanh") + layers + "[cost]\n"
            let definition = try NetworkDefinition(cfg: CfgFile(text: text, path: "layers.cfg"), options: DefinitionOptions(dialect: .darknet))
            let weights = try NetworkWeights(header: WeightsHeader(), floats: Array(c.trainer.network.parameters.buffer), for: definition)
            let layered = Case(trainer: try Trainer(try Network(definition: definition, weights: weights, winograd: false)),
                               input: c.input, truth: c.truth, batch: c.batch)
            c.trainer.propagate(input: c.input, truth: c.truth, batch: c.batch, backward: true)
            layered.trainer.propagate(input: c.input, truth: c.truth, batch: c.batch, backward: true)
            let blockProducts = (c.trainer.trainer(of: 1) as! SplitBlockTrainer).convolutionTrainers.map(\.product)
            let pairs = zip([convolution(c, 0)] + blockProducts, ([0] + convolutions).map { convolution(layered, $0) })
            for (index, (ours, theirs)) in pairs.enumerated() {
                for (name, a, b) in [("weights", ours.weights, theirs.weights), ("biases", ours.biases, theirs.biases),
                                     ("scales", ours.norm?.scales, theirs.norm?.scales)] {
                    guard let a, let b else { continue }
                    let (x, y) = (a.updates.pointer, b.updates.pointer)
                    let largest = (0..<a.updates.count).map { abs(y[$0]) }.max()!
                    XCTAssertGreaterThan(largest, 0.01, "\(block) conv \(index) \(name)")
                    for i in 0..<a.updates.count {
                        XCTAssertEqual(x[i], y[i], accuracy: 1e-5 * largest, "\(block) conv \(index) \(name)[\(i)]")
                    }
                }
            }
        }
    }

    /// Seed 004's YOLOv5 kinds: conv + batch-norm + swish, a C3-like shortcut and route, SPPF
    /// (three 5×5 stride-1 maxpools with padding and a route of four), connected with relu, softmax.
    func testYOLOv5ClassifierKindsGradients() throws {
        let body = conv(4, stride: 2, bn: true, "swish") + conv(4, size: 1, bn: true, "swish") + conv(4, bn: true, "swish")
            + "[shortcut]\nfrom=-2\nactivation=linear\n" + "[route]\nlayers=-1,-3\n" + conv(4, size: 1, bn: true, "swish")
            + String(repeating: "[maxpool]\nsize=5\nstride=1\npadding=4\n", count: 3) + "[route]\nlayers=-4,-3,-2,-1\n"
            + conv(4, size: 1, bn: true, "mish") + "[connected]\noutput=6\nactivation=relu\n" + "[connected]\noutput=4\nactivation=linear\n"
            + "[softmax]\n"
        let c = try makeCase(body, input: (3, 8, 8), batch: 3, oneHot: true)
        useTrueBatchNormGradients(c)
        let connected = (c.trainer.trainer(of: 11) as! ConnectedTrainer).product
        var arrays: [(String, TrainedArray)] = []
        for layer in [0, 1, 2, 5, 10] {
            let product = convolution(c, layer)
            arrays += [("conv\(layer).weights", product.weights), ("conv\(layer).scales", product.norm!.scales)]
        }
        // Maxima change hands where two values of a window differ by less than the step.
        checkGradients(c, arrays + [("fc11.weights", connected.weights), ("fc11.biases", connected.biases)], loss: .crossEntropy, step: 1e-3)
    }

    /// MobileNetV2's inverted residual: 1×1 expansion, a depthwise 3×3 (groups = channels, and
    /// one with stride 2), relu6, a linear 1×1 projection and the shortcut.
    func testDepthwiseGradients() throws {
        let body = conv(4, bn: true, "relu6") + conv(8, size: 1, bn: true, "relu6") + conv(8, bn: true, groups: 8, "relu6")
            + conv(4, size: 1, bn: true) + "[shortcut]\nfrom=-4\nactivation=linear\n"
            + conv(4, stride: 2, bn: true, groups: 4, "relu6") + "[cost]\n"
        let c = try makeCase(body, input: (3, 6, 6), batch: 2)
        useTrueBatchNormGradients(c)
        let arrays = [0, 1, 2, 3, 5].flatMap { layer in
            [("conv\(layer).weights", convolution(c, layer).weights), ("conv\(layer).scales", convolution(c, layer).norm!.scales)]
        }
        checkGradients(c, arrays, loss: .squaredError, step: 1e-3)
    }
}

extension TrainingTests {
    /// The shipped cfgs of the seeds' backbones build a `Trainer` and take a step at 32×32 on
    /// random weights, with one box or class an image: the first layer's gradient is finite and
    /// not zero. The classifier gets the
    /// `[softmax]` its training adds (the cfg ends at its logits, as the seed's model does).
    func testShippedCfgsTakeAStep() throws {
        for name in ["res2net-yolov3.cfg", "res2net-triangle-yolov3.cfg", "yolov5-backbone-cls.cfg", "yolov3-mobilenetv2.cfg"] {
            let path = DefinitionTests.shipped(name)
            let text = try String(contentsOfFile: path, encoding: .utf8) + (name.hasSuffix("-cls.cfg") ? "\n[softmax]\n" : "")
            let definition = try NetworkDefinition(cfg: CfgFile(text: text, path: path),
                                                   options: DefinitionOptions(width: 32, height: 32))
            let trainer = try Trainer(try Network(definition: definition, weights: RandomWeights.make(for: definition, seed: 7), winograd: false))
            var random = SplitMix64(state: 7)
            let input = Tensor(shape: [2, 3, 32, 32], data: (0..<(2 * 3 * 32 * 32)).map { _ in random.uniform(0, 1) })
            let truths = trainer.truthsPerImage
            var truth = [Float](repeating: 0, count: 2 * truths)
            if truths == 4 { // the classifier: one-hot
                (truth[1], truth[truths + 2]) = (1, 1)
            } else { // [yolo]: one box an image, then zeros
                truth.replaceSubrange(0..<5, with: [0.4, 0.5, 0.3, 0.4, 1])
                truth.replaceSubrange(truths..<(truths + 5), with: [0.6, 0.3, 0.2, 0.5, 3])
            }
            try trainer.step(input: input, truth: Tensor(shape: [2, truths], data: truth))
            XCTAssertEqual(trainer.seen, 2, name)
            let first = (trainer.trainer(of: 0) as! ConvolutionTrainer).product.weights
            let gradient = UnsafeBufferPointer(start: first.updates.pointer, count: first.updates.count)
            let values = UnsafeBufferPointer(start: first.values, count: first.updates.count)
            XCTAssert(gradient.allSatisfy(\.isFinite) && values.allSatisfy(\.isFinite), name)
            XCTAssertGreaterThan(gradient.map(abs).max()!, 1e-3, name)
        }
    }
}
