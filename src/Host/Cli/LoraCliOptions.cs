using System.Text.Json;
using Pipeline.Actors.Engine;

namespace Pipeline.Host.Cli;

/// <summary>vLLM's LoRA options: --enable-lora, --lora-modules, --max-loras, --max-lora-rank, --max-cpu-loras.</summary>
public static class LoraCliOptions
{
    public static readonly OptionSpec[] Options =
    [
        new("enable-lora", "serve LoRA adapters on the model (requests pick one by its name in `model`)", IsFlag: true),
        new("lora-modules", "adapters to load at start: name=path, or JSON {\"name\": ..., \"path\": ..., \"base_model_name\": ...}; several values after one flag, or the flag repeated",
            Repeats: true, Several: true, Metavar: "NAME=PATH"),
        new("max-loras", "most distinct adapters in one engine step (GPU slots)", "1"),
        new("max-lora-rank", "largest adapter rank served (1, 8, 16, 32, 64, 128, 256, 320, 512)", "16"),
        new("max-cpu-loras", "adapters kept in CPU memory, least recently used dropped first (default: --max-loras)"),
    ];

    /// <summary>One --lora-modules entry (vLLM's LoRAModulePath).</summary>
    public sealed record LoRAModulePath(string Name, string Path, string? BaseModelName);

    public static EngineArgs Apply(ParsedArgs a, EngineArgs args)
    {
        bool enable = a.Flag("enable-lora");
        if (!enable && a.GetAll("lora-modules").Count > 0) throw new CliException("--lora-modules needs --enable-lora");
        return args with
        {
            EnableLora = enable,
            MaxLoras = a.Int("max-loras"),
            MaxLoraRank = a.Int("max-lora-rank"),
            MaxCpuLoras = a.GetInt("max-cpu-loras"),
        };
    }

    public static IReadOnlyList<LoRAModulePath> Modules(ParsedArgs a)
    {
        var list = a.GetAll("lora-modules").Select(Parse).ToList();
        var dup = list.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new CliException($"--lora-modules: the name '{dup.Key}' is given twice");
        return list;
    }

    public static LoRAModulePath Parse(string value)
    {
        var v = value.Trim();
        if (v.StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(v);
                var o = doc.RootElement;
                string? Str(string n) => o.TryGetProperty(n, out var p) ? p.ValueKind == JsonValueKind.String ? p.GetString()
                    : p.ValueKind == JsonValueKind.Null ? null : throw new CliException($"--lora-modules: \"{n}\" must be a string in {value}") : null;
                foreach (var p in o.EnumerateObject())
                    if (p.Name is not ("name" or "path" or "base_model_name")) throw new CliException($"--lora-modules: unknown key \"{p.Name}\" in {value} (name, path, base_model_name)");
                var name = Str("name");
                var path = Str("path");
                if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(path)) throw new CliException($"--lora-modules: JSON entries need \"name\" and \"path\", got {value}");
                return new LoRAModulePath(name, path, Str("base_model_name"));
            }
            catch (JsonException e) { throw new CliException($"--lora-modules: invalid JSON {value}: {e.Message}"); }
        }
        int eq = v.IndexOf('=');
        if (eq <= 0 || eq == v.Length - 1) throw new CliException($"--lora-modules entries are name=path or JSON, got '{value}'");
        return new LoRAModulePath(v[..eq], v[(eq + 1)..], null);
    }

    /// <summary>vLLM's VLLM_ALLOW_RUNTIME_LORA_UPDATING (or PIPELINE_ALLOW_RUNTIME_LORA_UPDATING): maps the load/unload routes.</summary>
    public static bool RuntimeUpdatingAllowed() =>
        new[] { "VLLM_ALLOW_RUNTIME_LORA_UPDATING", "PIPELINE_ALLOW_RUNTIME_LORA_UPDATING" }
            .Any(n => Environment.GetEnvironmentVariable(n) is string s && (s == "1" || s.Equals("true", StringComparison.OrdinalIgnoreCase)));
}
