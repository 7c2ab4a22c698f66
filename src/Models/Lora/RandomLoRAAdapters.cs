using System.Text.Json;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling.Conversion;

namespace Pipeline.Models.Lora;

/// <summary>
/// Writes random PEFT adapters for a model's projections (every slice of every target, one rank): what benchmarks
/// time adapters with when the model itself has random weights (--load-format dummy).
/// </summary>
public static class RandomLoRAAdapters
{
    public static IReadOnlyList<string> Write(string dir, IReadOnlyList<LoRATarget> targets, int count, int rank, int seed = 0)
    {
        var rng = new Random(seed);
        var dirs = new List<string>();
        var leaves = targets.SelectMany(t => t.Slices).Select(s => s.Name[(s.Name.LastIndexOf('.') + 1)..]).Distinct().ToArray();
        for (int i = 0; i < count; i++)
        {
            var d = Path.Combine(dir, $"lora-{i}");
            Directory.CreateDirectory(d);
            var tensors = new List<(string, long[], float[])>();
            foreach (var t in targets)
                foreach (var s in t.Slices)
                {
                    tensors.Add(($"base_model.model.{s.Name}.lora_A.weight", [rank, t.Linear.InFeatures], Normal(rng, rank * t.Linear.InFeatures, 0.01f)));
                    tensors.Add(($"base_model.model.{s.Name}.lora_B.weight", [s.Size, rank], Normal(rng, s.Size * rank, 0.01f)));
                }
            SafetensorsWriter.Write(Path.Combine(d, "adapter_model.safetensors"), tensors);
            // A JsonObject, not reflection-based serialization, which trimmed builds turn off.
            File.WriteAllText(Path.Combine(d, "adapter_config.json"), new System.Text.Json.Nodes.JsonObject
            {
                ["peft_type"] = "LORA", ["r"] = rank, ["lora_alpha"] = 2 * rank,
                ["target_modules"] = new System.Text.Json.Nodes.JsonArray(leaves.Select(l => (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(l)).ToArray()),
                ["bias"] = "none",
            }.ToJsonString());
            dirs.Add(d);
        }
        return dirs;
    }

    static float[] Normal(Random rng, long n, float std)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return a;
    }
}
