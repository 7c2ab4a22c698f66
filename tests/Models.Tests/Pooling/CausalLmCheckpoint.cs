using System.Text.Json.Nodes;
using Pipeline.Models.Tests.Loading;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>
/// Rewrites a base decoder fixture (LlamaModel, ...) as the causal-LM checkpoint it came from: weights under
/// 'model.', a random lm_head, architectures[0] = <paramref name="architecture"/>, plus any extra tensors.
/// </summary>
public static class CausalLmCheckpoint
{
    public static string FromBase(string baseDir, string architecture = "LlamaForCausalLM", params (string Name, long[] Shape, float[] Data)[] extra)
    {
        var dir = Directory.CreateTempSubdirectory("causal-lm").FullName;
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(baseDir, "config.json")))!.AsObject();
        cfg["architectures"] = new JsonArray(architecture);
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        int vocab = cfg["vocab_size"]!.GetValue<int>(), hidden = cfg["hidden_size"]!.GetValue<int>();
        var rng = new Random(7);
        var lmHead = Enumerable.Range(0, vocab * hidden).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(baseDir, "model.safetensors"))
            .Select(t => ("model." + t.Name, t.Shape, t.Data))
            .Append(("lm_head.weight", new long[] { vocab, hidden }, lmHead))
            .Concat(extra);
        SafetensorsTestWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }
}
