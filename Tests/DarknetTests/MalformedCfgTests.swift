import XCTest
@testable import Darknet

/// The catalogue of malformed cfgs: each must give exactly this one-line diagnostic.
final class MalformedCfgTests: XCTestCase {
    static let net = "[net]\nwidth=32\nheight=32\nchannels=3\n"
    static let conv = "\n[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"

    func assertError(_ text: String, _ expected: String, options: DefinitionOptions = .init(),
                     file: StaticString = #filePath, line: UInt = #line) {
        assertError(bytes: Array(text.utf8), expected, options: options, file: file, line: line)
    }

    func assertError(bytes: [UInt8], _ expected: String, options: DefinitionOptions = .init(),
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            let definition = try NetworkDefinition(cfg: try CfgFile(bytes: bytes, path: "bad.cfg"), options: options)
            XCTFail("accepted a malformed cfg with \(definition.layers.count) layers", file: file, line: line)
        } catch let error as Diagnostic {
            XCTAssertEqual(error.description, expected, file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
        } catch {
            XCTFail("not a Diagnostic: \(error)", file: file, line: line)
        }
    }

    func testEmptyAndBinaryFiles() {
        assertError("", "bad.cfg: error: the file is empty: expected a [net] section")
        assertError(" \n\t\r\n", "bad.cfg: error: the file is empty: expected a [net] section")
        assertError("# only a comment\n; and another\n", "bad.cfg: error: no sections: expected a [net] section")
        assertError(bytes: [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00],
                    "bad.cfg:1: error: binary data (a NUL byte): this is not a cfg text file")
        assertError(bytes: Array(Self.net.utf8) + [0xFF, 0xFE, 0x3D, 0x0A],
                    "bad.cfg:5: error: binary data (invalid UTF-8): this is not a cfg text file")
        let longLine = String(repeating: "a", count: 10_000_000)
        assertError(Self.net + longLine + "\n",
                    "bad.cfg:5: error: line is 10000000 bytes long; cfg lines are at most 65536")
    }

    func testSyntax() {
        assertError("width=416\n[net]\n", "bad.cfg:1: error: option 'width' comes before any [section]")
        assertError(Self.net + "[convolutional\nfilters=3\n", "bad.cfg:5: error: malformed section header '[convolutional': expected [name]")
        assertError(Self.net + "[]\n", "bad.cfg:5: error: malformed section header '[]': expected [name]")
        assertError(Self.net + "[convolutional]\nfilters\n", "bad.cfg:6: error: 'filters' is not an option: expected key=value")
        assertError(Self.net + "[convolutional]\n=3\n", "bad.cfg:6: error: '=3' is not an option: expected key=value")
    }

    func testNetSection() {
        assertError("[convolutional]\nfilters=3\n", "bad.cfg:1: error: the first section is [convolutional]; a cfg must start with [net]")
        assertError(Self.net + Self.conv + "[net]\nwidth=3\n", "bad.cfg:12: error: [net] must be the first section, and only once")
        assertError(Self.net, "bad.cfg:1: error: the cfg defines no layers after [net]")
        assertError("[net]\nheight=32\nchannels=3\n" + Self.conv, "bad.cfg:1: error: [net] width: missing: [net] needs width, height and channels")
        assertError("[net]\nwidth=0\nheight=32\nchannels=3\n" + Self.conv, "bad.cfg:2: error: [net] width=0: expected a value ≥ 1")
        assertError("[net]\nwidth=1000000\nheight=1000000\nchannels=3\n" + Self.conv,
                    "bad.cfg:1: error: [net] input 3×1000000×1000000 would need more than the memory limit of 4.0 GiB")
        assertError("[net]\nwidth=1000000\nheight=416\nchannels=1\n" + Self.conv,
                    "bad.cfg:6: error: [convolutional] output 8×416×1000000 would need more than the memory limit of 4.0 GiB")
    }

    func testSections() {
        assertError(Self.net + "[convolutinal]\nfilters=3\n", "bad.cfg:5: error: unknown section [convolutinal]")
        assertError(Self.net + Self.conv + "[lstm]\noutput=3\n",
                    "bad.cfg:12: error: [lstm] is not supported: this library does not run Darknet's [lstm] layers")
    }

    func testAlexeyABKeys() {
        assertError(Self.net + Self.conv + "[convolutional]\nfilters=8\nsize=3\npad=1\nshare_index=-1\n",
                    "bad.cfg:16: error: [convolutional] share_index=-1: layer 0 has 8 filters of 3×3 over 3 channels in 1 groups without batch-norm; this layer has 8 of 3×3 over 8 in 1 without: they must be equal to share weights")
        assertError(Self.net + Self.conv + "[maxpool]\n[convolutional]\nshare_index=1\n",
                    "bad.cfg:14: error: [convolutional] share_index=1: layer 1 is a [maxpool], not a convolution to share weights with")
        assertError(Self.net + "[convolutional]\nsize=3\ndilation=2\n",
                    "bad.cfg:7: error: [convolutional] dilation=2: a dilated 3×3 kernel needs padding=1 (pad=1 and an odd size), as AlexeyAB's darknet sizes its output as if undilated; padding is 0")
        assertError(Self.net + Self.conv + "[shortcut]\nfrom=0\nweights_type=per_channel\n",
                    "bad.cfg:12: error: [shortcut] weights_normalization: expected relu, avg_relu or softmax: AlexeyAB's darknet refuses weights_type=per_channel without one")
        assertError(Self.net + Self.conv + "[maxpool]\nsize=2\nstride=2\n[shortcut]\nfrom=0,-1\n",
                    "bad.cfg:16: error: [shortcut] from=0,-1: layer 0 is 8×32×32 and the input is 8×16×16: a shortcut of several layers or with weights adds equal grids")
        assertError(Self.net + Self.conv + "[scale_channels]\nfrom=0\n",
                    "bad.cfg:13: error: [scale_channels] from=0: the input is 8×32×32 and layer 0 is 8×32×32: one factor a channel needs a 8×1×1 input")
        assertError(Self.net + Self.conv + "[sam]\nfrom=-2\n", "bad.cfg:13: error: [sam] from=-2: layer -2 points before layer 0 (this is layer 1)")
        for section in ["rnn", "gru", "lstm", "crnn", "crop", "contrastive", "detection"] {
            assertError(Self.net + Self.conv + "[\(section)]\n",
                        "bad.cfg:12: error: [\(section)] is not supported: this library does not run Darknet's [\(section)] layers")
        }
        assertError(Self.net + "[convolutional]\nfilters=20\nsize=1\n[Gaussian_yolo]\nclasses=2\nnum=2\nanchors=1,2,3,4\n",
                    "bad.cfg:8: error: [Gaussian_yolo] input has 20 channels; 2 anchors × (2 classes + 9) need 22")
        assertError(Self.net + "[convolutional]\nfilters=22\nsize=1\n[Gaussian_yolo]\nclasses=2\nnum=2\nanchors=1,2,3,4\nyolo_point=middle\n",
                    "bad.cfg:12: error: [Gaussian_yolo] yolo_point=middle: expected center, left_top or right_bottom")
        assertError(Self.net + "[convolutional]\nantialiasing=3\n", "bad.cfg:6: error: [convolutional] antialiasing=3: expected a value in 0...2")
        assertError(Self.net + "[convolutional]\ncoordconv=1\n", "bad.cfg:6: error: [convolutional] coordconv=1: not supported")
        assertError(Self.net + "[convolutional]\ndontloadscales=1\n",
                    "bad.cfg:6: error: [convolutional] dontloadscales=1: is not supported: it changes which weights Darknet reads or writes for the layer")
        assertError(Self.net + "[convolutional]\nbinary=1\n", "bad.cfg:6: error: [convolutional] binary=1: binary, XNOR and flipped convolutions are not supported")
    }

    func testValues() {
        assertError(Self.net + "[convolutional]\nfilters=abc\n", "bad.cfg:6: error: [convolutional] filters=abc: expected an integer")
        assertError(Self.net + "[convolutional]\nfilters=0\n", "bad.cfg:6: error: [convolutional] filters=0: expected a value ≥ 1")
        assertError(Self.net + "[convolutional]\nsize=-1\n", "bad.cfg:6: error: [convolutional] size=-1: expected a value ≥ 1")
        assertError(Self.net + "[convolutional]\nstride=0\n", "bad.cfg:6: error: [convolutional] stride=0: expected a value ≥ 1")
        assertError(Self.net + "[convolutional]\nfilters=99999999999\n", "bad.cfg:6: error: [convolutional] filters=99999999999: expected an integer in -2147483648...2147483647")
        assertError(Self.net + "[convolutional]\nfilters=-99999999999999999999\n", "bad.cfg:6: error: [convolutional] filters=-99999999999999999999: expected an integer in -2147483648...2147483647")
        // atoi would read 1 (a warning; an error with --strict, see DefinitionTests); Darknet's
        // atoi reads 0 from text without a leading integer, which is refused.
        assertError(Self.net + "[convolutional]\nfilters=1.5\n", "bad.cfg:6: error: [convolutional] filters=1.5: read as 1, as Darknet's atoi reads it; '.5' is ignored",
                    options: DefinitionOptions(strict: true))
        assertError(Self.net + Self.conv + "[route]\nlayers=-1,4294967296\n", "bad.cfg:13: error: [route] layers=-1,4294967296: expected a comma-separated list of integers in -2147483648...2147483647")
        assertError(Self.net + "[convolutional]\nfilters=10\ngroups=2\n", "bad.cfg:7: error: [convolutional] groups=2: does not divide the 3 input channels")
        assertError(Self.net + "[convolutional]\nactivation=leakyy\n",
                    "bad.cfg:6: error: [convolutional] activation=leakyy: unknown activation; expected one of linear, leaky, logistic, relu, elu, selu, relie, ramp, tanh, plse, stair, hardtan, lhtan, loggy, relu6, swish, mish, gelu, hard_mish")
        assertError(Self.net + "[convolutional]\nsize=40\n", "bad.cfg:5: error: [convolutional] a 40×40 kernel (dilation 1) does not fit the 32×32 input with padding 0")
        assertError(Self.net + "[maxpool]\nsize=40\nstride=1\npadding=0\n", "bad.cfg:6: error: [maxpool] size=40: a 40×40 window does not fit the 32×32 input")
        assertError(Self.net + "[reorg]\nstride=2\n", "bad.cfg:6: error: [reorg] stride=2: the 3 input channels are not a multiple of 4, which Darknet's reorg reads past its input for")
        assertError(Self.net + "[upsample]\nstride=0\n", "bad.cfg:6: error: [upsample] stride=0: expected a non-zero value")
        assertError(Self.net + "[dropout]\nprobability=1.5\n", "bad.cfg:6: error: [dropout] probability=1.5: expected a value in [0, 1)")
        // 2 is AlexeyAB's cross-iteration batch-norm (cbn), batch-norm at inference.
        assertError(Self.net + "[convolutional]\nbatch_normalize=3\n", "bad.cfg:6: error: [convolutional] batch_normalize=3: expected a value in 0...2")
    }

    func testReferences() {
        assertError(Self.net + Self.conv + "\n[route]\nlayers=-5\n", "bad.cfg:14: error: [route] layers=-5: layer -5 points before layer 0 (this is layer 1)")
        assertError(Self.net + Self.conv + "\n[route]\nlayers=3\n", "bad.cfg:14: error: [route] layers=3: layer 3 is not an earlier layer (this is layer 1); only earlier layers can be referenced")
        assertError(Self.net + Self.conv + "\n[route]\nlayers=-1,x\n", "bad.cfg:14: error: [route] layers=-1,x: expected a comma-separated list of integers")
        assertError(Self.net + Self.conv + "\n[route]\n", "bad.cfg:13: error: [route] layers: missing: a route needs at least one layer")
        assertError(Self.net + Self.conv + "\n[shortcut]\nfrom=-9\n", "bad.cfg:14: error: [shortcut] from=-9: layer -9 points before layer 0 (this is layer 1)")
        assertError(Self.net + Self.conv + "\n[maxpool]\nsize=2\nstride=2\n\n[route]\nlayers=-1,-2\n",
                    "bad.cfg:18: error: [route] layers=-1,-2: layer 0 is 32×32 but layer 1 is 16×16: routed layers must have the same spatial size")
        assertError(Self.net + Self.conv + "\n[route]\nlayers=-1\ngroups=3\n", "bad.cfg:15: error: [route] groups=3: does not divide the 8 channels of layer 0")
        // Darknet's shortcut_cpu asserts (and aborts) here: 8/4 ≠ 9/5.
        assertError("[net]\nwidth=8\nheight=9\nchannels=3\n" + Self.conv + "\n[maxpool]\nsize=1\nstride=2\n\n[shortcut]\nfrom=-2\n",
                    "bad.cfg:18: error: [shortcut] from=-2: layer 0 is 8×9×8 and the input is 8×5×4: the spatial sizes must be equal or whole multiples of each other")
    }

    func testDetectionHeads() {
        let head = Self.net + "\n[convolutional]\nfilters=255\nsize=1\nactivation=linear\n\n"
        let anchors = "anchors=10,13,16,30,33,23,30,61,62,45,59,119,116,90,156,198,373,326\n"
        assertError(head + "[yolo]\nmask=6,7,9\nclasses=80\nnum=9\n" + anchors,
                    "bad.cfg:12: error: [yolo] mask=6,7,9: index 9 is beyond the 9 anchors (num=9)")
        assertError(head + "[yolo]\nmask=0,1\nclasses=80\nnum=9\n" + anchors,
                    "bad.cfg:11: error: [yolo] input has 255 channels; 2 anchors × (80 classes + 5) need 170")
        assertError(head + "[yolo]\nmask=0,1,2\nclasses=80\nnum=9\n",
                    "bad.cfg:11: error: [yolo] anchors: has 0 numbers; num=9 needs 18 (a width and a height per anchor)")
        assertError(head + "[region]\nclasses=80\nnum=5\n",
                    "bad.cfg:11: error: [region] input has 255 channels; 5 anchors × (80 classes + 4 coords + 1) need 425")
        assertError(head + "[yolo]\nmask=0,1,2\nclasses=80\nnum=3\nanchors=10,13,-16,30,33,23\n",
                    "bad.cfg:15: error: [yolo] anchors=10,13,-16,30,33,23: -16 is not a width or height: expected numbers > 0")
        assertError(head + "[region]\nclasses=46\nnum=5\nanchors=1,1,2,2,3,0,4,4,5,5\n",
                    "bad.cfg:14: error: [region] anchors=1,1,2,2,3,0,4,4,5,5: 0 is not a width or height: expected numbers > 0")
    }

    func testRes2Net() {
        assertError(Self.net + Self.conv + "\n[res2net]\nplanes=8\n",
                    "bad.cfg:14: error: [res2net] planes=8: the residual needs 16 input channels (planes·2), but the input has 8")
        assertError(Self.net + Self.conv + "\n[res2net]\nplanes=4\nscale=1\n",
                    "bad.cfg:15: error: [res2net] scale=1: expected a value ≥ 2")
        assertError(Self.net + Self.conv + "\n[triangle]\nplanes=2\n",
                    "bad.cfg:14: error: [triangle] planes=2: planes·base_width/64 = 0: each of the 4 groups would have no channels")
    }

    func testStrictTurnsWarningsIntoErrors() {
        let strict = DefinitionOptions(strict: true)
        assertError(Self.net + "\n[convolutional]\nfilters=8\nfilters=16\n",
                    "bad.cfg:8: error: [convolutional] filters is given twice; the first value is used", options: strict)
        assertError(Self.net + "\n[convolutional]\nfilterz=8\n",
                    "bad.cfg:7: error: [convolutional] unknown key 'filterz' is ignored", options: strict)
    }
}
