extension Route: StatelessTraining {
    func trainer() throws -> any LayerTrainer { StatelessTrainer(self) }

    /// `backward_route_layer`: each source gets its slice of the delta back (with groups, into
    /// its `groupID`-th slice of channels).
    func backward(_ pass: TrainingPass) {
        var offset = 0
        for (source, count) in zip(layers, sourceCounts) {
            let part = count / groups
            let target = pass.deltas(source)
            for image in 0..<pass.batch {
                let (from, to) = (pass.delta + image * output.count + offset, target + image * count + groupID * part)
                for i in 0..<part { to[i] += from[i] }
            }
            offset += part
        }
    }
}
