using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Lora;

/// <summary>One slice's low-rank pair in CPU memory: A [r, in] and B [out, r] with PEFT's scaling already folded in.</summary>
public sealed record LoRALayerWeights(Tensor A, Tensor B) : IDisposable
{
    public int Rank => (int)A.shape[0];
    public void Dispose() { A.Dispose(); B.Dispose(); }
}

/// <summary>
/// A PEFT LoRA adapter read from its directory and mapped onto the model's projections (vLLM's LoRAModel): for each
/// adapted projection, one pair per packed slice (null for a slice the adapter leaves alone, e.g. k of q/k/v).
/// Reading validates everything a step would otherwise trip on, and says what is wrong.
/// </summary>
public sealed class LoRAModel : IDisposable
{
    const string Prefix = "base_model.model.";

    public LoRARequest Request { get; }
    public int Rank { get; }
    /// <summary>Adapted projections by module name; each array is parallel to the target's slices.</summary>
    public IReadOnlyDictionary<string, LoRALayerWeights?[]> Modules { get; }

    LoRAModel(LoRARequest request, int rank, Dictionary<string, LoRALayerWeights?[]> modules)
    {
        Request = request;
        Rank = rank;
        Modules = modules;
    }

    /// <summary>Where an adapter name or path points: a directory, or a Hugging Face id found in the hub cache.</summary>
    public static string ResolveDir(string path)
    {
        try { return ModelResolver.Resolve(path); }
        catch (ModelNotFoundException) { throw new LoRAException($"LoRA adapter '{path}' was not found (not a directory, nor in the Hugging Face cache)"); }
    }

    public static LoRAModel Load(LoRARequest request, IReadOnlyList<LoRATarget> targets, LoRAConfig config, ScalarType dtype)
    {
        var dir = ResolveDir(request.LoraPath);
        var peft = PEFTHelper.Load(dir);
        string where = $"LoRA adapter '{request.LoraName}' ({dir})";
        if (peft.R > config.MaxLoraRank)
            throw new LoRAException($"{where}: LoRA rank {peft.R} is greater than max_lora_rank {config.MaxLoraRank} (raise --max-lora-rank)");
        var bySlice = new Dictionary<string, (LoRATarget Target, int Index)>();
        foreach (var t in targets)
            for (int i = 0; i < t.Slices.Length; i++) bySlice[t.Slices[i].Name] = (t, i);
        var leaves = bySlice.Keys.Select(Leaf).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (peft.TargetModuleList is { } list)
        {
            var unknown = list.Where(m => !leaves.Contains(Leaf(m))).ToArray();
            if (unknown.Length > 0)
                throw new LoRAException($"{where}: target_modules [{string.Join(", ", unknown)}] are not modules this model can adapt; expected some of [{string.Join(", ", leaves)}]");
        }
        var file = Path.Combine(dir, "adapter_model.safetensors");
        if (!File.Exists(file))
            throw new LoRAException(File.Exists(Path.Combine(dir, "adapter_model.bin"))
                ? $"{where}: adapter_model.bin (pickle) is not read; save the adapter with safe_serialization (adapter_model.safetensors)"
                : $"{where}: no adapter_model.safetensors");
        SafetensorsFile st;
        try { st = new SafetensorsFile(file); }
        catch (WeightLoadException e) { throw new LoRAException($"{where}: {e.Message}"); }
        var modules = new Dictionary<string, LoRALayerWeights?[]>();
        try
        {
            using (st)
                Read(st, where, peft, bySlice, leaves, dtype, modules);
        }
        catch
        {
            foreach (var m in modules.Values) foreach (var w in m) w?.Dispose();
            throw;
        }
        if (modules.Count == 0) throw new LoRAException($"{where}: adapter_model.safetensors holds no LoRA weights");
        int rank = modules.Values.SelectMany(m => m).Where(w => w != null).Max(w => w!.Rank);
        if (rank > config.MaxLoraRank)
        {
            foreach (var m in modules.Values) foreach (var w in m) w?.Dispose();
            throw new LoRAException($"{where}: LoRA rank {rank} (rank_pattern) is greater than max_lora_rank {config.MaxLoraRank} (raise --max-lora-rank)");
        }
        return new LoRAModel(request, rank, modules);
    }

    static void Read(SafetensorsFile st, string where, PEFTHelper peft, Dictionary<string, (LoRATarget Target, int Index)> bySlice,
        string[] leaves, ScalarType dtype, Dictionary<string, LoRALayerWeights?[]> modules)
    {
        var pairs = new Dictionary<string, (string? A, string? B)>();
        var unexpected = new List<string>();
        foreach (var name in st.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            var n = name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
            bool isA = n.EndsWith(".lora_A.weight", StringComparison.Ordinal), isB = n.EndsWith(".lora_B.weight", StringComparison.Ordinal);
            if (!isA && !isB) { unexpected.Add(name); continue; }
            var module = n[..^".lora_A.weight".Length];
            if (!bySlice.ContainsKey(module)) { unexpected.Add(module); continue; }
            var p = pairs.GetValueOrDefault(module);
            pairs[module] = isA ? (name, p.B) : (p.A, name);
        }
        if (unexpected.Count > 0)
            throw new LoRAException($"{where}: expected LoRA weights of modules in [{string.Join(", ", leaves)}] but the file has [{string.Join(", ", unexpected.Take(8))}{(unexpected.Count > 8 ? ", ..." : "")}]");
        foreach (var (module, (a, b)) in pairs)
        {
            if (a == null || b == null) throw new LoRAException($"{where}: module {module} has lora_{(a == null ? "A" : "B")}.weight missing");
            var (target, index) = bySlice[module];
            var slice = target.Slices[index];
            var sa = st.Tensors[a].Shape;
            var sb = st.Tensors[b].Shape;
            if (sa.Length != 2 || sb.Length != 2 || sa[1] != target.Linear.InFeatures || sb[0] != slice.Size || sb[1] != sa[0])
                throw new LoRAException($"{where}: module {module} has lora_A [{string.Join(", ", sa)}] and lora_B [{string.Join(", ", sb)}]; expected [r, {target.Linear.InFeatures}] and [{slice.Size}, r]");
            int r = (int)sa[0];
            using var ta = st.Read(a);
            using var tb = st.Read(b);
            var weights = modules.TryGetValue(target.Module, out var w) ? w : modules[target.Module] = new LoRALayerWeights?[target.Slices.Length];
            weights[index] = new LoRALayerWeights(ta.to_type(dtype),
                tb.to_type(ScalarType.Float64).mul_(peft.Scaling(r)).to_type(dtype));
        }
    }

    static string Leaf(string module) => module[(module.LastIndexOf('.') + 1)..];

    public void Dispose()
    {
        foreach (var m in Modules.Values) foreach (var w in m) w?.Dispose();
    }
}
