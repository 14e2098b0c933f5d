import CPNG
import CTurboJPEG

/// An RGB image as Darknet holds one: planar (C, H, W) floats in [0, 1].
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Red plane, then green, then blue.
    public var data: [Float]

    public init(width: Int, height: Int, data: [Float]) {
        precondition(data.count == 3 * width * height, "an RGB image needs 3·width·height floats")
        self.width = width
        self.height = height
        self.data = data
    }

    /// A width×height image filled with one value, as Darknet's letterbox canvas (0.5).
    public init(width: Int, height: Int, fill: Float) {
        self.init(width: width, height: height, data: Array(repeating: fill, count: 3 * width * height))
    }

    /// Images larger than this many pixels are refused before their pixels are allocated.
    public static let maximumPixels = 1 << 28

    /// Decodes a JPEG or PNG file (by its first bytes); grayscale becomes RGB, alpha is dropped
    /// (as Darknet's OpenCV loader does). Corrupt or truncated files are errors, never partial images.
    public init(contentsOf path: String) throws {
        let bytes = try InputFile.contents(of: path)
        guard !bytes.isEmpty else { throw Diagnostic(at: .file(path), "the image file is empty") }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = try Self.decodeJPEG(bytes, path: path)
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = try Self.decodePNG(bytes, path: path)
        } else {
            let kind = bytes.starts(with: Array("GIF8".utf8)) ? "a GIF" : bytes.starts(with: Array("BM".utf8)) ? "a BMP" : "neither JPEG nor PNG"
            throw Diagnostic(at: .file(path), "unsupported image: the file is \(kind) (expected JPEG or PNG)")
        }
    }

    static func checkSize(_ width: Int, _ height: Int, path: String) throws {
        guard width > 0, height > 0 else {
            throw Diagnostic(at: .file(path), "the image declares a size of \(width)×\(height)")
        }
        guard width * height <= maximumPixels else {
            throw Diagnostic(at: .file(path), "the image declares \(width)×\(height) pixels, more than the \(maximumPixels) accepted")
        }
    }

    /// Interleaved 8-bit pixels with `channels` per pixel (the first three RGB) → planar floats.
    init(interleaved pixels: UnsafePointer<UInt8>, channels: Int, width: Int, height: Int) {
        let plane = width * height
        var data = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { data[c * plane + i] = Float(pixels[i * channels + c]) / 255 }
        }
        self.init(width: width, height: height, data: data)
    }

    private static func decodeJPEG(_ bytes: [UInt8], path: String) throws -> Image {
        guard let handle = tjInitDecompress() else { throw Diagnostic(at: .file(path), "cannot start the JPEG decoder") }
        defer { tjDestroy(handle) }
        func failure(_ what: String) -> Diagnostic {
            Diagnostic(at: .file(path), "corrupt JPEG (\(what)): \(String(cString: tjGetErrorStr2(handle)))")
        }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, bytes, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw failure("header")
        }
        try checkSize(Int(width), Int(height), path: path)
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        // Warnings (a truncated scan, bad data) stop decoding: a silently grey image is a wrong answer.
        let status = tjDecompress2(handle, bytes, UInt(bytes.count), &pixels, width, 0, height, Int32(TJPF_RGB.rawValue),
                                   TJFLAG_STOPONWARNING)
        guard status == 0 else { throw failure("data") }
        return pixels.withUnsafeBufferPointer { Image(interleaved: $0.baseAddress!, channels: 3, width: Int(width), height: Int(height)) }
    }

    private static func decodePNG(_ bytes: [UInt8], path: String) throws -> Image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        func failure() -> Diagnostic {
            let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return Diagnostic(at: .file(path), "corrupt PNG: \(message)")
        }
        guard png_image_begin_read_from_memory(&image, bytes, bytes.count) != 0 else { throw failure() }
        try checkSize(Int(image.width), Int(image.height), path: path)
        image.format = 3 // PNG_FORMAT_RGBA: gray and palette images expand; alpha is dropped below
        var pixels = [UInt8](repeating: 0, count: Int(image.width) * Int(image.height) * 4)
        guard png_image_finish_read(&image, nil, &pixels, 0, nil) != 0 else { throw failure() }
        return pixels.withUnsafeBufferPointer {
            Image(interleaved: $0.baseAddress!, channels: 4, width: Int(image.width), height: Int(image.height))
        }
    }

    /// Encodes as an 8-bit RGB PNG, written to a temporary file and renamed into place.
    public func writePNG(to path: String) throws {
        let plane = width * height
        var pixels = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { pixels[i * 3 + c] = UInt8((min(max(data[c * plane + i], 0), 1) * 255).rounded()) }
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = 2 // PNG_FORMAT_RGB
        defer { png_image_free(&image) }
        var size = 0
        guard png_image_write_to_memory(&image, nil, &size, 0, pixels, 0, nil) != 0 else {
            throw Diagnostic(at: .file(path), "cannot encode the PNG")
        }
        var encoded = [UInt8](repeating: 0, count: size)
        guard png_image_write_to_memory(&image, &encoded, &size, 0, pixels, 0, nil) != 0 else {
            throw Diagnostic(at: .file(path), "cannot encode the PNG")
        }
        try writeAtomically(to: path) { write in try encoded.prefix(size).withUnsafeBytes { try write($0) } }
    }
}
