@_spi(CLI) import Darknet
import FoundationEssentials
import Glibc

struct ClassifyCommand: Command {
    static let name = "classify"
    static let abstract = "Prints the most probable classes of JPEG and PNG images under a classifier network."
    static let positionals = [
        PositionalSpec("CFG", "the classifier's Darknet .cfg file (its last layer gives one output per class)"),
        PositionalSpec("WEIGHTS", "its .weights file"),
        PositionalSpec("IMAGE|FOLDER", .oneOrMore, "images, or folders whose .jpg, .jpeg and .png files run in name order"),
    ]
    static let options = [
        OptionSpec.option("names", "FILE", "class names, one per line (default: beside WEIGHTS, its name or the cfg's with .names, else the one .names file there, else class numbers)"),
        .option("data", "FILE", "a Darknet .data file: its labels= or names= (unless --names), checked against its classes="),
        .option("top", "K", "print the K most probable classes (default \(defaultTop), at most the class count)"),
        .flag("json", "print the classes as JSON"),
        noMmapOption,
    ] + DefinitionArguments.options

    static let defaultTop = 5

    let cfg: String
    let weights: String
    let inputs: [String]
    let namesFile: String?
    let dataFile: String?
    let top: Int
    let json: Bool
    let mapped: Bool
    let definition: DefinitionArguments

    init(_ args: Arguments) throws {
        let paths = args.positionals
        (cfg, weights, inputs) = (paths[0], paths[1], Array(paths.dropFirst(2)))
        namesFile = args.string("names")
        dataFile = args.string("data")
        top = try args.int("top") ?? Self.defaultTop
        json = args.flag("json")
        mapped = !args.flag("no-mmap")
        definition = try DefinitionArguments(args)
    }

    /// The class names and the file they come from: --names, else the .data file's labels= or
    /// names=, else beside the weights WEIGHTS' name with .names or the cfg's (`train` writes
    /// `<cfg>.names` beside `<cfg>_final.weights` and `<cfg>.backup`), else the only .names file
    /// in WEIGHTS' folder, else none (class numbers).
    func names() throws -> (names: [String], source: String)? {
        if let namesFile { return (try Detector.names(contentsOf: namesFile), namesFile) }
        if let dataFile {
            let data = try DataFile(contentsOf: dataFile)
            return (try data.classNames(), dataFile)
        }
        let folder = weights.lastIndex(of: "/").map { String(weights[...$0]) } ?? ""
        let base = weights.hasSuffix(".weights") ? String(weights.dropLast(".weights".count)) : weights
        for candidate in [base + ".names", folder + TrainCommand.baseName(cfg) + ".names"] where access(candidate, F_OK) == 0 {
            return (try Detector.names(contentsOf: candidate), candidate)
        }
        let candidates = (try? Folder.entries(folder.isEmpty ? "." : folder))?.filter { $0.hasSuffix(".names") } ?? []
        guard candidates.count == 1 else { return nil }
        return (try Detector.names(contentsOf: folder + candidates[0]), folder + candidates[0])
    }

    func run() throws -> Int32 {
        let spec = try definition.load(cfg)
        let network = try Network(definition: spec, weights: try readWeights(weights, for: spec, mapped: mapped))
        let named = try names()
        if let (names, source) = named, names.count != Classifier.classes(of: spec) {
            throw Diagnostic(at: .file(source), "\(names.count) class names, but the last layer of \(cfg) has \(Classifier.classes(of: spec)) outputs")
        }
        let classifier = try Classifier(network: network, names: named?.names)
        let (paths, fromFolder, emptyFolders) = try expandImageFolders(inputs)
        var failures = emptyFolders, classified = 0, reports: [String] = []
        for path in paths {
            let image: Image
            do { image = try Image(contentsOf: path) } catch let error as Diagnostic {
                // In a folder, one bad file is reported and the rest still run; named alone, it fails the run.
                if fromFolder.contains(path) {
                    printError(Diagnostic(.warning, at: error.location, error.message + "; skipped").description)
                } else {
                    printError(error.description)
                    failures += 1
                }
                continue
            }
            let best = Classifier.top(classifier.classify([image])[0], top)
            classified += 1
            if json {
                let items = best.map { "{\"class_id\": \($0.classID), \"class\": \(jsonString(classifier.names[$0.classID])), \"prob\": \($0.probability)}" }
                reports.append("{\"image\": \(jsonString(path)), \"top\": [" + items.joined(separator: ", ") + "]}")
            } else {
                print("\(path):")
                for (classID, probability) in best {
                    print(String(printf: "  %6.2f%%  ", 100 * probability) + classifier.names[classID])
                }
            }
            fflush(nil) // stdout; naming it is not concurrency-safe in Swift 6
        }
        if json { print("[" + reports.joined(separator: ",\n") + "]") }
        fflush(nil)
        if failures > 0 {
            let total = inputs.count
            printError("\(failures) of \(total) input\(total == 1 ? "" : "s") failed")
        } else if classified == 0 {
            printError("no image could be read")
            return 1
        }
        return failures == 0 ? 0 : 1
    }
}
