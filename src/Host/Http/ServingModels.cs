using Pipeline.Models.Lora;

namespace Pipeline.Host.Http;

/// <summary>
/// The names a request's `model` may use (vLLM's OpenAIServingModels): the served model, and with --enable-lora each
/// loaded adapter. Loading reads and validates the adapter on every replica (so a bad one is refused at once, with
/// the reason); unloading makes its name unknown to new requests while the running ones finish with it.
/// Thread-safe: routes load and unload while requests resolve names.
/// </summary>
public sealed class ServingModels(string servedModelName, IReadOnlyList<LoRAModelManager> managers)
{
    readonly object _lock = new();
    readonly Dictionary<string, (LoRARequest Request, string Parent)> _loras = new(StringComparer.Ordinal);
    int _nextId;

    public string ServedModelName { get; } = servedModelName;
    public bool LoraEnabled => managers.Count > 0;

    /// <summary>The adapter a request names, null for the base model; 404 for a name that is neither.</summary>
    public LoRARequest? Resolve(string? model)
    {
        if (model == null || model == ServedModelName) return null;
        lock (_lock)
            if (_loras.TryGetValue(model, out var l)) return l.Request;
        throw new ApiError(404, $"The model `{model}` does not exist. Served model: `{ServedModelName}`"
            + (LoraEnabled ? $"; LoRA adapters: {string.Join(", ", Adapters.Select(a => $"`{a.Request.LoraName}`"))}." : "."), "model", "NotFoundError");
    }

    public IReadOnlyList<(LoRARequest Request, string Parent)> Adapters
    {
        get { lock (_lock) return _loras.Values.OrderBy(l => l.Request.LoraIntId).ToArray(); }
    }

    /// <summary>Loads an adapter under <paramref name="name"/>; <see cref="LoRAException"/> (or 400-worthy ArgumentException) says why not.</summary>
    public LoRARequest Load(string name, string path, string? baseModelName = null)
    {
        if (!LoraEnabled) throw new LoRAException("LoRA is not enabled: start the server with --enable-lora");
        if (string.IsNullOrWhiteSpace(name)) throw new LoRAException("lora_name must not be empty");
        if (string.IsNullOrWhiteSpace(path)) throw new LoRAException("lora_path must not be empty");
        if (name == ServedModelName) throw new LoRAException($"lora_name '{name}' is the served model's name");
        if (baseModelName != null && baseModelName != ServedModelName)
            throw new LoRAException($"LoRA adapter '{name}': base_model_name '{baseModelName}' is not the served model ('{ServedModelName}')");
        LoRARequest request;
        lock (_lock)
        {
            if (_loras.ContainsKey(name)) throw new LoRAException($"The lora adapter '{name}' has already been loaded.");
            request = new LoRARequest(name, ++_nextId, path);
        }
        var loaded = new List<LoRAModelManager>();
        try
        {
            foreach (var m in managers) { m.Add(request); loaded.Add(m); }
        }
        catch
        {
            foreach (var m in loaded) m.Remove(request.LoraIntId);
            throw;
        }
        lock (_lock)
        {
            if (_loras.ContainsKey(name))
            {
                foreach (var m in managers) m.Remove(request.LoraIntId);
                throw new LoRAException($"The lora adapter '{name}' has already been loaded.");
            }
            _loras[name] = (request, ServedModelName);
        }
        return request;
    }

    /// <summary>Unloads an adapter; false when no adapter has that name.</summary>
    public bool Unload(string name)
    {
        (LoRARequest Request, string Parent) entry;
        lock (_lock)
            if (!_loras.Remove(name, out entry)) return false;
        foreach (var m in managers) m.Remove(entry.Request.LoraIntId);
        return true;
    }
}
