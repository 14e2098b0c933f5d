/// A 5×7 bitmap font of our own for box labels: lowercase letters (uppercase is drawn as
/// lowercase), digits and a little punctuation; anything else is drawn as a hollow box.
enum Font {
    static let width = 5
    static let height = 7

    /// Each glyph: 7 rows of 5 columns, "#" for ink.
    static let glyphs: [Character: [String]] = [
        "a": [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
        "b": ["#....", "#....", "####.", "#...#", "#...#", "#...#", "####."],
        "c": [".....", ".....", ".####", "#....", "#....", "#....", ".####"],
        "d": ["....#", "....#", ".####", "#...#", "#...#", "#...#", ".####"],
        "e": [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
        "f": ["..##.", ".#...", "####.", ".#...", ".#...", ".#...", ".#..."],
        "g": [".....", ".####", "#...#", "#...#", ".####", "....#", ".###."],
        "h": ["#....", "#....", "####.", "#...#", "#...#", "#...#", "#...#"],
        "i": ["..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."],
        "j": ["...#.", ".....", "..##.", "...#.", "...#.", "#..#.", ".##.."],
        "k": ["#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."],
        "l": [".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "m": [".....", ".....", "##.#.", "#.#.#", "#.#.#", "#.#.#", "#.#.#"],
        "n": [".....", ".....", "####.", "#...#", "#...#", "#...#", "#...#"],
        "o": [".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."],
        "p": [".....", "####.", "#...#", "#...#", "####.", "#....", "#...."],
        "q": [".....", ".####", "#...#", "#...#", ".####", "....#", "....#"],
        "r": [".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."],
        "s": [".....", ".....", ".####", "#....", ".###.", "....#", "####."],
        "t": [".#...", ".#...", "####.", ".#...", ".#...", ".#..#", "..##."],
        "u": [".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"],
        "v": [".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
        "w": [".....", ".....", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."],
        "x": [".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"],
        "y": [".....", "#...#", "#...#", "#...#", ".####", "....#", ".###."],
        "z": [".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"],
        "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
        "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
        "3": ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
        "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
        "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
        "6": ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
        "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
        "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
        "9": [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
        ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
        ":": [".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."],
        ",": [".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."],
        "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
        "_": [".....", ".....", ".....", ".....", ".....", ".....", "#####"],
        "%": ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
        " ": [".....", ".....", ".....", ".....", ".....", ".....", "....."],
    ]
    static let unknown = ["#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####"]

    static func glyph(_ character: Character) -> [String] {
        glyphs[Character(character.lowercased())] ?? unknown
    }
}

extension Image {
    /// Fills a rectangle (clipped to the image) with one colour.
    mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, color: (Float, Float, Float)) {
        let plane = width * height
        let rgb = [color.0, color.1, color.2]
        for y in max(0, y0)..<max(max(0, y0), min(height, y1)) {
            for x in max(0, x0)..<max(max(0, x0), min(width, x1)) {
                for c in 0..<3 { data[c * plane + y * width + x] = rgb[c] }
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale`×`scale`.
    mutating func draw(text: String, x: Int, y: Int, scale: Int, color: (Float, Float, Float)) {
        for (i, character) in text.enumerated() {
            let glyph = Font.glyph(character)
            let left = x + i * (Font.width + 1) * scale
            for (row, line) in glyph.enumerated() {
                for (column, ink) in line.enumerated() where ink == "#" {
                    fill(x0: left + column * scale, y0: y + row * scale, x1: left + (column + 1) * scale,
                         y1: y + (row + 1) * scale, color: color)
                }
            }
        }
    }

    /// Darknet's `draw_detections` look: each box drawn once, `thickness` pixels wide in the colour
    /// of its most probable class, under one label naming all its classes ("dog 0.91, cat 0.55")
    /// in a filled strip above it (inside its top edge when there is no room).
    public mutating func annotate(_ detections: [Detection], classes: Int) {
        var boxes: [[Float]: [Detection]] = [:]
        var order: [[Float]] = []
        for detection in detections {
            let key = [detection.left, detection.top, detection.right, detection.bottom]
            guard !key.contains(where: \.isNaN) else { continue } // nowhere to draw it
            if boxes[key] == nil { order.append(key) }
            boxes[key, default: []].append(detection)
        }
        for key in order {
            let group = boxes[key]!.sorted { $0.probability > $1.probability }
            let label = group.map { "\($0.className) \(String(printf: "%.2f", $0.probability))" }.joined(separator: ", ")
            // Detections made elsewhere may lie off the image, as far as Int cannot hold.
            func pixel(_ value: Float, _ size: Int) -> Int { Int(Detection.clamped(value, to: size)) }
            drawBox(left: pixel(key[0], width), top: pixel(key[1], height), right: pixel(key[2], width), bottom: pixel(key[3], height), label: label,
                    color: Self.color(forClass: group[0].classID, of: classes))
        }
    }

    mutating func drawBox(left: Int, top: Int, right: Int, bottom: Int, label: String, color: (Float, Float, Float)) {
        let thickness = max(1, Int(Float(height) * 0.006))
        fill(x0: left, y0: top, x1: right + 1, y1: top + thickness, color: color)
        fill(x0: left, y0: bottom - thickness + 1, x1: right + 1, y1: bottom + 1, color: color)
        fill(x0: left, y0: top, x1: left + thickness, y1: bottom + 1, color: color)
        fill(x0: right - thickness + 1, y0: top, x1: right + 1, y1: bottom + 1, color: color)
        let scale = max(1, height / 300)
        let labelHeight = (Font.height + 2) * scale
        let labelTop = top >= labelHeight ? top - labelHeight : top
        fill(x0: left, y0: labelTop, x1: left + label.count * (Font.width + 1) * scale + scale, y1: labelTop + labelHeight, color: color)
        draw(text: label, x: left + scale, y: labelTop + scale, scale: scale, color: (0, 0, 0))
    }

    /// Darknet's class colour: `get_color` over six hues, at offset class·123457 mod classes.
    public static func color(forClass classID: Int, of classes: Int) -> (Float, Float, Float) {
        let hues: [[Float]] = [[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 1, 0], [1, 1, 0], [1, 0, 0]]
        let offset = classID * 123_457 % max(classes, 1)
        func channel(_ c: Int) -> Float {
            var ratio = Float(offset) / Float(max(classes, 1)) * 5
            let i = Int(ratio.rounded(.down)), j = Int(ratio.rounded(.up))
            ratio -= Float(i)
            return (1 - ratio) * hues[i][c] + ratio * hues[j][c]
        }
        return (channel(2), channel(1), channel(0))
    }
}
