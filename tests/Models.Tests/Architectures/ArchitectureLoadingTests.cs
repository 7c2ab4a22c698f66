using System.Text.Json.Nodes;
using Pipeline.Models.Cache;
using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;
using Pipeline.Models.Tests.Loading;
using TorchSharp;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// New architectures' weight layouts, checked by rewriting the `llama` fixture's weights into each layout: a model
/// that computes the same function must reproduce transformers' outputs for the Llama fixture.
/// </summary>
public class ArchitectureLoadingTests
{
    static readonly SamplingParams Greedy = new() { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 };
    const int Layers = 2, Hidden = 64, Inter = 128;

    static Dictionary<string, (long[] Shape, float[] Data)> LlamaWeights() =>
        SafetensorsTestWriter.ReadAll(Path.Combine(ModelFixture.Dir("llama"), "model.safetensors")).ToDictionary(t => t.Name, t => (t.Shape, t.Data));

    static string Write(string architecture, string modelType, Action<JsonObject> config, IEnumerable<(string, long[], float[])> tensors)
    {
        var dir = Directory.CreateTempSubdirectory("arch").FullName;
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixture.Dir("llama"), "config.json")))!.AsObject();
        cfg["architectures"] = new JsonArray(architecture);
        cfg["model_type"] = modelType;
        config(cfg);
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        SafetensorsTestWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }

    static void AssertReproducesLlama(string dir)
    {
        var expected = ModelFixture.Expected("llama");
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var results = new BatchGenerator(model, maxModelLen: 128).Generate(expected.Select(p => (IReadOnlyList<int>)p.PromptTokenIds).ToList(), Greedy, []);
            for (int i = 0; i < expected.Count; i++) FixtureComparisonTests.Check(expected[i], results[i], $"{dir} prompt {i}");
        }
    }

    static float[] Cat(params float[][] parts) => parts.SelectMany(p => p).ToArray();

    [Fact]
    public void Phi3ReadsQkvAndGateUpStoredPacked()
    {
        var w = LlamaWeights();
        var tensors = new List<(string, long[], float[])>();
        foreach (var (name, (shape, data)) in w)
        {
            if (name.Contains(".self_attn.k_proj.") || name.Contains(".self_attn.v_proj.") || name.Contains(".mlp.up_proj.")) continue;
            if (name.Contains(".self_attn.q_proj."))
            {
                string p = name[..name.IndexOf("q_proj", StringComparison.Ordinal)];
                tensors.Add((p + "qkv_proj.weight", [3 * Hidden, Hidden], Cat(data, w[p + "k_proj.weight"].Data, w[p + "v_proj.weight"].Data)));
            }
            else if (name.Contains(".mlp.gate_proj."))
            {
                string p = name[..name.IndexOf("gate_proj", StringComparison.Ordinal)];
                tensors.Add((p + "gate_up_proj.weight", [2 * Inter, Hidden], Cat(data, w[p + "up_proj.weight"].Data)));
            }
            else tensors.Add((name, shape, data));
        }
        AssertReproducesLlama(Write("Phi3ForCausalLM", "phi3", _ => { }, tensors));
    }

    /// <summary>One expert, top-1: the routing weight is 1 and the expert is the Llama MLP, in either weight layout.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MixtralWithOneExpertIsTheDenseModel(bool fusedExperts)
    {
        var w = LlamaWeights();
        var tensors = new List<(string, long[], float[])>();
        foreach (var (name, (shape, data)) in w)
            if (!name.Contains(".mlp.")) tensors.Add((name, shape, data));
        var router = Enumerable.Range(0, Hidden).Select(i => (float)Math.Sin(i)).ToArray();
        for (int l = 0; l < Layers; l++)
        {
            string mlp = $"model.layers.{l}.mlp.";
            var (gate, up, down) = (w[mlp + "gate_proj.weight"].Data, w[mlp + "up_proj.weight"].Data, w[mlp + "down_proj.weight"].Data);
            if (fusedExperts)
            {
                tensors.Add((mlp + "gate.weight", [1, Hidden], router));
                tensors.Add((mlp + "experts.gate_up_proj", [1, 2 * Inter, Hidden], Cat(gate, up)));
                tensors.Add((mlp + "experts.down_proj", [1, Hidden, Inter], down));
            }
            else
            {
                string moe = $"model.layers.{l}.block_sparse_moe.";
                tensors.Add((moe + "gate.weight", [1, Hidden], router));
                tensors.Add((moe + "experts.0.w1.weight", [Inter, Hidden], gate));
                tensors.Add((moe + "experts.0.w3.weight", [Inter, Hidden], up));
                tensors.Add((moe + "experts.0.w2.weight", [Hidden, Inter], down));
            }
        }
        AssertReproducesLlama(Write("MixtralForCausalLM", "mixtral", c => { c["num_local_experts"] = 1; c["num_experts_per_tok"] = 1; }, tensors));
    }

    /// <summary>Same with Qwen3-MoE's per-expert names (plus q/k norms of ones, which Llama does not have) and a dense layer.</summary>
    [Fact]
    public void Qwen3MoeWithOneExpertIsTheDenseModel()
    {
        var w = LlamaWeights();
        var tensors = new List<(string, long[], float[])>();
        foreach (var (name, (shape, data)) in w)
        {
            if (name.StartsWith("model.layers.0.mlp.", StringComparison.Ordinal))
                tensors.Add((name.Replace("model.layers.0.mlp.", "model.layers.0.mlp.experts.0."), shape, data));
            else tensors.Add((name, shape, data));
        }
        tensors.Add(("model.layers.0.mlp.gate.weight", [1, Hidden], new float[Hidden]));
        var ones = Enumerable.Repeat(1f, 16).ToArray();
        for (int l = 0; l < Layers; l++)
        {
            tensors.Add(($"model.layers.{l}.self_attn.q_norm.weight", [16], ones));
            tensors.Add(($"model.layers.{l}.self_attn.k_norm.weight", [16], ones));
        }
        // q/k RMSNorm with unit weights changes q and k, so this only checks that the weights load and the layer
        // choice follows mlp_only_layers; the numbers are compared against the dense Qwen3 layout of the same weights.
        var moeDir = Write("Qwen3MoeForCausalLM", "qwen3_moe", c =>
        {
            c["num_experts"] = 1; c["num_experts_per_tok"] = 1; c["moe_intermediate_size"] = Inter; c["norm_topk_prob"] = false;
            c["mlp_only_layers"] = new JsonArray(1);
        }, tensors);
        var denseTensors = w.Select(t => (t.Key, t.Value.Shape, t.Value.Data)).Concat(tensors.Where(t => t.Item1.Contains("_norm.weight") && t.Item1.Contains("self_attn")));
        var denseDir = Write("Qwen3ForCausalLM", "qwen3", _ => { }, denseTensors);
        var prompts = ModelFixture.Expected("llama").Select(p => (IReadOnlyList<int>)p.PromptTokenIds).ToList();
        var (moe, _) = ModelLoader.Load(moeDir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        var (dense, _) = ModelLoader.Load(denseDir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (moe)
        using (dense)
        {
            var a = new BatchGenerator(moe, maxModelLen: 128).Generate(prompts, Greedy, []);
            var b = new BatchGenerator(dense, maxModelLen: 128).Generate(prompts, Greedy, []);
            for (int i = 0; i < prompts.Count; i++)
            {
                Assert.Equal(b[i].TokenIds, a[i].TokenIds);
                for (int t = 0; t < a[i].TokenIds.Count; t++) Assert.Equal(b[i].Logprobs[t]!.Logprob, a[i].Logprobs[t]!.Logprob, 1e-4);
            }
        }
    }

    /// <summary>Granite with unit multipliers and the usual 1/sqrt(head_dim) attention scale is Llama.</summary>
    [Fact]
    public void GraniteWithUnitMultipliersIsLlama()
    {
        var w = LlamaWeights();
        AssertReproducesLlama(Write("GraniteForCausalLM", "granite", c =>
        {
            c["embedding_multiplier"] = 1.0; c["residual_multiplier"] = 1.0; c["logits_scaling"] = 1.0; c["attention_multiplier"] = 0.25;
        }, w.Select(t => (t.Key, t.Value.Shape, t.Value.Data))));
    }

    /// <summary>Granite's multipliers act where transformers applies them: scaling the logits by 1/s divides the logprob gaps.</summary>
    [Fact]
    public void GraniteLogitsScalingDividesTheLogits()
    {
        var w = LlamaWeights().Select(t => (t.Key, t.Value.Shape, t.Value.Data)).ToList();
        var plain = Write("GraniteForCausalLM", "granite", c => { c["attention_multiplier"] = 0.25; }, w);
        var scaled = Write("GraniteForCausalLM", "granite", c => { c["attention_multiplier"] = 0.25; c["logits_scaling"] = 2.0; }, w);
        var (a, _) = ModelLoader.Load(plain, new LoadOptions { Dtype = "float32", LoadFormat = "safetensors" }, torch.CPU);
        var (b, _) = ModelLoader.Load(scaled, new LoadOptions { Dtype = "float32", LoadFormat = "safetensors" }, torch.CPU);
        using (a)
        using (b)
        using (var hidden = torch.randn(3, Hidden))
        using (var la = a.ComputeLogits(hidden))
        using (var lb = b.ComputeLogits(hidden))
            Assert.True(torch.allclose(la / 2, lb, rtol: 1e-5, atol: 1e-6));
    }

    /// <summary>transformers 5 keys Gemma 3's rotary by layer type; 4.x gave rope_local_base_freq beside rope_theta.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Gemma3SlidingLayersHaveTheirOwnRotary(bool byLayerType)
    {
        var dir = Write("Gemma3ForCausalLM", "gemma3_text", c =>
        {
            c["num_hidden_layers"] = 7; c["sliding_window"] = 8; c["query_pre_attn_scalar"] = 16; c["hidden_activation"] = "gelu_pytorch_tanh";
            c.Remove("rope_parameters");
            if (byLayerType)
                c["rope_parameters"] = JsonNode.Parse("""
                    {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                     "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}
                    """);
            else
            {
                c["rope_theta"] = 1000000.0; c["rope_local_base_freq"] = 10000.0;
                c["rope_scaling"] = JsonNode.Parse("""{"rope_type": "linear", "factor": 8.0}""");
            }
        }, []);
        var config = Pipeline.Models.Config.ModelConfig.Load(dir);
        Assert.Equal("linear", config.Rope.RopeType);
        Assert.Equal(1000000.0, config.Rope.Theta);
        if (byLayerType) Assert.Equal(10000.0, config.SlidingRope!.Theta);
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32", LoadFormat = "dummy" }, torch.CPU);
        using (model)
        {
            // Without layer_types: every 6th layer is global.
            var specs = model.KVCacheConfig(16).LayerSpecs;
            for (int i = 0; i < 7; i++) Assert.Equal(i == 5, specs[i] is not SlidingWindowSpec);
            var gen = new BatchGenerator(model, maxModelLen: 64).Generate([[5, 6, 7, 8, 9, 10, 11, 12, 13, 14]], Greedy with { MaxTokens = 3 }, []);
            Assert.Equal(3, gen[0].TokenIds.Count);
        }
    }

    /// <summary>SmolLM3 with rotary on every layer is Llama; with a NoPE layer it is not.</summary>
    [Fact]
    public void SmolLM3NoRopeLayersSkipRotary()
    {
        var w = LlamaWeights().Select(t => (t.Key, t.Value.Shape, t.Value.Data)).ToList();
        AssertReproducesLlama(Write("SmolLM3ForCausalLM", "smollm3", c => c["no_rope_layers"] = new JsonArray(1, 1), w));
        var nope = Write("SmolLM3ForCausalLM", "smollm3", c => c["no_rope_layers"] = new JsonArray(1, 0), w);
        var expected = ModelFixture.Expected("llama");
        var (model, _) = ModelLoader.Load(nope, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var r = new BatchGenerator(model, maxModelLen: 128).Generate([expected[3].PromptTokenIds], Greedy, [])[0];
            Assert.NotEqual(expected[3].Logprobs[0], r.Logprobs[0]!.Logprob, 3);
        }
    }

    [Fact]
    public void ArceeLoadsAnUngatedMlp()
    {
        var w = LlamaWeights().Where(t => !t.Key.Contains("gate_proj")).Select(t => (t.Key, t.Value.Shape, t.Value.Data)).ToList();
        var dir = Write("ArceeForCausalLM", "arcee", c => c["hidden_act"] = "relu2", w);
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
            Assert.Equal(4, new BatchGenerator(model, maxModelLen: 64).Generate([[3, 4, 5]], Greedy with { MaxTokens = 4 }, [])[0].TokenIds.Count);
    }

    /// <summary>StarCoder2's LayerNorms (weight and bias), biased projections and c_fc/c_proj MLP load by name.</summary>
    [Fact]
    public void Starcoder2LoadsLayerNormsAndBiases()
    {
        var rng = new Random(3);
        float[] R(long n, float scale) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() - 0.5) * scale).ToArray();
        var tensors = new List<(string, long[], float[])>
        {
            ("model.embed_tokens.weight", [512, Hidden], R(512 * Hidden, 2f)),
            ("lm_head.weight", [512, Hidden], R(512 * Hidden, 0.3f)),
            ("model.norm.weight", [Hidden], R(Hidden, 0.2f).Select(x => x + 1).ToArray()),
            ("model.norm.bias", [Hidden], R(Hidden, 0.2f)),
        };
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            foreach (var n in new[] { "input_layernorm", "post_attention_layernorm" })
            {
                tensors.Add((p + n + ".weight", [Hidden], R(Hidden, 0.2f).Select(x => x + 1).ToArray()));
                tensors.Add((p + n + ".bias", [Hidden], R(Hidden, 0.2f)));
            }
            foreach (var n in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
            {
                tensors.Add((p + "self_attn." + n + ".weight", [Hidden, Hidden], R(Hidden * Hidden, 0.3f)));
                tensors.Add((p + "self_attn." + n + ".bias", [Hidden], R(Hidden, 0.1f)));
            }
            tensors.Add((p + "mlp.c_fc.weight", [Inter, Hidden], R(Inter * Hidden, 0.3f)));
            tensors.Add((p + "mlp.c_fc.bias", [Inter], R(Inter, 0.1f)));
            tensors.Add((p + "mlp.c_proj.weight", [Hidden, Inter], R(Inter * Hidden, 0.3f)));
            tensors.Add((p + "mlp.c_proj.bias", [Hidden], R(Hidden, 0.1f)));
        }
        var dir = Write("Starcoder2ForCausalLM", "starcoder2", c => { c["use_bias"] = true; c["norm_epsilon"] = 1e-5; c["hidden_act"] = "gelu_pytorch_tanh"; }, tensors);
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var gen = new BatchGenerator(model, maxModelLen: 64);
            var batched = gen.Generate([[3, 4, 5, 6], [9, 8, 7]], Greedy with { MaxTokens = 5 }, []);
            var solo = gen.Generate([[9, 8, 7]], Greedy with { MaxTokens = 5 }, [])[0];
            Assert.Equal(batched[1].TokenIds, solo.TokenIds);
        }
    }

    [Fact]
    public void Gemma2WithoutLayerTypesSlidesOnEvenLayers()
    {
        var dir = Write("Gemma2ForCausalLM", "gemma2", c =>
        {
            c["num_hidden_layers"] = 3; c["sliding_window"] = 8; c["query_pre_attn_scalar"] = 16;
            c["attn_logit_softcapping"] = 50.0; c["final_logit_softcapping"] = 30.0; c["hidden_activation"] = "gelu_pytorch_tanh";
        }, []);
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32", LoadFormat = "dummy" }, torch.CPU);
        using (model)
        {
            var specs = model.KVCacheConfig(16).LayerSpecs;
            Assert.Equal(8, Assert.IsType<SlidingWindowSpec>(specs[0]).SlidingWindow);
            Assert.IsType<FullAttentionSpec>(specs[1]);
            Assert.IsType<SlidingWindowSpec>(specs[2]);
        }
    }
}
