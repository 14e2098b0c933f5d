import Glibc

/// Darknet's detection augmentation (`load_data_detection`, `fill_truth_detection`): the image
/// jittered in aspect and placed at a random offset on a grey canvas of the input's size, its
/// hue, saturation and exposure distorted, flipped half the time; its boxes shuffled, moved
/// and clipped with it.
enum DetectionAugmentation {
    /// The random numbers one image's augmentation takes, in the order Darknet draws them:
    /// uniforms in [0, 1] (Darknet's `rand()/RAND_MAX`) and coin flips (`rand() % 2`).
    struct Draws: Sendable, Equatable {
        /// The changes of the image's width, then height, by up to ± jitter of it.
        var width, height: Float
        /// The placement on the canvas, across then down.
        var left, top: Float
        var hue: Float
        /// Each a factor in [1, s] and whether it is kept (else its inverse), as `rand_scale`.
        var saturation: Float, keepSaturation: Bool
        var exposure: Float, keepExposure: Bool
        var flip: Bool
        /// `randomize_boxes`: box i is swapped with box swaps[i].
        var swaps: [Int]

        init(width: Float, height: Float, left: Float, top: Float, hue: Float, saturation: Float, keepSaturation: Bool,
             exposure: Float, keepExposure: Bool, flip: Bool, swaps: [Int]) {
            (self.width, self.height, self.left, self.top, self.hue) = (width, height, left, top, hue)
            (self.saturation, self.keepSaturation, self.exposure, self.keepExposure) = (saturation, keepSaturation, exposure, keepExposure)
            (self.flip, self.swaps) = (flip, swaps)
        }

        init(boxes: Int, random: inout TrainingRandom) {
            func unit() -> Float { random.uniform(0, 1) }
            func coin() -> Bool { random.next() & 1 == 1 }
            let (width, height, left, top, hue) = (unit(), unit(), unit(), unit(), unit())
            let (saturation, keepSaturation, exposure, keepExposure) = (unit(), coin(), unit(), coin())
            let flip = coin()
            let swaps = (0..<boxes).map { _ in random.index(below: boxes) }
            self.init(width: width, height: height, left: left, top: top, hue: hue, saturation: saturation, keepSaturation: keepSaturation,
                      exposure: exposure, keepExposure: keepExposure, flip: flip, swaps: swaps)
        }
    }

    static func apply(to image: Image, boxes: [LabeledBox], width: Int, height: Int, jitter: Float,
                      augmentation: Augmentation, random: inout TrainingRandom) -> (Image, [LabeledBox]) {
        apply(to: image, boxes: boxes, width: width, height: height, jitter: jitter, augmentation: augmentation,
              draws: Draws(boxes: boxes.count, random: &random))
    }

    static func apply(to image: Image, boxes: [LabeledBox], width: Int, height: Int, jitter: Float,
                      augmentation: Augmentation, draws: Draws) -> (Image, [LabeledBox]) {
        /// Darknet's `rand_uniform` and `rand_scale` of a drawn uniform u.
        func uniform(_ u: Float, _ low: Float, _ high: Float) -> Float {
            let (low, high) = low <= high ? (low, high) : (high, low)
            return u * (high - low) + low
        }
        func scale(_ u: Float, _ s: Float, keep: Bool) -> Float {
            let factor = uniform(u, 1, s)
            return keep ? factor : 1 / factor
        }
        let (w, h) = (Float(width), Float(height))
        let dw = jitter * Float(image.width), dh = jitter * Float(image.height)
        let aspect = (Float(image.width) + uniform(draws.width, -dw, dw)) / (Float(image.height) + uniform(draws.height, -dh, dh))
        let (nw, nh) = aspect < 1 ? (h * aspect, h) : (w, w / aspect)
        let dx = uniform(draws.left, 0, w - nw), dy = uniform(draws.top, 0, h - nh)
        var canvas = Image(width: width, height: height, fill: 0.5)
        image.place(width: Int(nw), height: Int(nh), dx: Int(dx), dy: Int(dy), on: &canvas)
        canvas.distort(hue: uniform(draws.hue, -augmentation.hue, augmentation.hue),
                       saturation: scale(draws.saturation, augmentation.saturation, keep: draws.keepSaturation),
                       exposure: scale(draws.exposure, augmentation.exposure, keep: draws.keepExposure))
        // pjreddie's Darknet always flips half the time; AlexeyAB's `flip=0` turns it off.
        let flip = augmentation.flip && draws.flip
        if flip { canvas.flip() }
        var shuffled = boxes
        for (i, j) in zip(shuffled.indices, draws.swaps) { shuffled.swapAt(i, j) }
        let moved = correctBoxes(shuffled, dx: -dx / w, dy: -dy / h, sx: nw / w, sy: nh / h, flip: flip)
        return (canvas, moved)
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
