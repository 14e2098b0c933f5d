extension Image {
    /// Darknet's `resize_image`: bilinear in two passes (columns, then rows), sampling the
    /// corners exactly (scale = (old − 1)/(new − 1)).
    public func resized(width newWidth: Int, height newHeight: Int) -> Image {
        let wScale = newWidth > 1 ? Float(width - 1) / Float(newWidth - 1) : 0
        let hScale = newHeight > 1 ? Float(height - 1) / Float(newHeight - 1) : 0
        var part = [Float](repeating: 0, count: 3 * newWidth * height)
        for k in 0..<3 {
            for r in 0..<height {
                let source = k * width * height + r * width
                for c in 0..<newWidth {
                    let target = (k * height + r) * newWidth + c
                    if c == newWidth - 1 || width == 1 {
                        part[target] = data[source + width - 1]
                    } else {
                        let sx = Float(c) * wScale
                        let ix = Int(sx)
                        let dx = sx - Float(ix)
                        part[target] = (1 - dx) * data[source + ix] + dx * data[source + ix + 1]
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: 3 * newWidth * newHeight)
        for k in 0..<3 {
            for r in 0..<newHeight {
                let sy = Float(r) * hScale
                let iy = Int(sy)
                let dy = sy - Float(iy)
                let row = (k * newHeight + r) * newWidth
                for c in 0..<newWidth { out[row + c] = (1 - dy) * part[(k * height + iy) * newWidth + c] }
                if r == newHeight - 1 || height == 1 { continue }
                for c in 0..<newWidth { out[row + c] += dy * part[(k * height + iy + 1) * newWidth + c] }
            }
        }
        return Image(width: newWidth, height: newHeight, data: out)
    }

    /// The size an image is scaled to inside a network input of `width`×`height`, keeping its
    /// aspect ratio (Darknet's `letterbox_image` and `correct_yolo_boxes` share this rule), and
    /// at least a pixel: for an image over 416 times wider than tall Darknet's division gives a
    /// height of 0, and its boxes then divide by it.
    static func letterboxSize(imageWidth: Int, imageHeight: Int, width: Int, height: Int) -> (width: Int, height: Int) {
        if Float(width) / Float(imageWidth) < Float(height) / Float(imageHeight) {
            return (width, max(1, imageHeight * width / imageWidth))
        }
        return (max(1, imageWidth * height / imageHeight), height)
    }

    /// Darknet's `letterbox_image`: resized to fit, centred on a canvas of 0.5.
    public func letterboxed(width: Int, height: Int) -> Image {
        let size = Self.letterboxSize(imageWidth: self.width, imageHeight: self.height, width: width, height: height)
        let resized = resized(width: size.width, height: size.height)
        var boxed = Image(width: width, height: height, fill: 0.5)
        let dx = (width - size.width) / 2, dy = (height - size.height) / 2
        for k in 0..<3 {
            for y in 0..<size.height {
                for x in 0..<size.width {
                    boxed.data[(k * height + y + dy) * width + x + dx] = resized.data[(k * size.height + y) * size.width + x]
                }
            }
        }
        return boxed
    }
}
