import Glibc

/// What a classifier does to an image before the network sees it, as Darknet does it: for
/// validation (and `classify`) `center_crop_image`; for training `load_data_augment`'s random
/// crop at a random scale, rotation and aspect, a random flip and a random HSV distortion.
public enum ClassifierPreprocessing {
    /// Darknet's `center_crop_image`: the central square of side min(w, h), resized to
    /// `width`×`height`.
    public static func centerCrop(_ image: Image, width: Int, height: Int) -> Image {
        let side = min(image.width, image.height)
        return image.cropped(x: (image.width - side) / 2, y: (image.height - side) / 2, width: side, height: side)
            .resized(width: width, height: height)
    }

    /// One image's random choices (`random_augment_args`, the flip, `random_distort_image`),
    /// drawn in Darknet's order.
    public struct Draw: Sendable, Equatable {
        /// Nil with `center=1`: the centre crop.
        public var crop: (radians: Float, scale: Float, dx: Float, dy: Float, aspect: Float)?
        public var flip: Bool
        public var hue: Float
        public var saturation: Float
        public var exposure: Float

        public static func == (a: Draw, b: Draw) -> Bool {
            a.crop.map { [$0.radians, $0.scale, $0.dx, $0.dy, $0.aspect] } == b.crop.map { [$0.radians, $0.scale, $0.dx, $0.dy, $0.aspect] }
                && (a.flip, a.hue, a.saturation, a.exposure) == (b.flip, b.hue, b.saturation, b.exposure)
        }

        /// The choices for an image of `imageWidth`×`imageHeight` cropped to `width`×`height`.
        public init(imageWidth: Int, imageHeight: Int, width: Int, height: Int, augmentation a: Augmentation,
                    random: inout TrainingRandom) {
            if a.center {
                crop = nil
            } else {
                let aspect = random.scale(a.aspect)
                let low = a.minCrop ?? width, high = a.maxCrop ?? 2 * width
                let shorter = random.integer(in: min(low, high)...max(low, high))
                // Darknet truncates the shorter side (of the aspect-scaled image) to an int.
                let side = max(1, Int(min(Float(imageHeight), Float(imageWidth) * aspect)))
                let scale = Float(shorter) / Float(side)
                let radians = random.uniform(-a.angle, a.angle) * 2 * .pi / 360
                // How far the crop's centre may move from the image's centre, either way.
                let dx = (Float(imageWidth) * scale / aspect - Float(width)) / 2
                let dy = (Float(imageHeight) * scale - Float(height)) / 2
                crop = (radians, scale, random.uniform(-dx, dx), random.uniform(-dy, dy), aspect)
            }
            flip = a.flip && random.next() & 1 == 1
            hue = random.uniform(-a.hue, a.hue)
            saturation = random.scale(a.saturation)
            exposure = random.scale(a.exposure)
        }
    }

    /// `image` augmented as `draw` says, `width`×`height`.
    public static func augment(_ image: Image, _ draw: Draw, width: Int, height: Int) -> Image {
        var out = draw.crop.map { c in
            image.rotatedCrop(radians: c.radians, scale: c.scale, width: width, height: height, dx: c.dx, dy: c.dy, aspect: c.aspect)
        } ?? centerCrop(image, width: width, height: height)
        if draw.flip { out.flip() }
        out.distort(hue: draw.hue, saturation: draw.saturation, exposure: draw.exposure)
        return out
    }

    /// The images at `paths` (loaded on all cores), preprocessed for `input` (3 channels): each with its
    /// index in `paths`, and a line for each that did not load. The random draws happen in
    /// order, after loading, so that a seed gives the same images however the work is split.
    public static func images(_ paths: [String], input: Shape, augmentation: Augmentation?,
                              random: inout TrainingRandom) -> (images: [(index: Int, image: Image)], skipped: [String]) {
        precondition(input.channels == 3, "images are RGB")
        var loaded = [Result<Image, Diagnostic>](repeating: .failure(Diagnostic(at: .file(""), "")), count: paths.count)
        loaded.withUnsafeMutableBufferPointer { loaded in
            nonisolated(unsafe) let loaded = loaded
            Parallel.forEach(paths.count, work: paths.count * Parallel.minimumWork) { range in
                for i in range {
                    do { loaded[i] = .success(try Image(contentsOf: paths[i])) } catch let error as Diagnostic {
                        loaded[i] = .failure(error)
                    } catch {
                        loaded[i] = .failure(Diagnostic(at: .file(paths[i]), "\(error)"))
                    }
                }
            }
        }
        var skipped: [String] = []
        var work: [(index: Int, image: Image, draw: Draw?)] = []
        for (index, result) in loaded.enumerated() {
            switch result {
            case .success(let image):
                let draw = augmentation.map {
                    Draw(imageWidth: image.width, imageHeight: image.height, width: input.width, height: input.height, augmentation: $0, random: &random)
                }
                work.append((index, image, draw))
            case .failure(let error):
                skipped.append(error.description)
            }
        }
        var images = [Image](repeating: Image(width: 0, height: 0, data: []), count: work.count)
        images.withUnsafeMutableBufferPointer { images in
            nonisolated(unsafe) let images = images
            Parallel.forEach(work.count, work: work.count * input.count * 16) { range in
                for i in range {
                    let (_, image, draw) = work[i]
                    images[i] = draw.map { augment(image, $0, width: input.width, height: input.height) }
                        ?? centerCrop(image, width: input.width, height: input.height)
                }
            }
        }
        return (zip(work, images).map { ($0.index, $1) }, skipped)
    }
}

extension TrainingRandom {
    /// Uniform in `range` (Darknet's `rand_int`, both ends included).
    public mutating func integer(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + index(below: range.count)
    }
}

extension Image {
    /// The `width`×`height` part whose top left corner is at (`x`, `y`); outside the image, 0
    /// (Darknet's `crop_image`).
    public func cropped(x: Int, y: Int, width newWidth: Int, height newHeight: Int) -> Image {
        var out = [Float](repeating: 0, count: 3 * newWidth * newHeight)
        for k in 0..<3 {
            for row in 0..<newHeight where (0..<height).contains(y + row) {
                for column in 0..<newWidth where (0..<width).contains(x + column) {
                    out[(k * newHeight + row) * newWidth + column] = data[(k * height + y + row) * width + x + column]
                }
            }
        }
        return Image(width: newWidth, height: newHeight, data: out)
    }

    /// Darknet's `rotate_crop_image`: a `width`×`height` window whose centre is (dx, dy) from
    /// the image's centre, the image scaled by `scale` (its width by 1/`aspect` more) and turned
    /// by `radians`; bilinear, 0 outside the image.
    public func rotatedCrop(radians: Float, scale: Float, width newWidth: Int, height newHeight: Int,
                            dx: Float, dy: Float, aspect: Float) -> Image {
        let (cosine, sine) = (cos(radians), sin(radians))
        let (cx, cy) = (Float(width) / 2, Float(height) / 2)
        var out = [Float](repeating: 0, count: 3 * newWidth * newHeight)
        for row in 0..<newHeight {
            let v = (Float(row) - Float(newHeight) / 2) / scale + dy / scale
            for column in 0..<newWidth {
                let u = (Float(column) - Float(newWidth) / 2) / scale * aspect + dx / scale * aspect
                let (x, y) = (cosine * u - sine * v + cx, sine * u + cosine * v + cy)
                // All four neighbours outside (or an extreme angle or aspect's NaN): 0, as zeroed.
                guard x > -1, x < Float(width), y > -1, y < Float(height) else { continue }
                let (ix, iy) = (Int(x.rounded(.down)), Int(y.rounded(.down)))
                let (fx, fy) = (x - Float(ix), y - Float(iy))
                for k in 0..<3 {
                    func pixel(_ px: Int, _ py: Int) -> Float {
                        (0..<width).contains(px) && (0..<height).contains(py) ? data[(k * height + py) * width + px] : 0
                    }
                    out[(k * newHeight + row) * newWidth + column] =
                        (1 - fy) * (1 - fx) * pixel(ix, iy) + fy * (1 - fx) * pixel(ix, iy + 1)
                        + (1 - fy) * fx * pixel(ix + 1, iy) + fy * fx * pixel(ix + 1, iy + 1)
                }
            }
        }
        return Image(width: newWidth, height: newHeight, data: out)
    }
}
