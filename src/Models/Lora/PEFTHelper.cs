using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.Models.Lora;

/// <summary>
/// An adapter's adapter_config.json as PEFT writes it (vLLM's PEFTHelper): rank, alpha, rsLoRA, the target modules
/// (a list of module-name suffixes, or one regex PEFT full-matches against module names), and the features vLLM
/// refuses (DoRA, LoRA biases, modules_to_save, per-module alpha).
/// </summary>
public sealed record PEFTHelper(int R, double LoraAlpha, bool UseRslora, IReadOnlyList<string>? TargetModuleList, string? TargetModuleRegex)
{
    /// <summary>PEFT's scaling of B·A for a module of rank <paramref name="r"/>: alpha / r, or alpha / sqrt(r) with rsLoRA.</summary>
    public double Scaling(int r) => UseRslora ? LoraAlpha / Math.Sqrt(r) : LoraAlpha / r;

    public static PEFTHelper Load(string dir)
    {
        var path = Path.Combine(dir, "adapter_config.json");
        if (!File.Exists(path)) throw new LoRAException($"{dir}: no adapter_config.json (a PEFT LoRA adapter directory holds adapter_config.json and adapter_model.safetensors)");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new LoRAException($"{path}: not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new LoRAException($"{path}: not a JSON object");
            string? peftType = Str(root, "peft_type");
            if (peftType != null && !peftType.Equals("LORA", StringComparison.OrdinalIgnoreCase))
                throw new LoRAException($"{path}: peft_type is {peftType}; only LORA adapters are served");
            int r = root.TryGetProperty("r", out var rv) && rv.ValueKind == JsonValueKind.Number && rv.TryGetInt32(out var ri) && ri > 0
                ? ri : throw new LoRAException($"{path}: 'r' must be a positive integer");
            double alpha = root.TryGetProperty("lora_alpha", out var av) && av.ValueKind == JsonValueKind.Number
                ? av.GetDouble() : throw new LoRAException($"{path}: 'lora_alpha' is missing or not a number");
            bool rs = Bool(root, "use_rslora");
            var unsupported = new List<string>();
            if (Bool(root, "use_dora")) unsupported.Add("use_dora (DoRA)");
            if (Str(root, "bias") is { } bias && bias != "none") unsupported.Add($"bias '{bias}' (only 'none')");
            if (Bool(root, "lora_bias")) unsupported.Add("lora_bias");
            if (root.TryGetProperty("modules_to_save", out var ms) && ms.ValueKind == JsonValueKind.Array && ms.GetArrayLength() > 0)
                unsupported.Add("modules_to_save (only null, as in vLLM)");
            if (root.TryGetProperty("alpha_pattern", out var ap) && ap.ValueKind == JsonValueKind.Object && ap.EnumerateObject().Any())
                unsupported.Add("alpha_pattern");
            if (unsupported.Count > 0) throw new LoRAException($"{path}: not supported: {string.Join("; ", unsupported)}");
            if (!root.TryGetProperty("target_modules", out var tm) || tm.ValueKind is JsonValueKind.Null)
                throw new LoRAException($"{path}: 'target_modules' is missing");
            if (tm.ValueKind == JsonValueKind.String)
            {
                var rx = tm.GetString()!;
                try { _ = new Regex(rx); }
                catch (ArgumentException e) { throw new LoRAException($"{path}: target_modules regex '{rx}' is invalid: {e.Message}"); }
                return new PEFTHelper(r, alpha, rs, null, rx);
            }
            if (tm.ValueKind != JsonValueKind.Array || tm.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                throw new LoRAException($"{path}: 'target_modules' must be a list of module names or one regex string");
            return new PEFTHelper(r, alpha, rs, tm.EnumerateArray().Select(e => e.GetString()!).ToArray(), null);
        }
    }

    static string? Str(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    static bool Bool(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
