using System.Text.Json.Nodes;
using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// Hub checkpoints whose config.json predates transformers' current field names: a fixture's weights under such a
/// config must still give transformers' continuation.
/// </summary>
public sealed class LegacyConfigTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("legacy-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Falcon as first shipped with remote code (RWForCausalLM, RWConfig): n_head / n_layer / n_head_kv, no
    /// num_kv_heads, and the 40B shape told by model_type RefinedWeb rather than new_decoder_architecture.
    /// </summary>
    [Theory]
    [InlineData("falcon-7b-style", "RefinedWebModel", null)]
    [InlineData("falcon-40b-style", "RefinedWeb", 2)]
    public void RemoteCodeConfigMatchesTransformers(string variant, string modelType, int? nHeadKv)
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("RWForCausalLM"), ["model_type"] = modelType, ["vocab_size"] = 512,
            ["hidden_size"] = 64, ["n_head"] = 4, ["n_layer"] = 2, ["multi_query"] = true, ["parallel_attn"] = true,
            ["bias"] = false, ["alibi"] = false, ["layer_norm_epsilon"] = 1e-5, ["bos_token_id"] = 1, ["eos_token_id"] = 2,
            // The fixtures' MLP is 2x wide and their head untied; RWConfig's defaults are 4x and tied.
            ["ffn_hidden_size"] = 128, ["tie_word_embeddings"] = false,
        };
        if (nHeadKv is int kv) config["n_head_kv"] = kv;
        AssertMatches(variant, config);
    }

    /// <summary>Pythia's config.json: rotary_pct and rotary_emb_base instead of rope_parameters.</summary>
    [Fact]
    public void GptNeoXRotaryPctMatchesTransformers()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixture.Dir("gpt-neox"), "config.json")))!.AsObject();
        config.Remove("rope_parameters");
        config["rotary_pct"] = 0.25;
        config["rotary_emb_base"] = 10000;
        AssertMatches("gpt-neox", config);
    }

    void AssertMatches(string variant, JsonObject config)
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(ModelFixture.Dir(variant), "model.safetensors"), Path.Combine(_dir, "model.safetensors"), overwrite: true);

        var expected = ModelFixture.Expected(variant);
        var (model, _) = ModelLoader.Load(_dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var greedy = new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 };
            var results = new BatchGenerator(model, maxModelLen: 128).Generate(expected.Select(p => (IReadOnlyList<int>)p.PromptTokenIds).ToList(), greedy, []);
            for (int i = 0; i < expected.Count; i++) FixtureComparisonTests.Check(expected[i], results[i], $"{variant} with a legacy config, prompt {i}");
        }
    }
}
