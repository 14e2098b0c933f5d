/// Which buffer holds each layer's output. A layer's output lives until the last layer that
/// reads it (the next layer, a route, a shortcut) has run, or for good when it is kept
/// (network outputs, or every layer when all outputs are asked for); buffers whose outputs
/// are dead are reused, so yolov3 needs a handful of buffers, not 107. Computed once.
struct MemoryPlan {
    /// Layer index → buffer index.
    let buffer: [Int]
    /// Floats per image of each buffer.
    let bufferFloats: [Int]
    /// Layer index → the last layer that reads its output (Int.max when it is kept).
    let lastUse: [Int]

    /// - Parameter imageByImage: runs of layers that go image by image (see `InferenceContext`):
    ///   what they read from before them is read again for every image, so it lives to their end.
    init(_ definition: NetworkDefinition, keep: (Int) -> Bool, imageByImage: [Range<Int>] = []) {
        let layers = definition.layers
        var lastUse = layers.indices.map { $0 + 1 }
        for layer in layers {
            for source in layer.sources { lastUse[source] = max(lastUse[source], layer.index) }
        }
        for span in imageByImage {
            for index in span {
                for source in layers[index].sources where source < span.lowerBound {
                    lastUse[source] = max(lastUse[source], span.upperBound - 1)
                }
            }
        }
        for index in layers.indices where keep(index) { lastUse[index] = Int.max }

        var buffer: [Int] = []
        var sizes: [Int] = []
        var free: [Int] = []
        var releaseAt: [Int: [Int]] = [:]
        for layer in layers {
            let needed = layer.output.count
            // Best fit: the smallest free buffer that holds it, else the largest free one grown.
            let fitting = free.filter { sizes[$0] >= needed }.min { sizes[$0] < sizes[$1] }
            let chosen: Int
            if let slot = fitting ?? free.max(by: { sizes[$0] < sizes[$1] }) {
                chosen = slot
                free.removeAll { $0 == slot }
                sizes[slot] = max(sizes[slot], needed)
            } else {
                chosen = sizes.count
                sizes.append(needed)
            }
            buffer.append(chosen)
            if lastUse[layer.index] != Int.max { releaseAt[lastUse[layer.index], default: []].append(chosen) }
            free += releaseAt.removeValue(forKey: layer.index) ?? []
        }
        self.buffer = buffer
        self.bufferFloats = sizes
        self.lastUse = lastUse
    }
}
