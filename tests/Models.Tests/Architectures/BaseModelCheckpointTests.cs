using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;
using Pipeline.Models.Tests.Loading;
using TorchSharp;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// GPT-2, BLOOM and OPT checkpoints on the Hub were saved from the base model: their names lack `transformer.` or
/// `model.`, GPT-2's carry the causal-mask buffers `h.N.attn.bias` / `h.N.attn.masked_bias`, and their configs omit
/// tie_word_embeddings (tied by default). Such a copy of a fixture must still match transformers' continuation.
/// </summary>
public sealed class BaseModelCheckpointTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("base-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("gpt2", "transformer.", true)]
    [InlineData("bloom", "transformer.", false)]
    [InlineData("opt-postnorm-proj", "model.", false)]
    public void CheckpointWithoutPrefixMatchesTransformers(string variant, string prefix, bool maskBuffers)
    {
        var src = ModelFixture.Dir(variant);
        // Their config.json files leave tie_word_embeddings to transformers' default (tied).
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        if (config["tie_word_embeddings"]!.GetValue<bool>()) config.Remove("tie_word_embeddings");
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(src, "model.safetensors"))
            .Select(t => t.Name.StartsWith(prefix, StringComparison.Ordinal) ? t with { Name = t.Name[prefix.Length..] } : t).ToList();
        if (maskBuffers)
            tensors.AddRange([("h.0.attn.bias", [1, 1, 4, 4], new float[16]), ("h.0.attn.masked_bias", [], [-1e4f])]);
        SafetensorsTestWriter.Write(Path.Combine(_dir, "model.safetensors"), tensors);

        var expected = ModelFixture.Expected(variant);
        var (model, _) = ModelLoader.Load(_dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var greedy = new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 };
            var results = new BatchGenerator(model, maxModelLen: 128).Generate(expected.Select(p => (IReadOnlyList<int>)p.PromptTokenIds).ToList(), greedy, []);
            for (int i = 0; i < expected.Count; i++) FixtureComparisonTests.Check(expected[i], results[i], $"{variant} prompt {i}");
        }
    }
}
