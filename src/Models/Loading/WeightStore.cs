using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>
/// All weights of a model directory: one model.safetensors, or the shards named by model.safetensors.index.json.
/// Tensors are read on demand from memory-mapped files, converted to the target dtype and device.
/// </summary>
public sealed class WeightStore : IDisposable
{
    readonly List<SafetensorsFile> _files = new();
    readonly Dictionary<string, SafetensorsFile> _byName = new();

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public static WeightStore Open(string modelDir)
    {
        var store = new WeightStore();
        try
        {
            var index = Path.Combine(modelDir, "model.safetensors.index.json");
            var single = Path.Combine(modelDir, "model.safetensors");
            if (File.Exists(index)) store.OpenIndex(modelDir, index);
            else if (File.Exists(single)) store.Add(new SafetensorsFile(single));
            else
            {
                var any = Directory.GetFiles(modelDir, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal).ToArray();
                if (any.Length == 0)
                    throw new WeightLoadException($"No weights in '{modelDir}': expected model.safetensors or model.safetensors.index.json (use --load-format dummy for random weights).");
                foreach (var f in any) store.Add(new SafetensorsFile(f));
            }
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    void OpenIndex(string dir, string indexPath)
    {
        Dictionary<string, string> map;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(indexPath));
            map = doc.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new WeightLoadException($"{indexPath}: corrupt index ({e.Message})");
        }
        var opened = new Dictionary<string, SafetensorsFile>();
        foreach (var shard in map.Values.Distinct())
        {
            var p = Path.Combine(dir, shard);
            if (!File.Exists(p)) throw new WeightLoadException($"{indexPath} names shard '{shard}', which does not exist");
            var f = new SafetensorsFile(p);
            opened[shard] = f;
            _files.Add(f);
        }
        foreach (var (name, shard) in map)
        {
            if (!opened[shard].Tensors.ContainsKey(name))
                throw new WeightLoadException($"{indexPath} maps tensor '{name}' to '{shard}', which does not contain it");
            _byName[name] = opened[shard];
        }
    }

    void Add(SafetensorsFile f)
    {
        _files.Add(f);
        foreach (var name in f.Tensors.Keys)
        {
            if (_byName.ContainsKey(name)) throw new WeightLoadException($"tensor '{name}' appears in both {_byName[name].Path} and {f.Path}");
            _byName[name] = f;
        }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public TensorInfo Info(string name) =>
        _byName.TryGetValue(name, out var f) ? f.Tensors[name] : throw new WeightLoadException($"missing weight '{name}'");

    /// <summary>Loads a tensor, checking its shape, as <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public Tensor Load(string name, long[] expectedShape, ScalarType dtype, Device device)
    {
        if (!_byName.TryGetValue(name, out var file)) throw new WeightLoadException($"missing weight '{name}' (not in any safetensors file of the model)");
        var info = file.Tensors[name];
        if (!info.Shape.SequenceEqual(expectedShape))
            throw new WeightLoadException($"weight '{name}' in {Path.GetFileName(file.Path)} has shape [{string.Join(", ", info.Shape)}] but the config implies [{string.Join(", ", expectedShape)}]");
        using var cpu = file.Read(name);
        var sameType = cpu.dtype == dtype;
        if (device.type == DeviceType.CPU) return sameType ? cpu.clone() : cpu.to_type(dtype);
        // Move first, convert on the device: the copy over PCIe is then the stored size.
        using var moved = cpu.to(device);
        return sameType ? moved.alias() : moved.to_type(dtype);
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
