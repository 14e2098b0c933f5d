/// Which Darknet a network was written for. The two compute batch-norm differently and store
/// `[batchnorm]` differently; a cfg's keys do not always say which one it was written for.
public enum Dialect: String, CaseIterable, Sendable {
    /// AlexeyAB's fork (YOLOv4, YOLOv7): batch-norm (x − mean)/√(var + 1e-5); `[batchnorm]`
    /// stores biases, scales, mean and variance; the detector stretches images unless
    /// `[net] letter_box=1`.
    case alexeyab
    /// Joseph Redmon's Darknet: batch-norm (x − mean)/(√var + 1e-6); `[batchnorm]` stores
    /// scales, mean and variance; the detector letterboxes.
    case darknet

    /// How a definition came by its dialect, for `inspect` and `bench` to print.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// Given as an option.
        case chosen
        /// The first section, key or activation only AlexeyAB's fork reads, at this line.
        case alexeyabOnly(String, line: Int)
        /// Nothing only AlexeyAB's fork reads.
        case noAlexeyABFeature

        public var description: String {
            switch self {
            case .chosen: "chosen"
            case .alexeyabOnly(let what, let line): "from \(what) at line \(line), which only AlexeyAB's darknet reads"
            case .noAlexeyABFeature: "no section, key or activation only AlexeyAB's darknet reads"
            }
        }
    }

    /// The default rule: `alexeyab` for a cfg that uses a section, key or activation that
    /// only AlexeyAB's fork reads (it would compute that cfg, Darknet could not), else `darknet`.
    static func inferred(from cfg: CfgFile) -> (Dialect, Reason) {
        for section in cfg.sections {
            if alexeyabSections.contains(section.name) {
                return (.alexeyab, .alexeyabOnly("[\(section.name)]", line: section.line))
            }
            for entry in section.entries {
                if alexeyabKeys.contains(entry.key) {
                    return (.alexeyab, .alexeyabOnly("[\(section.name)] \(entry.key)", line: entry.line))
                }
                if entry.key == "activation", alexeyabActivations.contains(entry.value) {
                    return (.alexeyab, .alexeyabOnly("activation=\(entry.value)", line: entry.line))
                }
            }
        }
        return (.darknet, .noAlexeyABFeature)
    }

    static let alexeyabSections: Set<String> = [
        "scale_channels", "sam", "reorg3d", "local_avgpool", "local_avg", "implicit", "Gaussian_yolo",
    ]
    static let alexeyabKeys: Set<String> = [
        "letter_box", "mosaic", "cutmix", "scale_x_y", "new_coords", "nms_kind", "beta_nms", "iou_loss", "iou_normalizer",
        "cls_normalizer", "obj_normalizer", "group_id", "weights_type", "weights_normalization", "stride_x", "stride_y",
        "share_index", "antialiasing", "maxpool_depth",
    ]
    static let alexeyabActivations: Set<String> = [
        "mish", "hard_mish", "gelu", "normalize_channels", "normalize_channels_softmax", "normalize_channels_softmax_maxval",
    ]
}
