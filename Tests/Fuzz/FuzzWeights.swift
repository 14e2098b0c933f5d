import Foundation

// libFuzzer target (b): any bytes as the weights file of a small cfg with most layer kinds →
// a loaded network (or one diagnostic), run forward, converted and written back.

let fuzzDefinition = try! NetworkDefinition(cfg: CfgFile(text: """
    [net]
    width=12
    height=12
    channels=3
    [convolutional]
    filters=8
    size=3
    pad=1
    batch_normalize=1
    activation=leaky
    [res2net]
    planes=4
    base_width=32
    [triangle]
    planes=8
    scale=2
    [maxpool]
    size=2
    stride=2
    [batchnorm]
    [convolutional]
    filters=4
    size=3
    pad=1
    groups=4
    activation=mish
    [route]
    layers=-1,-3
    [convolutional]
    filters=14
    size=1
    activation=linear
    [yolo]
    mask=0,1
    classes=2
    num=2
    anchors=4,4,8,8
    [route]
    layers=-3
    [connected]
    output=5
    batch_normalize=1
    activation=logistic
    [softmax]
    """, path: "fuzz-weights.cfg"))
let fuzzPath = "/dev/shm/swift-darknet-fuzz-\(getpid()).weights"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWeights(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FileManager.default.createFile(atPath: fuzzPath, contents: Data(bytes: data, count: size))
    defer { unlink(fuzzPath) }
    // Every other input mapped rather than read: the same checks must hold before either.
    guard let weights = try? NetworkWeights(contentsOf: fuzzPath, for: fuzzDefinition, allowPrefix: size % 3 == 0, loading: size % 2 == 0 ? .leasedMapping : .read) else { return 0 }
    _ = weights.with(header: WeightsHeader(major: 1001), definition: fuzzDefinition)
    try? weights.write(to: fuzzPath + ".out", layers: weights.coveredLayers / 2)
    unlink(fuzzPath + ".out")
    guard let network = try? Network(definition: fuzzDefinition, weights: weights) else { return 0 }
    _ = try? network.forward(Tensor(shape: [3, 12, 12], data: Array(repeating: 0.5, count: 432)))
    return 0
}
