/// `[net]`'s augmentation keys, with Darknet's defaults (`parse_net_options`): what a training
/// run does to each image before the network sees it. Validation, `classify` and `detect` use
/// none of them.
public struct Augmentation: Sendable, Equatable {
    /// Rotation, up to ± this many degrees (classifiers).
    public var angle: Float = 0
    /// Aspect-ratio change, up to this factor either way (classifiers).
    public var aspect: Float = 1
    /// Saturation and exposure scales, up to these factors either way (HSV).
    public var saturation: Float = 1
    public var exposure: Float = 1
    /// Hue shift, up to ± this fraction of the circle.
    public var hue: Float = 0
    /// The shorter side a classifier's image is resized to before its crop, drawn in
    /// `minCrop...maxCrop`; nil: Darknet's defaults, the network's width and twice it.
    public var minCrop: Int?
    public var maxCrop: Int?
    /// `center=1`: a classifier's crop is the centre instead of a random place.
    public var center = false
    /// Random left-right flips (AlexeyAB's `flip`, on unless 0; pjreddie's code always flips).
    public var flip = true

    public init() {}

    init(_ r: inout SectionReader) throws {
        angle = try r.float("angle", default: angle)
        aspect = try r.float("aspect", default: aspect)
        saturation = try r.float("saturation", default: saturation)
        exposure = try r.float("exposure", default: exposure)
        hue = try r.float("hue", default: hue)
        // Darknet wraps a shifted hue round the circle once: a larger shift has no meaning.
        guard (-1...1).contains(hue) else { throw r.error("hue", "expected a fraction of the hue circle in [-1, 1]") }
        minCrop = r.has("min_crop") ? try r.int("min_crop", in: 1...Int(Int32.max)) : nil
        maxCrop = r.has("max_crop") ? try r.int("max_crop", in: 1...Int(Int32.max)) : nil
        center = try r.bool("center")
        flip = try r.int("flip", default: 1, in: 0...1) == 1
    }
}
