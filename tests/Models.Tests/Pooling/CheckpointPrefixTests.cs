using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Pooling.Conversion;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>Checkpoints load with or without the task model's prefix ('bert.', 'roberta.', 'model.') and give the same results.</summary>
public sealed class CheckpointPrefixTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("pooling-prefix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Copies a fixture with its weight names rewritten by <paramref name="rename"/>.</summary>
    string Renamed(string variant, Func<string, string> rename)
    {
        var src = PoolingFixture.Dir(variant);
        File.Copy(Path.Combine(src, "config.json"), Path.Combine(_dir, "config.json"));
        using var store = WeightStore.Open(src);
        var tensors = store.Names.Select(n =>
        {
            var info = store.Info(n);
            using var t = store.Load(n, info.Shape, ScalarType.Float32, torch.CPU);
            return (rename(n), info.Shape, t.data<float>().ToArray());
        }).ToList();
        SafetensorsWriter.Write(Path.Combine(_dir, "model.safetensors"), tensors);
        return _dir;
    }

    static float[][] Run(string dir, IReadOnlyList<int[]> ids)
    {
        var (model, _) = PoolingModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var runner = new PoolingRunner(model);
            return model.NumLabels > 0
                ? runner.Classify(ids, new PoolingParams { Activation = false })
                : runner.Embed(ids, new PoolingParams { PoolingType = PoolingType.MEAN });
        }
    }

    [Theory]
    [InlineData("bert", "bert.", true)]
    [InlineData("roberta", "roberta.", true)]
    [InlineData("bert-cls3", "bert.", false)]
    [InlineData("roberta-cls2", "roberta.", false)]
    [InlineData("qwen3-embed", "model.", true)]
    [InlineData("qwen3-cls2", "model.", false)]
    public void PrefixedAndBareCheckpointsAgree(string variant, string prefix, bool addPrefix)
    {
        var ids = PoolingFixture.Expected(variant).Select(e => e.InputIds).ToList();
        var want = Run(PoolingFixture.Dir(variant), ids);
        bool head(string n) => n.StartsWith("classifier.", StringComparison.Ordinal) || n.StartsWith("score.", StringComparison.Ordinal);
        var dir = Renamed(variant, n => addPrefix ? prefix + n : head(n) ? n : n.StartsWith(prefix, StringComparison.Ordinal) ? n[prefix.Length..] : throw new InvalidOperationException(n));
        var got = Run(dir, ids);
        for (int i = 0; i < ids.Count; i++) Assert.Equal(want[i], got[i]);
    }

    [Fact]
    public void MissingWeightsAreNamed()
    {
        var dir = Renamed("bert", n => n.Replace("encoder.layer.1.", "encoder.layer.7.", StringComparison.Ordinal));
        var ex = Assert.Throws<WeightLoadException>(() => PoolingModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU));
        Assert.Contains("encoder.layer.1.", ex.Message);
    }

    [Fact]
    public void BertConfigWithoutHiddenActUsesGelu()
    {
        var src = PoolingFixture.Dir("bert");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        Assert.Equal("gelu", config["hidden_act"]!.GetValue<string>());
        config.Remove("hidden_act");
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(src, "model.safetensors"), Path.Combine(_dir, "model.safetensors"));
        var ids = PoolingFixture.Expected("bert").Select(e => e.InputIds).ToList();
        var want = Run(src, ids);
        var got = Run(_dir, ids);
        for (int i = 0; i < ids.Count; i++) Assert.Equal(want[i], got[i]);
    }
}
