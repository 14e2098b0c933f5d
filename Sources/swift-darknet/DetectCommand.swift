@_spi(CLI) import Darknet
import Dispatch
import FoundationEssentials
import Glibc

struct DetectCommand: Command {
    static let name = "detect"
    static let abstract = "Finds objects in JPEG and PNG images and writes each image, boxes drawn, as a PNG."
    static let positionals = [
        PositionalSpec("CFG", "the detector's Darknet .cfg file (with [yolo] or [region] layers)"),
        PositionalSpec("WEIGHTS", "its .weights file"),
        PositionalSpec("IMAGE|FOLDER", .oneOrMore, "images, or folders whose .jpg, .jpeg and .png files run in name order"),
    ]
    static let options = [
        OptionSpec.option("thresh", "T", "report objects whose score is above T, in 0...1 (default \(DetectionOptions().threshold))"),
        .option("nms", "N", "drop boxes overlapping a better one of their class by more than N IoU (default \(DetectionOptions().nms))"),
        .option("names", "FILE", "class names, one per line (default: COCO's 80)"),
        .option("data", "FILE", "a Darknet .data file: its names= (unless --names) and classes=, checked against the cfg"),
        .option("out", "DIR", "the folder for the annotated PNGs (default \(defaultOutput))"),
        .option("batch", "B", "images per forward pass (default 1)"),
        .option("resize", "MODE", "letterbox (keep the aspect ratio, pad with grey) or stretch images to the input size "
                + "(default: the cfg's [net] letter_box=, else stretch for the alexeyab dialect, letterbox for darknet)"),
        .flag("json", "print the objects as JSON"),
        noMmapOption,
    ] + DefinitionArguments.options

    static let defaultOutput = "detections"

    let cfg: String
    let weights: String
    let inputs: [String]
    let options: DetectionOptions
    let namesFile: String?
    let dataFile: String?
    let json: Bool
    let outputDirectory: String
    let batch: Int
    let mapped: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        let paths = args.positionals
        (cfg, weights, inputs) = (paths[0], paths[1], Array(paths.dropFirst(2)))
        func probability(_ name: String, _ fallback: Float) throws -> Float {
            guard let text = args.string(name) else { return fallback }
            guard let value = Float(text), (0...1).contains(value) else { throw UsageError("--\(name) \(text): expected a number in 0...1") }
            return value
        }
        let defaults = DetectionOptions()
        var resize: Resize?
        if let text = args.string("resize") {
            guard let mode = Resize(rawValue: text) else {
                throw UsageError("--resize \(text): expected " + Resize.allCases.map(\.rawValue).joined(separator: " or "))
            }
            resize = mode
        }
        options = DetectionOptions(threshold: try probability("thresh", defaults.threshold), nms: try probability("nms", defaults.nms),
                                   resize: resize)
        namesFile = args.string("names")
        dataFile = args.string("data")
        json = args.flag("json")
        outputDirectory = args.string("out") ?? Self.defaultOutput
        batch = try args.int("batch", in: 1...256) ?? 1
        mapped = !args.flag("no-mmap")
        definition = try DefinitionArguments(args)
    }

    func run() throws -> Int32 {
        let spec = try definition.load(cfg)
        var namesPath = namesFile
        if let dataFile {
            let data = try DataFile(contentsOf: dataFile)
            try data.check(against: CfgFile(path: cfg))
            namesPath = namesPath ?? data.namesPath
        }
        let names = try namesPath.map(Detector.names(contentsOf:)) ?? Detector.cocoNames
        let network = try Network(definition: spec, weights: try readWeights(weights, for: spec, mapped: mapped))
        let detector = try Detector(network: network, names: names)
        let (paths, _, emptyFolders) = try expandImageFolders(inputs)
        try createDirectory(outputDirectory)
        let streaming = paths.count > 1 && isatty(STDERR_FILENO) != 0
        let start = DispatchTime.now().uptimeNanoseconds
        var failures = emptyFolders, done = 0
        var reports: [String] = []
        for first in stride(from: 0, to: paths.count, by: batch) {
            let chunk = paths[first..<min(first + batch, paths.count)]
            var images: [(String, Image)] = []
            for path in chunk {
                do { images.append((path, try Image(contentsOf: path))) } catch let error as Diagnostic {
                    printError(error.description)
                    failures += 1
                }
            }
            guard !images.isEmpty else { continue }
            let batchStart = DispatchTime.now().uptimeNanoseconds
            let results = detector.detect(images.map(\.1), options: options)
            // A batch runs as one pass: each of its images is given an equal share of the time.
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - batchStart) / 1e6 / Double(images.count)
            for ((path, image), detections) in zip(images, results) {
                var annotated = image
                annotated.annotate(detections, classes: names.count)
                let output = Folder.join(outputDirectory, URL(filePath: path).deletingPathExtension().lastPathComponent + ".png")
                do { try annotated.writePNG(to: output) } catch let error as Diagnostic {
                    printError(error.description)
                    failures += 1
                    continue
                }
                done += 1
                if json {
                    reports.append(Self.json(path: path, detections))
                } else {
                    print("\(path): \(detections.count) object\(detections.count == 1 ? "" : "s") in " + String(printf: "%.0f ms", milliseconds) + " → \(output)")
                    for d in detections {
                        let sigma = d.uncertainty.map { String(printf: " σ [%.3f, %.3f, %.3f, %.3f]", $0.x, $0.y, $0.w, $0.h) } ?? ""
                        print("  \(d.className) " + String(printf: "%.3f [%.1f, %.1f, %.1f, %.1f]", d.probability, d.left, d.top, d.right, d.bottom) + sigma)
                    }
                }
            }
            // Standard output is buffered and errors are not: flushed here, an image's line comes
            // before the next image's error and the closing count, even through a pipe.
            fflush(nil) // stdout; naming it is not concurrency-safe in Swift 6
            if streaming { writeStandardError("\r[\(chunk.endIndex)/\(paths.count)]") }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if json { print("[" + reports.joined(separator: ",\n") + "]") }
        fflush(nil)
        if paths.count > 1 {
            printError((streaming ? "\n" : "") + String(printf: "%d images in %.2f s: %.2f images/s", done, seconds, Double(done) / seconds))
        }
        // The last line says whether everything ran: the count above leaves the failures out.
        // An empty folder is an input that failed, but not an image.
        let (total, noun) = (paths.count + emptyFolders, emptyFolders == 0 ? "image" : "input")
        if failures > 0 { printError("\(failures) of \(total) \(noun)\(total == 1 ? "" : "s") failed") }
        return failures == 0 ? 0 : 1
    }

    static func json(path: String, _ detections: [Detection]) -> String {
        let items = detections.map { d in
            let sigma = d.uncertainty.map { ", \"uncertainty\": [\($0.x), \($0.y), \($0.w), \($0.h)]" } ?? ""
            return "{\"class_id\": \(d.classID), \"class\": \(jsonString(d.className)), \"prob\": \(d.probability), \"box\": [\(d.left), \(d.top), \(d.right), \(d.bottom)]\(sigma)}"
        }
        return "{\"image\": \(jsonString(path)), \"detections\": [" + items.joined(separator: ", ") + "]}"
    }
}
