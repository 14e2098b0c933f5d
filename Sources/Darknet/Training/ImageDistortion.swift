/// Darknet's colour augmentation and flip of an image, shared by the detector's and the
/// classifier's training augmentation.
extension Image {
    /// Darknet's `flip_image`: mirrored left to right.
    public mutating func flip() {
        for row in 0..<(3 * height) {
            let start = row * width
            for x in 0..<(width / 2) { data.swapAt(start + x, start + width - 1 - x) }
        }
    }

    /// Darknet's `distort_image`: to HSV, saturation and value scaled, hue shifted round the
    /// circle, back to RGB, clipped to [0, 1].
    public mutating func distort(hue: Float, saturation: Float, exposure: Float) {
        let plane = width * height
        for i in 0..<plane {
            let (r, g, b) = (data[i], data[plane + i], data[2 * plane + i])
            var (h, s, v) = Self.hsv(red: r, green: g, blue: b)
            s *= saturation
            v *= exposure
            h += hue
            if h > 1 { h -= 1 }
            if h < 0 { h += 1 }
            let rgb = Self.rgb(hue: h, saturation: s, value: v)
            data[i] = min(max(rgb.0, 0), 1)
            data[plane + i] = min(max(rgb.1, 0), 1)
            data[2 * plane + i] = min(max(rgb.2, 0), 1)
        }
    }

    /// Darknet's `rgb_to_hsv` of one pixel, hue as a fraction of the circle.
    static func hsv(red r: Float, green g: Float, blue b: Float) -> (hue: Float, saturation: Float, value: Float) {
        let high = max(r, g, b), low = min(r, g, b)
        let delta = high - low
        guard high != 0 else { return (0, 0, high) }
        var h: Float
        if r == high {
            h = (g - b) / delta
        } else if g == high {
            h = 2 + (b - r) / delta
        } else {
            h = 4 + (r - g) / delta
        }
        if h < 0 { h += 6 }
        // Darknet divides a grey pixel's 0/0 too; its hue is unused, as s = 0 below.
        return (delta == 0 ? 0 : h / 6, delta / high, high)
    }

    /// Darknet's `hsv_to_rgb` of one pixel.
    static func rgb(hue: Float, saturation s: Float, value v: Float) -> (red: Float, green: Float, blue: Float) {
        guard s != 0 else { return (v, v, v) }
        let h = 6 * hue
        let index = Int(h.rounded(.down))
        let f = h - Float(index)
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        switch index {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }
}
