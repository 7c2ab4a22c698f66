using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Sampling;

namespace Pipeline.Models.Tests.Config;

public class ModelConfigTests
{
    static JsonObject Base() => JsonNode.Parse("""
        {"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":100,"hidden_size":64,"intermediate_size":128,
         "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":64}
        """)!.AsObject();

    [Fact]
    public void TransformersFourAndFiveRopeStylesParseTheSame()
    {
        var v4 = Base();
        v4["rope_theta"] = 500000.0;
        v4["rope_scaling"] = JsonNode.Parse("""{"type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}""");
        var v4b = Base();
        v4b["rope_theta"] = 500000.0;
        v4b["rope_scaling"] = JsonNode.Parse("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}""");
        var v5 = Base();
        v5["rope_parameters"] = JsonNode.Parse("""{"rope_type":"llama3","rope_theta":500000.0,"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}""");
        var a = ModelConfig.FromJson(v4).Rope;
        Assert.Equal(a, ModelConfig.FromJson(v4b).Rope);
        Assert.Equal(a, ModelConfig.FromJson(v5).Rope);
        Assert.Equal("llama3", a.RopeType);
        Assert.Equal(500000.0, a.Theta);
        Assert.Equal(8192, a.OriginalMaxPositionEmbeddings);
    }

    [Fact]
    public void DefaultsFollowTransformers()
    {
        var c = ModelConfig.FromJson(Base());
        Assert.Equal(16, c.HeadDim);
        Assert.Equal("default", c.Rope.RopeType);
        Assert.Equal(10000.0, c.Rope.Theta);
        Assert.Null(c.SlidingWindow);
    }

    [Fact]
    public void HfOverridesMergeBeforeUse()
    {
        var dir = Directory.CreateTempSubdirectory("cfg").FullName;
        File.WriteAllText(Path.Combine(dir, "config.json"), Base().ToJsonString());
        var c = ModelConfig.Load(dir, """{"num_hidden_layers": 1, "rope_scaling": {"rope_type": "linear", "factor": 2.0}}""");
        Assert.Equal(1, c.NumHiddenLayers);
        Assert.Equal("linear", c.Rope.RopeType);
        Assert.Equal(2.0, c.Rope.Factor);
        Assert.Equal(128, c.DerivedMaxModelLen);
        var e = Assert.Throws<ArgumentException>(() => ModelConfig.Load(dir, "{not json"));
        Assert.Contains("--hf-overrides", e.Message);
    }

    [Fact]
    public void UnsupportedRopeTypeIsNamed()
    {
        var j = Base();
        j["rope_scaling"] = JsonNode.Parse("""{"rope_type":"mystery","factor":2.0}""");
        var e = Assert.Throws<ModelConfigException>(() => ModelConfig.FromJson(j));
        Assert.Contains("mystery", e.Message);
        Assert.Contains("yarn", e.Message);
    }

    [Fact]
    public void MissingRequiredFieldIsNamed()
    {
        var j = Base();
        j.Remove("hidden_size");
        var e = Assert.Throws<ModelConfigException>(() => ModelConfig.FromJson(j));
        Assert.Contains("hidden_size", e.Message);
    }

    [Fact]
    public void SlidingWindowFollowsLayerTypesAndUseSlidingWindow()
    {
        var j = Base();
        j["sliding_window"] = 8;
        Assert.All(ModelConfig.FromJson(j).SlidingLayers, Assert.True);
        j["layer_types"] = JsonNode.Parse("""["sliding_attention","full_attention"]""");
        Assert.Equal([true, false], ModelConfig.FromJson(j).SlidingLayers);
        var q = Base();
        q["sliding_window"] = 8;
        q["use_sliding_window"] = false;
        Assert.Null(ModelConfig.FromJson(q).SlidingWindow);
    }

    [Fact]
    public void GenerationConfigSuppliesEosAndSamplingDefaults()
    {
        var dir = Directory.CreateTempSubdirectory("gen").FullName;
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id":[7,9],"temperature":0.6,"top_p":0.9,"top_k":20,"do_sample":true}""");
        var g = GenerationConfig.Load(dir);
        Assert.Equal([7, 9], g.EosTokenIds);
        var sp = g.DefaultSamplingParams(new SamplingParams());
        Assert.Equal(0.6f, sp.Temperature);
        Assert.Equal(0.9f, sp.TopP);
        Assert.Equal(20, sp.TopK);
    }
}
