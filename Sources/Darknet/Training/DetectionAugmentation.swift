import Glibc

/// Darknet's detection augmentation (`load_data_detection`, `fill_truth_detection`): the image
/// jittered in aspect and placed at a random offset on a grey canvas of the input's size, its
/// hue, saturation and exposure distorted, flipped half the time; its boxes shuffled, moved
/// and clipped with it.
enum DetectionAugmentation {
    static func apply(to image: Image, boxes: [LabeledBox], width: Int, height: Int, jitter: Float,
                      augmentation: Augmentation, random: inout TrainingRandom) -> (Image, [LabeledBox]) {
        let (w, h) = (Float(width), Float(height))
        let dw = jitter * Float(image.width), dh = jitter * Float(image.height)
        let jitteredWidth = Float(image.width) + random.uniform(-dw, dw)
        let aspect = jitteredWidth / (Float(image.height) + random.uniform(-dh, dh))
        let (nw, nh) = aspect < 1 ? (h * aspect, h) : (w, w / aspect)
        let dx = random.uniform(0, w - nw), dy = random.uniform(0, h - nh)
        var canvas = Image(width: width, height: height, fill: 0.5)
        image.place(width: Int(nw), height: Int(nh), dx: Int(dx), dy: Int(dy), on: &canvas)
        let hue = random.uniform(-augmentation.hue, augmentation.hue)
        let saturation = random.scale(augmentation.saturation)
        let exposure = random.scale(augmentation.exposure)
        canvas.distort(hue: hue, saturation: saturation, exposure: exposure)
        let flip = augmentation.flip && random.next() & 1 == 1
        if flip { canvas.flip() }
        var shuffled = boxes
        shuffleBoxes(&shuffled, random: &random)
        let moved = correctBoxes(shuffled, dx: -dx / w, dy: -dy / h, sx: nw / w, sy: nh / h, flip: flip)
        return (canvas, moved)
    }

    /// Darknet's `randomize_boxes`: each box swapped with one drawn from all of them.
    static func shuffleBoxes(_ boxes: inout [LabeledBox], random: inout TrainingRandom) {
        for i in boxes.indices { boxes.swapAt(i, random.index(below: boxes.count)) }
    }

    /// Darknet's `correct_boxes`: each box's edges scaled by (sx, sy) and moved by −(dx, dy),
    /// mirrored with `flip`, and clipped to the image. (Its blank box at x = y = 0 never
    /// arrives here: `LabelFile.read` refuses it.)
    static func correctBoxes(_ boxes: [LabeledBox], dx: Float, dy: Float, sx: Float, sy: Float, flip: Bool) -> [LabeledBox] {
        func clip(_ v: Float) -> Float { min(max(v, 0), 1) }
        return boxes.map { labeled in
            let b = labeled.box
            var left = (b.x - b.w / 2) * sx - dx, right = (b.x + b.w / 2) * sx - dx
            let top = clip((b.y - b.h / 2) * sy - dy), bottom = clip((b.y + b.h / 2) * sy - dy)
            if flip { (left, right) = (1 - right, 1 - left) }
            (left, right) = (clip(left), clip(right))
            let box = Box(x: (left + right) / 2, y: (top + bottom) / 2, w: clip(right - left), h: clip(bottom - top))
            return LabeledBox(classID: labeled.classID, box: box)
        }
    }
}

extension Image {
    /// Darknet's `place_image`: this image scaled to `width`×`height` by bilinear sampling (the
    /// pixels past its right and bottom edges read as 0) and drawn at (dx, dy) on `canvas`,
    /// clipped to it.
    func place(width: Int, height: Int, dx: Int, dy: Int, on canvas: inout Image) {
        func pixel(_ x: Int, _ y: Int, _ plane: Int) -> Float {
            x < 0 || x >= self.width || y < 0 || y >= self.height ? 0 : data[plane + y * self.width + x]
        }
        for c in 0..<3 {
            let plane = c * self.width * self.height
            for y in 0..<height where (0..<canvas.height).contains(y + dy) {
                let ry = Float(y) / Float(height) * Float(self.height)
                let iy = Int(floorf(ry))
                let fy = ry - Float(iy)
                for x in 0..<width where (0..<canvas.width).contains(x + dx) {
                    let rx = Float(x) / Float(width) * Float(self.width)
                    let ix = Int(floorf(rx))
                    let fx = rx - Float(ix)
                    let value = (1 - fy) * (1 - fx) * pixel(ix, iy, plane) + fy * (1 - fx) * pixel(ix, iy + 1, plane)
                        + (1 - fy) * fx * pixel(ix + 1, iy, plane) + fy * fx * pixel(ix + 1, iy + 1, plane)
                    canvas.data[(c * canvas.height + y + dy) * canvas.width + x + dx] = value
                }
            }
        }
    }
}
