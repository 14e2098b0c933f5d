/// The closed set of layer kinds this library runs. A new kind is a new case here, a file of
/// its own, and every `switch` the compiler then points at.
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

    var kind: any LayerKind {
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
        }
    }

    /// Darknet's name for the kind, e.g. "convolutional".
    public var typeName: String { type(of: kind).typeName }

    /// Parses a section by its name (or one of Darknet's aliases); nil for names it does not run.
    static func parse(_ name: String, _ r: inout SectionReader, _ context: LayerContext) throws -> LayerSpec? {
        switch name {
        case "convolutional", "conv": .convolutional(try Convolutional(&r, context))
        case "connected", "conn": .connected(try Connected(&r, context))
        case "maxpool", "max": .maxpool(try MaxPool(&r, context))
        case "avgpool", "avg": .avgpool(try AvgPool(&r, context))
        case "route": .route(try Route(&r, context))
        case "shortcut": .shortcut(try Shortcut(&r, context))
        case "upsample": .upsample(try Upsample(&r, context))
        case "yolo": .yolo(try Yolo(&r, context))
        case "region": .region(try Region(&r, context))
        case "reorg": .reorg(try Reorg(&r, context))
        case "softmax", "soft": .softmax(try Softmax(&r, context))
        case "dropout": .dropout(try Dropout(&r, context))
        case "batchnorm": .batchnorm(try BatchNorm(&r, context))
        case "cost": .cost(try Cost(&r, context))
        case "res2net": .res2net(try Res2Net(&r, context))
        case "triangle": .triangle(try Triangle(&r, context))
        default: nil
        }
    }

    /// Sections Darknet knows that this library does not run.
    static let unsupported: Set<String> = [
        "rnn", "gru", "lstm", "crnn", "local", "crop", "detection", "deconvolutional", "deconv", "activation",
        "logistic", "l2norm", "normalization", "lrn", "iseg", "sam", "scale_channels", "gaussian_yolo",
        "conv_lstm", "implicit_add", "implicit_mul", "contrastive", "empty", "silence", "reorg3d",
    ]
}
