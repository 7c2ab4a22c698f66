using System.IO.MemoryMappedFiles;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record TensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End, string File)
{
    public long NumElements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>A memory-mapped .safetensors file: the header is parsed and checked up front, tensor bytes are read on demand.</summary>
public sealed class SafetensorsFile : IDisposable
{
    readonly MemoryMappedFile _map;
    readonly MemoryMappedViewAccessor _view;
    readonly long _dataStart;
    public string Path { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    static readonly Dictionary<string, (ScalarType Type, int Size)> Dtypes = new()
    {
        ["F64"] = (ScalarType.Float64, 8), ["F32"] = (ScalarType.Float32, 4), ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2), ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1), ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    public SafetensorsFile(string path)
    {
        Path = path;
        // Hugging Face cache snapshots hold symlinks to blobs: the length is the target's.
        var length = (new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? new FileInfo(path)).Length;
        if (length < 8) throw new WeightLoadException($"{path}: truncated safetensors file ({length} bytes, no header)");
        using (var fs = File.OpenRead(path))
        {
            Span<byte> lenBytes = stackalloc byte[8];
            fs.ReadExactly(lenBytes);
            var headerLen = BitConverter.ToUInt64(lenBytes);
            if (headerLen > (ulong)(length - 8) || headerLen > 100_000_000)
                throw new WeightLoadException($"{path}: corrupt or truncated safetensors file (header length {headerLen} but file has {length} bytes)");
            var header = new byte[headerLen];
            fs.ReadExactly(header);
            _dataStart = 8 + (long)headerLen;
            Tensors = ParseHeader(header, path, length - _dataStart);
        }
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
    }

    static Dictionary<string, TensorInfo> ParseHeader(byte[] header, string path, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new WeightLoadException($"{path}: corrupt safetensors header: {e.Message}"); }
        var result = new Dictionary<string, TensorInfo>();
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new WeightLoadException($"{path}: corrupt safetensors header (not a JSON object)");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__") continue;
                try
                {
                    var dtype = p.Value.GetProperty("dtype").GetString()!;
                    var shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                    var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                    var info = new TensorInfo(p.Name, dtype, shape, offsets[0], offsets[1], path);
                    if (!Dtypes.TryGetValue(dtype, out var dt))
                        throw new WeightLoadException($"{path}: tensor '{p.Name}' has unsupported dtype {dtype}");
                    if (info.End < info.Begin || info.End - info.Begin != info.NumElements * dt.Size)
                        throw new WeightLoadException($"{path}: tensor '{p.Name}' has {info.End - info.Begin} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {info.NumElements * dt.Size}");
                    if (info.End > dataLength)
                        throw new WeightLoadException($"{path}: truncated: tensor '{p.Name}' ends at byte {info.End} of the data section but the file holds {dataLength}");
                    result[p.Name] = info;
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
                {
                    throw new WeightLoadException($"{path}: corrupt header entry for tensor '{p.Name}': {e.Message}");
                }
            }
        }
        return result;
    }

    public static ScalarType ScalarTypeOf(string dtype) =>
        Dtypes.TryGetValue(dtype, out var d) ? d.Type : throw new WeightLoadException($"unsupported safetensors dtype {dtype}");

    /// <summary>Copies a tensor out of the mapped file into a new CPU tensor of its stored dtype.</summary>
    public unsafe Tensor Read(string name)
    {
        var info = Tensors[name];
        var t = torch.empty(info.Shape, ScalarTypeOf(info.Dtype));
        long total = info.End - info.Begin;
        if (total == 0) return t;
        byte* basePtr = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            byte* src = basePtr + _view.PointerOffset + _dataStart + info.Begin;
            // Tensor.bytes gives a span over the tensor's storage; copy in chunks below 2 GiB.
            using var flat = t.view(-1);
            long elemSize = total / Math.Max(1, info.NumElements);
            long perChunk = Math.Max(1, (1L << 30) / elemSize);
            for (long start = 0; start < info.NumElements; start += perChunk)
            {
                long n = Math.Min(perChunk, info.NumElements - start);
                using var part = flat.narrow(0, start, n);
                var dst = part.bytes;
                new ReadOnlySpan<byte>(src + start * elemSize, (int)(n * elemSize)).CopyTo(dst);
                part.bytes = dst;
            }
        }
        finally { _view.SafeMemoryMappedViewHandle.ReleasePointer(); }
        return t;
    }

    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }
}

/// <summary>A weight file or tensor is missing, unexpected, of the wrong shape, truncated or corrupt.</summary>
public sealed class WeightLoadException(string message) : Exception(message);
