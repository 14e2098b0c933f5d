/// A classifier's images, each with its class: what a softmax network learns from. The truth of
/// an image is the one-hot vector of its class over `classNames`.
public struct ClassifierSet: TrainingSet {
    public struct Example: Sendable, Equatable {
        public let path: String
        /// The index in `classNames`.
        public let label: Int

        public init(path: String, label: Int) {
            self.path = path
            self.label = label
        }
    }

    /// The classes in index order: the network's outputs.
    public let classNames: [String]
    public let examples: [Example]
    /// Where the class list was set (the train folder, or `classes=`), for a count that does not fit.
    public let classesOrigin: SourceLocation

    public init(classNames: [String], examples: [Example], classesOrigin: SourceLocation) {
        self.classNames = classNames
        self.examples = examples
        self.classesOrigin = classesOrigin
    }

    public var count: Int { examples.count }

    /// Fails unless the network's last layer gives one output per class.
    public func check(truthsPerImage: Int) throws {
        guard truthsPerImage != classNames.count else { return }
        throw Diagnostic(at: classesOrigin, "\(classNames.count) classes, but the network's last layer has \(truthsPerImage) outputs")
    }

    public func batch(_ indices: [Int], input: Shape, truthsPerImage: Int, augmentation: Augmentation?,
                      random: inout TrainingRandom) throws -> TrainingBatch {
        try check(truthsPerImage: truthsPerImage)
        guard input.channels == 3 else {
            throw Diagnostic(at: classesOrigin, "the network reads \(input.channels) channels, but images give 3 (RGB)")
        }
        let paths = indices.map { examples[$0].path }
        let (images, skipped) = ClassifierPreprocessing.images(paths, input: input, augmentation: augmentation, random: &random)
        var truth = [Float](repeating: 0, count: images.count * truthsPerImage)
        for (row, index) in images.map(\.index).enumerated() { truth[row * truthsPerImage + examples[indices[index]].label] = 1 }
        return TrainingBatch(input: Tensor(shape: [images.count, input.channels, input.height, input.width], data: images.flatMap(\.image.data)),
                             truth: Tensor(shape: [images.count, truthsPerImage], data: truth), skipped: skipped)
    }
}

/// A classifier's training and validation sets: from a folder of class folders (`DIR/train/<class>/…`,
/// `DIR/val/<class>/…`, as PyTorch's ImageFolder reads them) or from Darknet's `.data` lists.
public struct ClassifierData: Sendable {
    public let train: ClassifierSet
    /// Nil when the folder has no `val` or the `.data` file no `valid=`.
    public let validation: ClassifierSet?

    public var classNames: [String] { train.classNames }

    /// A folder of class folders, or a `.data` file.
    public init(contentsOf path: String) throws {
        self = Folder.isFolder(path) ? try Self(classFolders: path) : try Self(dataFile: DataFile(contentsOf: path))
    }

    /// `directory/train/<class>/…` and, when there, `directory/val/<class>/…`. The classes are
    /// train's subfolders in sorted order (their index is the class index, as in ImageFolder);
    /// the images of a class are its .jpg, .jpeg and .png files, subfolders included, in sorted
    /// order. Hidden folders are left out. A class folder without images is an error, and so is
    /// a validation class that training does not have.
    public init(classFolders directory: String) throws {
        let trainFolder = Folder.join(directory, "train")
        guard Folder.isFolder(trainFolder) else {
            throw Diagnostic(at: .file(directory), "expected a folder of class folders in \(trainFolder) (and \(Folder.join(directory, "val"))), found no train folder")
        }
        let classNames = try Self.classFolders(trainFolder)
        guard !classNames.isEmpty else {
            throw Diagnostic(at: .file(trainFolder), "the folder holds no class folders (expected \(trainFolder)/<class>/<image>.png)")
        }
        train = ClassifierSet(classNames: classNames, examples: try Self.examples(in: trainFolder, classes: classNames, folders: classNames),
                              classesOrigin: .file(trainFolder))
        let validationFolder = Folder.join(directory, "val")
        guard Folder.isFolder(validationFolder) else {
            validation = nil
            return
        }
        let folders = try Self.classFolders(validationFolder)
        if let unknown = folders.first(where: { !classNames.contains($0) }) {
            throw Diagnostic(at: .file(Folder.join(validationFolder, unknown)),
                             "no class '\(unknown)' in \(trainFolder) (its classes: \(classNames.joined(separator: ", ")))")
        }
        validation = ClassifierSet(classNames: classNames, examples: try Self.examples(in: validationFolder, classes: classNames, folders: folders),
                                   classesOrigin: .file(trainFolder))
    }

    /// Darknet's classifier `.data`: `labels=` (or `names=`) lists the classes, `classes=` their
    /// count, `train=` and `valid=` list files of image paths. An image's class is the one whose
    /// name occurs in its path (Darknet's `fill_truth`); a path with none or several is an error
    /// naming its line.
    public init(dataFile data: DataFile) throws {
        let classNames = try data.classNames()
        let origin = data.classesLocation
        guard data.entries["train"] != nil else {
            throw Diagnostic(at: .file(data.path), "expected train=: the file listing the training images, one path per line")
        }
        train = ClassifierSet(classNames: classNames, examples: try Self.listed(data, "train", classes: classNames), classesOrigin: origin)
        validation = data.entries["valid"] == nil ? nil
            : ClassifierSet(classNames: classNames, examples: try Self.listed(data, "valid", classes: classNames), classesOrigin: origin)
    }

    /// The visible subfolders of `folder`, sorted.
    static func classFolders(_ folder: String) throws -> [String] {
        Folder.sorted(try Folder.entries(folder).filter { !$0.hasPrefix(".") && Folder.isFolder(Folder.join(folder, $0)) })
    }

    /// The images of each of `folders` (class names) in `root`, labelled by their index in `classes`.
    static func examples(in root: String, classes: [String], folders: [String]) throws -> [ClassifierSet.Example] {
        try folders.flatMap { name in
            let folder = Folder.join(root, name)
            let paths = try imagePaths(in: folder)
            guard !paths.isEmpty else { throw Diagnostic(at: .file(folder), "the class folder holds no .jpg, .jpeg or .png file") }
            return paths.map { ClassifierSet.Example(path: $0, label: classes.firstIndex(of: name)!) }
        }
    }

    /// The image files in `folder` and its visible subfolders, in sorted order (a folder's own
    /// files first, then each subfolder's, as os.walk gives them to ImageFolder).
    static func imagePaths(in folder: String) throws -> [String] {
        let names = Folder.sorted(try Folder.entries(folder).filter { !$0.hasPrefix(".") })
        var files: [String] = [], subfolders: [String] = []
        for name in names {
            let path = Folder.join(folder, name)
            if Folder.isFolder(path) { subfolders.append(path) } else if Folder.isImageName(name) { files.append(path) }
        }
        return try files + subfolders.flatMap { try imagePaths(in: $0) }
    }

    /// The images the list file `key` names (`imageList`; a relative path is read from where the
    /// program runs, else beside the list), each labelled by the one class whose name occurs in it.
    static func listed(_ data: DataFile, _ key: String, classes: [String]) throws -> [ClassifierSet.Example] {
        let listPath = data.filePath(key)!
        var examples: [ClassifierSet.Example] = []
        for (line, name) in try data.reading(key, { try imageList(listPath) }) {
            // Darknet matches the path as written, not where it was found.
            let matches = classes.indices.filter { name.utf8.contains(classes[$0].utf8) }
            guard matches.count == 1 else {
                let found = matches.isEmpty ? "none of the \(classes.count) class names" : matches.map { "'\(classes[$0])'" }.joined(separator: ", ")
                throw Diagnostic(at: .line(file: listPath, line: line),
                                 "\(name): expected exactly one class name in the path (Darknet labels an image by the class name its path contains), found \(found)")
            }
            examples.append(ClassifierSet.Example(path: resolve(name, besideFile: listPath), label: matches[0]))
        }
        guard !examples.isEmpty else { throw Diagnostic(at: .file(listPath), "the list holds no image paths") }
        return examples
    }
}
