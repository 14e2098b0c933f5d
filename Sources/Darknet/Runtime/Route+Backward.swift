extension Route {
    func trainer() throws -> any LayerTrainer { RouteTrainer(self) }
}

/// `backward_route_layer`: each source gets its slice of the delta back (with groups, into its
/// `groupID`-th slice of channels).
final class RouteTrainer: LayerTrainer {
    let spec: Route

    init(_ spec: Route) { self.spec = spec }

    func forward(_ pass: TrainingPass) { spec.forward(pass.forwardPass, sources: pass.outputs) }

    func backward(_ pass: TrainingPass) {
        var offset = 0
        for (source, count) in zip(spec.layers, spec.sourceCounts) {
            let part = count / spec.groups
            let target = pass.deltas(source)
            for image in 0..<pass.batch {
                let (from, to) = (pass.delta + image * spec.output.count + offset, target + image * count + spec.groupID * part)
                for i in 0..<part { to[i] += from[i] }
            }
            offset += part
        }
    }
}
