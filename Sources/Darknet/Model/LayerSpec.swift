/// The closed set of layer kinds this library runs, one case per `Kind`. A new kind is a case
/// here, a name in `kinds`, and the files of its own the compiler then asks for (see
/// docs/ARCHITECTURE.md).
public enum LayerSpec: Sendable, Equatable {
    case convolutional(Convolutional)
    case connected(Connected)
    case maxpool(MaxPool)
    case avgpool(AvgPool)
    case route(Route)
    case shortcut(Shortcut)
    case upsample(Upsample)
    case yolo(Yolo)
    case region(Region)
    case reorg(Reorg)
    case softmax(Softmax)
    case dropout(Dropout)
    case batchnorm(BatchNorm)
    case cost(Cost)
    case res2net(Res2Net)
    case triangle(Triangle)
    case activation(ActivationLayer)
    case scaleChannels(ScaleChannels)
    case sam(Sam)
    case reorg3d(Reorg3d)
    case localAvgPool(LocalAvgPool)
    case implicit(Implicit)
    case gaussianYolo(GaussianYolo)

    var kind: any Kind {
        switch self {
        case .convolutional(let l): l
        case .connected(let l): l
        case .maxpool(let l): l
        case .avgpool(let l): l
        case .route(let l): l
        case .shortcut(let l): l
        case .upsample(let l): l
        case .yolo(let l): l
        case .region(let l): l
        case .reorg(let l): l
        case .softmax(let l): l
        case .dropout(let l): l
        case .batchnorm(let l): l
        case .cost(let l): l
        case .res2net(let l): l
        case .triangle(let l): l
        case .activation(let l): l
        case .scaleChannels(let l): l
        case .sam(let l): l
        case .reorg3d(let l): l
        case .localAvgPool(let l): l
        case .implicit(let l): l
        case .gaussianYolo(let l): l
        }
    }

    /// The yolo or region layer a detector takes boxes from; nil for every other kind.
    var head: DetectionHead? {
        switch self {
        case .yolo(let yolo): .yolo(yolo)
        case .region(let region): .region(region)
        case .gaussianYolo(let gaussian): .gaussianYolo(gaussian)
        case .convolutional, .connected, .maxpool, .avgpool, .route, .shortcut, .upsample, .reorg, .softmax,
             .dropout, .batchnorm, .cost, .res2net, .triangle, .activation, .scaleChannels, .sam, .reorg3d,
             .localAvgPool, .implicit: nil
        }
    }

    /// Darknet's name for the kind, e.g. "convolutional".
    public var typeName: String { type(of: kind).typeName }

    /// Every kind this library runs.
    private static let kinds: [any Kind.Type] = [
        Convolutional.self, Connected.self, MaxPool.self, AvgPool.self, Route.self, Shortcut.self, Upsample.self,
        Yolo.self, Region.self, Reorg.self, Softmax.self, Dropout.self, BatchNorm.self, Cost.self, Res2Net.self,
        Triangle.self, ActivationLayer.self, ScaleChannels.self, Sam.self, Reorg3d.self, LocalAvgPool.self, Implicit.self,
        GaussianYolo.self,
    ]

    /// Section name (and alias) → the kind that reads it.
    private static let table: [String: any Kind.Type] = Dictionary(
        uniqueKeysWithValues: kinds.flatMap { kind in kind.sectionNames.map { ($0, kind) } })

    /// Parses a section by its name (or one of Darknet's aliases); nil for names it does not run.
    static func parse(_ name: String, _ r: inout SectionReader, _ context: SectionContext) throws -> LayerSpec? {
        guard let kind = table[name] else { return nil }
        return try kind.init(&r, context).spec
    }

    /// Sections Darknet knows that this library does not run.
    static let unsupported: Set<String> = [
        "rnn", "gru", "lstm", "crnn", "local", "crop", "detection", "deconvolutional", "deconv",
        "logistic", "l2norm", "normalization", "lrn", "iseg",
        "conv_lstm", "implicit_add", "implicit_mul", "contrastive", "empty", "silence",
    ]
}

/// A layer that decodes boxes: YOLOv3's `[yolo]`, YOLOv2's `[region]` or `[Gaussian_yolo]`.
enum DetectionHead {
    case yolo(Yolo)
    case region(Region)
    case gaussianYolo(GaussianYolo)

    var classes: Int {
        switch self {
        case .yolo(let yolo): yolo.classes
        case .region(let region): region.classes
        case .gaussianYolo(let gaussian): gaussian.classes
        }
    }
}
