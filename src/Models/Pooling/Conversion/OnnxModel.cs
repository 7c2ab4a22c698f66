using System.Runtime.InteropServices;

namespace Pipeline.Models.Pooling.Conversion;

/// <summary>An ONNX initializer (TensorProto): name, dims, and the values as float32 (FLOAT) or int64 (INT64).</summary>
public sealed record OnnxTensor(string Name, long[] Dims, int DataType, float[]? Floats, long[]? Int64s)
{
    public const int Float = 1, Int64 = 7;
}

/// <summary>An ONNX graph node: operator and the names of its inputs and outputs.</summary>
public sealed record OnnxNode(string OpType, string[] Inputs, string[] Outputs);

/// <summary>
/// The parts of an ONNX ModelProto a weight converter needs: graph initializers and nodes, read by hand from the
/// protobuf wire format (ModelProto.graph = 7; GraphProto.node = 1, initializer = 5; TensorProto.dims = 1,
/// data_type = 2, float_data = 4, int64_data = 7, name = 8, raw_data = 9; NodeProto input = 1, output = 2, op_type = 4).
/// </summary>
public sealed class OnnxModel
{
    public required IReadOnlyDictionary<string, OnnxTensor> Initializers { get; init; }
    public required IReadOnlyList<OnnxNode> Nodes { get; init; }

    public static OnnxModel Parse(ReadOnlySpan<byte> model)
    {
        var r = new ProtoReader(model);
        while (r.Next())
            if (r.Field == 7 && r.WireType == 2) return ParseGraph(r.Bytes);
        throw new InvalidDataException("ONNX model has no graph (ModelProto field 7)");
    }

    static OnnxModel ParseGraph(ReadOnlySpan<byte> graph)
    {
        var inits = new Dictionary<string, OnnxTensor>();
        var nodes = new List<OnnxNode>();
        var r = new ProtoReader(graph);
        while (r.Next())
        {
            if (r.Field == 5 && r.WireType == 2)
            {
                var t = ParseTensor(r.Bytes);
                inits[t.Name] = t;
            }
            else if (r.Field == 1 && r.WireType == 2) nodes.Add(ParseNode(r.Bytes));
        }
        return new OnnxModel { Initializers = inits, Nodes = nodes };
    }

    static OnnxNode ParseNode(ReadOnlySpan<byte> node)
    {
        var ins = new List<string>();
        var outs = new List<string>();
        string op = "";
        var r = new ProtoReader(node);
        while (r.Next())
            switch (r.Field)
            {
                case 1: ins.Add(r.String); break;
                case 2: outs.Add(r.String); break;
                case 4: op = r.String; break;
            }
        return new OnnxNode(op, ins.ToArray(), outs.ToArray());
    }

    static OnnxTensor ParseTensor(ReadOnlySpan<byte> tensor)
    {
        var dims = new List<long>();
        int dataType = 0;
        string name = "";
        byte[]? raw = null;
        var floats = new List<float>();
        var ints = new List<long>();
        var r = new ProtoReader(tensor);
        while (r.Next())
            switch (r.Field)
            {
                case 1:
                    if (r.WireType == 0) dims.Add((long)r.Varint); else dims.AddRange(ProtoReader.PackedVarints(r.Bytes));
                    break;
                case 2: dataType = (int)r.Varint; break;
                case 4:
                    if (r.WireType == 5) floats.Add(BitConverter.ToSingle(r.Bytes));
                    else floats.AddRange(MemoryMarshal.Cast<byte, float>(r.Bytes).ToArray());
                    break;
                case 7:
                    if (r.WireType == 0) ints.Add((long)r.Varint); else ints.AddRange(ProtoReader.PackedVarints(r.Bytes));
                    break;
                case 8: name = r.String; break;
                case 9: raw = r.Bytes.ToArray(); break;
                case 14:
                    if (r.Varint == 1) throw new InvalidDataException($"ONNX initializer '{name}' keeps its data in an external file, which is not supported");
                    break;
            }
        long count = dims.Aggregate(1L, (a, b) => a * b);
        float[]? f = null;
        long[]? l = null;
        if (dataType == OnnxTensor.Float)
            f = raw != null ? MemoryMarshal.Cast<byte, float>(raw).ToArray() : floats.ToArray();
        else if (dataType == OnnxTensor.Int64)
            l = raw != null ? MemoryMarshal.Cast<byte, long>(raw).ToArray() : ints.ToArray();
        int have = f?.Length ?? l?.Length ?? -1;
        if (have >= 0 && have != count)
            throw new InvalidDataException($"ONNX initializer '{name}' has {have} values but dims [{string.Join(", ", dims)}] imply {count}");
        return new OnnxTensor(name, dims.ToArray(), dataType, f, l);
    }
}
