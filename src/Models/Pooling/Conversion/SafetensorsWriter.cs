using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Pipeline.Models.Pooling.Conversion;

/// <summary>Writes float32 tensors to a .safetensors file (8-byte header length, JSON header, little-endian data).</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<(string Name, long[] Shape, float[] Data)> tensors)
    {
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, shape, data) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (shape.Aggregate(1L, (a, b) => a * b) != data.Length)
                throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] does not match {data.Length} values");
            long bytes = data.Length * 4L;
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)(json.Length + pad)));
        f.Write(json);
        for (int i = 0; i < pad; i++) f.WriteByte((byte)' ');
        foreach (var (_, _, data) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            f.Write(MemoryMarshal.AsBytes(data.AsSpan()));
    }
}
