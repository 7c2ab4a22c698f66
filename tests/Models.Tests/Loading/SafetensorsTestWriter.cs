using System.Text;
using System.Text.Json;

namespace Pipeline.Models.Tests.Loading;

/// <summary>Writes safetensors files for tests (float32 only), byte for byte as the format specifies.</summary>
public static class SafetensorsTestWriter
{
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, float[] Data)> tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        var list = tensors.ToList();
        foreach (var (name, shape, data) in list)
        {
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + data.Length * 4L } };
            offset += data.Length * 4L;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((ulong)json.Length));
        fs.Write(json);
        foreach (var (_, _, data) in list)
            foreach (var f in data) fs.Write(BitConverter.GetBytes(f));
    }

    /// <summary>Reads back every tensor of a float32 safetensors file (for rewriting fixtures in tests).</summary>
    public static List<(string Name, long[] Shape, float[] Data)> ReadAll(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, n));
        var result = new List<(string, long[], float[])>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var off = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var data = new float[(off[1] - off[0]) / 4];
            Buffer.BlockCopy(bytes, (int)(8 + n + off[0]), data, 0, data.Length * 4);
            result.Add((p.Name, shape, data));
        }
        return result;
    }
}
