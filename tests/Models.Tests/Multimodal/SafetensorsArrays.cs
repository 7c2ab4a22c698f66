using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>Reads a small safetensors file into plain arrays (float32 / uint8 / int64), for comparing against fixtures.</summary>
sealed class SafetensorsArrays
{
    readonly byte[] bytes;
    readonly int dataStart;
    readonly JsonObject header;

    public SafetensorsArrays(string path)
    {
        bytes = File.ReadAllBytes(path);
        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        header = JsonNode.Parse(bytes.AsSpan(8, (int)n))!.AsObject();
        dataStart = 8 + (int)n;
    }

    public bool Has(string name) => header.ContainsKey(name);
    public string Dtype(string name) => header[name]!["dtype"]!.GetValue<string>();
    public int[] Shape(string name) => header[name]!["shape"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();

    ReadOnlySpan<byte> Raw(string name)
    {
        var off = header[name]!["data_offsets"]!.AsArray();
        int b = off[0]!.GetValue<int>(), e = off[1]!.GetValue<int>();
        return bytes.AsSpan(dataStart + b, e - b);
    }

    public byte[] Bytes(string name) => Dtype(name) == "U8" ? Raw(name).ToArray() : throw new InvalidOperationException($"{name} is {Dtype(name)}");

    public float[] Floats(string name) => Dtype(name) switch
    {
        "F32" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Raw(name)).ToArray(),
        "U8" => Raw(name).ToArray().Select(b => (float)b).ToArray(),
        var d => throw new InvalidOperationException($"{name} is {d}"),
    };

    public long[] Longs(string name) => Dtype(name) switch
    {
        "I64" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(Raw(name)).ToArray(),
        "I32" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(Raw(name)).ToArray().Select(x => (long)x).ToArray(),
        var d => throw new InvalidOperationException($"{name} is {d}"),
    };
}
