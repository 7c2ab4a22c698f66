using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Tokenizers;
using TorchSharp;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>
/// The pooling rows on decoder families (scripts/fixtures/make_pooling_rows_fixtures.py): causal LMs converted to
/// rerankers with classifier_from_token (checked against the causal LM's own logits for those tokens), and GritLM's
/// instruction-aware mean over bidirectional hidden states. Hidden states and logits of every variant are compared
/// by <see cref="PoolingFixtureTests"/>.
/// </summary>
public class PoolingRowsTests
{
    static IPoolingModel Load(string variant) =>
        PoolingModelLoader.Load(PoolingFixture.Dir(variant), new LoadOptions { Dtype = "float32" }, torch.CPU).Model;

    static JsonElement[] Inputs(string variant)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(PoolingFixture.Dir(variant), "expected.json")));
        return doc.RootElement.GetProperty("inputs").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    static int[] Ids(JsonElement e) => e.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
    static float[] Floats(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetSingle()).ToArray();

    [Theory]
    [InlineData("qwen3-reranker")]
    [InlineData("qwen2-mxbai-rerank")]
    public void TwoWaySoftmaxScoreIsTheTrueTokensProbabilityOverTheTwo(string variant)
    {
        using var model = Load(variant);
        Assert.Equal(1, model.NumLabels);
        var runner = new PoolingRunner(model);
        foreach (var e in Inputs(variant))
        {
            // token_logits: transformers' causal-LM logits for [false token, true token] at the last position.
            var t = Floats(e, "token_logits");
            double want = Math.Exp(t[1]) / (Math.Exp(t[0]) + Math.Exp(t[1]));
            Assert.Equal(want, runner.Score(Ids(e)), 1e-4);
        }
    }

    [Fact]
    public void NoPostProcessingGivesTheTokensLogits()
    {
        using var model = Load("qwen2-tokens3");
        Assert.Equal(3, model.NumLabels);
        var runner = new PoolingRunner(model);
        foreach (var e in Inputs("qwen2-tokens3"))
            Assert.True(Vec.MaxAbsDiff(runner.Classify([Ids(e)], new PoolingParams { Activation = false })[0], Floats(e, "token_logits")) <= 1e-4);
    }

    [Fact]
    public void TheRerankerOverridesTurnACausalLmCheckpointIntoTheClassifier()
    {
        // Qwen3-Reranker as published: a Qwen3ForCausalLM config; vLLM's --hf-overrides make it the classifier.
        var dir = Directory.CreateTempSubdirectory("qwen3-reranker").FullName;
        try
        {
            var src = PoolingFixture.Dir("qwen3-reranker");
            foreach (var f in new[] { "model.safetensors", "tokenizer.json" }) File.Copy(Path.Combine(src, f), Path.Combine(dir, f));
            var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
            cfg["architectures"] = new JsonArray("Qwen3ForCausalLM");
            cfg.Remove("classifier_from_token");
            cfg.Remove("is_original_qwen3_reranker");
            File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
            const string overrides = """{"architectures": ["Qwen3ForSequenceClassification"], "classifier_from_token": ["no", "yes"], "is_original_qwen3_reranker": true}""";
            using var model = PoolingModelLoader.Load(dir, new LoadOptions { Dtype = "float32", HfOverrides = overrides }, torch.CPU).Model;
            var runner = new PoolingRunner(model);
            foreach (var e in Inputs("qwen3-reranker"))
                Assert.Equal(Floats(e, "logits")[0], runner.Score(Ids(e), p: new PoolingParams { Activation = false }), 1e-4);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void GritLMEmbedsTheMeanAfterTheInstruction()
    {
        var inputs = Inputs("gritlm");
        using var model = Load("gritlm");
        var runner = new PoolingRunner(model);
        var ids = inputs.Select(Ids).ToList();
        for (int i = 0; i < inputs.Length; i++)
            Assert.Equal(inputs[i].GetProperty("instruction_len").GetInt32(), model.InstructionLength(ids[i]));
        var batched = runner.Embed(ids);
        for (int i = 0; i < inputs.Length; i++)
        {
            var want = Floats(inputs[i], "embedding");
            Assert.True(Vec.MaxAbsDiff(batched[i], want) <= 1e-4, $"gritlm input {i}: cosine {Vec.Cosine(batched[i], want)}");
            Assert.True(Vec.MaxAbsDiff(runner.Embed([ids[i]])[0], want) <= 1e-4, $"gritlm input {i} alone");
        }
    }

    [Fact]
    public void GritLMRefusesAnInputThatIsAllInstruction()
    {
        var withInstruction = Ids(Inputs("gritlm")[1]);
        int len = Inputs("gritlm")[1].GetProperty("instruction_len").GetInt32();
        using var model = Load("gritlm");
        var ex = Assert.Throws<PoolingException>(() => new PoolingRunner(model).Embed([withInstruction[..len]]));
        Assert.Contains("nothing follows the instruction", ex.Message);
    }

    static ModelConfig Config(string extra, string? dir = null) =>
        ModelConfig.FromJson(JsonNode.Parse($$"""
            {"architectures": ["Qwen3ForSequenceClassification"], "vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 1,
             "num_attention_heads": 4 {{extra}}}
            """)!.AsObject()) with { ModelDir = dir };

    [Fact]
    public void ConversionSettingsAreReadAsVllmReadsThem()
    {
        Assert.Null(SeqClsConversion.From(Config("")));
        var qwen3 = SeqClsConversion.From(Config(""", "classifier_from_token": ["no", "yes"], "is_original_qwen3_reranker": true"""))!;
        Assert.Equal((SeqClsConversion.From2WaySoftmax, 1), (qwen3.Method, qwen3.NumLabels));
        var tokens = SeqClsConversion.From(Config(""", "classifier_from_token": ["a", "b", "c"], "method": "no_post_processing" """))!;
        Assert.Equal(3, tokens.NumLabels);
        Assert.Contains("but 'method' is not", Assert.Throws<ModelConfigException>(() => SeqClsConversion.From(Config(""", "classifier_from_token": ["no", "yes"]"""))).Message);
        Assert.Contains("not supported", Assert.Throws<ModelConfigException>(() => SeqClsConversion.From(Config(""", "classifier_from_token": ["x"], "method": "softmax" """))).Message);
        Assert.Contains("two classifier_from_token", Assert.Throws<ModelConfigException>(() => SeqClsConversion.From(Config(""", "classifier_from_token": ["x"], "method": "from_2_way_softmax" """))).Message);
    }

    [Fact]
    public void ATokenMissingFromTheTokenizerIsNamed()
    {
        var dir = PoolingFixture.Dir("qwen3-reranker");
        var conversion = SeqClsConversion.From(Config(""", "classifier_from_token": ["no", "definitely"], "method": "from_2_way_softmax" """, dir))!;
        var ex = Assert.Throws<ModelConfigException>(() => conversion.TokenIds(Config("", dir)));
        Assert.Contains("'definitely'", ex.Message);
        Assert.Equal([10, 11], new SeqClsConversion(SeqClsConversion.From2WaySoftmax, ["no", "yes"]).TokenIds(Config("", dir)));
        Assert.Equal(11, HfTokenizer.Load(dir).TokenToId("yes"));
    }
}
