using System.Text.Json;
using Pipeline.Models.Architectures;
using Pipeline.Models.Lora;
using Pipeline.Models.Loading;
using Pipeline.Models.Tests.Fixtures;
using Pipeline.Models.Tests.Loading;
using TorchSharp;

namespace Pipeline.Models.Tests.Lora;

/// <summary>
/// Adapters that cannot be served are refused at load with an error naming the problem (vLLM's checks: rank above
/// --max-lora-rank, modules the model does not have, unsupported PEFT features, malformed files), and the packed
/// q/k/v and gate/up projections are offered to adapters under their checkpoint names.
/// </summary>
public sealed class LoRAValidationTests : IDisposable
{
    static readonly ICausalLM Model = ModelLoader.Load(ModelFixture.Dir("llama"), new LoadOptions { Dtype = "float32" }, torch.CPU).Model;
    static readonly IReadOnlyList<LoRATarget> Targets = ((ISupportsLoRA)Model).LoRATargets;
    readonly string _dir = Directory.CreateTempSubdirectory("lora-bad").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    string Adapter(object config, IEnumerable<(string, long[], float[])>? tensors = null, string name = "a")
    {
        var d = Path.Combine(_dir, name);
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "adapter_config.json"), config as string ?? JsonSerializer.Serialize(config));
        SafetensorsTestWriter.Write(Path.Combine(d, "adapter_model.safetensors"), tensors ?? Pair("model.layers.0.self_attn.q_proj", 8, 64, 64));
        return d;
    }

    static IEnumerable<(string, long[], float[])> Pair(string module, int r, long inF, long outF) =>
    [
        ($"base_model.model.{module}.lora_A.weight", [r, inF], new float[r * inF]),
        ($"base_model.model.{module}.lora_B.weight", [outF, r], new float[outF * r]),
    ];

    static Dictionary<string, object> Config(int r = 8, object? targets = null) => new()
    {
        ["peft_type"] = "LORA", ["r"] = r, ["lora_alpha"] = 16, ["target_modules"] = targets ?? new[] { "q_proj", "v_proj" }, ["bias"] = "none",
    };

    static string Fails(string dir, int maxRank = 16)
    {
        var e = Assert.Throws<LoRAException>(() => LoRAModel.Load(new LoRARequest("bad", 1, dir), Targets, new LoRAConfig(1, maxRank), torch.ScalarType.Float32).Dispose());
        return e.Message;
    }

    [Fact]
    public void Packed_projections_are_offered_under_their_checkpoint_names()
    {
        var qkv = Targets.Single(t => t.Module == "model.layers.1.self_attn.qkv_proj");
        Assert.Equal(["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.v_proj"], qkv.Slices.Select(s => s.Name));
        Assert.Equal([0L, 64, 128], qkv.Slices.Select(s => s.Offset));
        var gateUp = Targets.Single(t => t.Module == "model.layers.0.mlp.gate_up_proj");
        Assert.Equal(["model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj"], gateUp.Slices.Select(s => s.Name));
        Assert.Contains(Targets, t => t.Module == "model.layers.0.mlp.down_proj");
        Assert.Contains(Targets, t => t.Module == "model.layers.0.self_attn.o_proj");
    }

    [Fact]
    public void A_valid_adapter_loads_onto_its_slice_with_the_scaling_folded_into_B()
    {
        var tensors = Pair("model.layers.0.self_attn.v_proj", 8, 64, 64).Select(t => (t.Item1, t.Item2, t.Item3.Select((_, i) => 1f).ToArray())).ToList();
        var cfg = Config();
        cfg["use_rslora"] = true;
        using var m = LoRAModel.Load(new LoRARequest("ok", 1, Adapter(cfg, tensors)), Targets, new LoRAConfig(1, 16), torch.ScalarType.Float32);
        var pairs = m.Modules["model.layers.0.self_attn.qkv_proj"];
        Assert.Null(pairs[0]);
        Assert.Null(pairs[1]);
        Assert.Equal(8, m.Rank);
        // rsLoRA: alpha / sqrt(r) = 16 / sqrt(8)
        Assert.Equal(16 / Math.Sqrt(8), pairs[2]!.B[0, 0].item<float>(), 5);
    }

    [Fact]
    public void Rank_above_max_lora_rank_is_refused() =>
        Assert.Contains("greater than max_lora_rank 8", Fails(Adapter(Config(r: 16), Pair("model.layers.0.self_attn.q_proj", 16, 64, 64)), maxRank: 8));

    [Fact]
    public void Target_modules_the_model_does_not_have_are_named() =>
        Assert.Contains("[lm_head, embed_tokens]", Fails(Adapter(Config(targets: new[] { "q_proj", "lm_head", "embed_tokens" }))));

    [Fact]
    public void Weights_of_modules_the_model_does_not_have_are_named() =>
        Assert.Contains("model.layers.7.self_attn.q_proj", Fails(Adapter(Config(targets: ".*q_proj"), Pair("model.layers.7.self_attn.q_proj", 8, 64, 64))));

    [Fact]
    public void Wrong_shapes_and_missing_halves_are_refused()
    {
        Assert.Contains("expected [r, 64] and [64, r]", Fails(Adapter(Config(), Pair("model.layers.0.self_attn.q_proj", 8, 32, 64), "shape")));
        Assert.Contains("lora_B.weight missing", Fails(Adapter(Config(), Pair("model.layers.0.self_attn.q_proj", 8, 64, 64).Take(1), "half")));
    }

    [Fact]
    public void Unsupported_peft_features_are_refused()
    {
        var dora = Config();
        dora["use_dora"] = true;
        dora["modules_to_save"] = new[] { "lm_head" };
        var msg = Fails(Adapter(dora));
        Assert.Contains("DoRA", msg);
        Assert.Contains("modules_to_save", msg);
    }

    [Fact]
    public void Malformed_files_are_refused()
    {
        Assert.Contains("not valid JSON", Fails(Adapter("{ r: 8", name: "json")));
        Assert.Contains("'r' must be a positive integer", Fails(Adapter(new { lora_alpha = 8, target_modules = new[] { "q_proj" } }, name: "nor")));
        Assert.Contains("no adapter_config.json", Fails(_dir));
        var truncated = Adapter(Config(), name: "trunc");
        var file = Path.Combine(truncated, "adapter_model.safetensors");
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..^100]);
        Assert.Contains("truncated", Fails(truncated));
        Assert.Contains("was not found", Fails(Path.Combine(_dir, "nowhere")));
    }
}
