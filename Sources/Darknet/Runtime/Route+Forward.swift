extension Route: LayerPlan {
    func plan(_ binding: inout PlanBinding) throws -> any LayerPlan { self }

    func forward(_ pass: ForwardPass, sources: (Int) -> UnsafeMutablePointer<Float>) {
        var offset = 0
        for (source, count) in zip(layers, sourceCounts) {
            Self.route(self, source: sources(source), count: count, into: pass.output + offset, outCount: output.count, batch: pass.batch)
            offset += count / groups
        }
    }

    /// One source of a concatenation along channels: with groups, its `groupID`-th slice of
    /// `count` floats per image goes to `destination` in each image's output.
    static func route(_ spec: Route, source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutablePointer<Float>,
                      outCount: Int, batch: Int) {
        let part = count / spec.groups
        for image in 0..<batch {
            (destination + image * outCount).update(from: source + image * count + spec.groupID * part, count: part)
        }
    }

}
