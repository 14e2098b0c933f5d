/// The ONNX messages an export writes, each encoded with the field numbers of onnx.proto.
/// Only the fields SwiftDarknet fills are here.
enum ONNX {
    /// `TensorProto.DataType`.
    enum DataType: Int {
        case float = 1
        case int64 = 7
        case bool = 9
    }

    /// A constant tensor (`TensorProto`), its elements little-endian in `raw_data`.
    struct Tensor {
        var name: String
        var dimensions: [Int]
        var dataType: DataType
        var rawData: [UInt8]

        init(name: String, dimensions: [Int], floats: [Float]) {
            precondition(dimensions.reduce(1, *) == floats.count, "a tensor's dimensions and its values disagree")
            (self.name, self.dimensions, dataType) = (name, dimensions, .float)
            rawData = floats.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
        }

        init(name: String, dimensions: [Int], int64s: [Int]) {
            precondition(dimensions.reduce(1, *) == int64s.count, "a tensor's dimensions and its values disagree")
            (self.name, self.dimensions, dataType) = (name, dimensions, .int64)
            rawData = int64s.map { Int64($0).littleEndian }.withUnsafeBytes { Array($0) }
        }

        init(name: String, dimensions: [Int], bools: [Bool]) {
            precondition(dimensions.reduce(1, *) == bools.count, "a tensor's dimensions and its values disagree")
            (self.name, self.dimensions, dataType) = (name, dimensions, .bool)
            rawData = bools.map { $0 ? 1 : 0 }
        }

        var encoded: ProtobufWriter {
            var w = ProtobufWriter()
            for dimension in dimensions { w.field(1, int: dimension) } // dims
            w.field(2, int: dataType.rawValue) // data_type
            w.field(8, string: name) // name
            w.field(9, bytes: rawData) // raw_data
            return w
        }
    }

    /// A node's attribute (`AttributeProto`): its name, its value, and the type field naming it.
    struct Attribute {
        enum Value {
            case int(Int)
            case float(Float)
            case string(String)
            case ints([Int])
        }

        var name: String
        var value: Value

        static func int(_ name: String, _ value: Int) -> Attribute { Attribute(name: name, value: .int(value)) }
        static func float(_ name: String, _ value: Float) -> Attribute { Attribute(name: name, value: .float(value)) }
        static func string(_ name: String, _ value: String) -> Attribute { Attribute(name: name, value: .string(value)) }
        static func ints(_ name: String, _ values: [Int]) -> Attribute { Attribute(name: name, value: .ints(values)) }

        var encoded: ProtobufWriter {
            var w = ProtobufWriter()
            w.field(1, string: name)
            // AttributeType: FLOAT 1, INT 2, STRING 3, INTS 7; then the field holding the value.
            switch value {
            case .float(let f):
                w.field(20, int: 1)
                w.field(2, float: f)
            case .int(let i):
                w.field(20, int: 2)
                w.field(3, int: i)
            case .string(let s):
                w.field(20, int: 3)
                w.field(4, string: s)
            case .ints(let list):
                w.field(20, int: 7)
                for i in list { w.field(8, int: i) }
            }
            return w
        }
    }

    /// One operator applied (`NodeProto`).
    struct Node {
        var opType: String
        var inputs: [String]
        var outputs: [String]
        var name: String
        var attributes: [Attribute] = []

        var encoded: ProtobufWriter {
            var w = ProtobufWriter()
            for input in inputs { w.field(1, string: input) }
            for output in outputs { w.field(2, string: output) }
            w.field(3, string: name)
            w.field(4, string: opType)
            for attribute in attributes { w.field(5, message: attribute.encoded) }
            return w
        }
    }

    /// One dimension of a graph input or output: a number, or a name for one chosen at run time.
    enum Dimension: Equatable {
        case value(Int)
        case parameter(String)
    }

    /// A float32 graph input or output (`ValueInfoProto` with a `TypeProto.Tensor`).
    struct ValueInfo {
        var name: String
        var dimensions: [Dimension]

        var encoded: ProtobufWriter {
            var shape = ProtobufWriter() // TensorShapeProto
            for dimension in dimensions {
                var d = ProtobufWriter()
                switch dimension {
                case .value(let v): d.field(1, int: v) // dim_value
                case .parameter(let p): d.field(2, string: p) // dim_param
                }
                shape.field(1, message: d)
            }
            var tensorType = ProtobufWriter() // TypeProto.Tensor
            tensorType.field(1, int: DataType.float.rawValue) // elem_type
            tensorType.field(2, message: shape)
            var type = ProtobufWriter() // TypeProto
            type.field(1, message: tensorType) // tensor_type
            var w = ProtobufWriter()
            w.field(1, string: name)
            w.field(2, message: type)
            return w
        }
    }

    /// A `GraphProto`.
    struct Graph {
        var name: String
        var nodes: [Node] = []
        var initializers: [Tensor] = []
        var inputs: [ValueInfo] = []
        var outputs: [ValueInfo] = []

        var encoded: ProtobufWriter {
            var w = ProtobufWriter()
            for node in nodes { w.field(1, message: node.encoded) }
            w.field(2, string: name)
            for tensor in initializers { w.field(5, message: tensor.encoded) }
            for input in inputs { w.field(11, message: input.encoded) }
            for output in outputs { w.field(12, message: output.encoded) }
            return w
        }
    }

    /// A `ModelProto` importing the default (ai.onnx) operator set at `opset`.
    struct Model {
        var irVersion: Int
        var opset: Int
        var producerName: String
        var graph: Graph

        var encoded: ProtobufWriter {
            var w = ProtobufWriter()
            w.field(1, int: irVersion)
            w.field(2, string: producerName)
            w.field(7, message: graph.encoded)
            var opsetImport = ProtobufWriter() // OperatorSetIdProto: the default domain, omitted
            opsetImport.field(2, int: opset)
            w.field(8, message: opsetImport)
            return w
        }
    }
}
