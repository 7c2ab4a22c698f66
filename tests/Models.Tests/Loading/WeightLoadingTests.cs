using Pipeline.Models.Loading;
using Pipeline.Models.Registry;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Loading;

/// <summary>Weight files: sharded loading, and one clear error per way a checkpoint can be broken.</summary>
public class WeightLoadingTests
{
    const string Variant = "llama";

    static string CopyFixture(string variant = Variant)
    {
        var dir = Directory.CreateTempSubdirectory("model").FullName;
        foreach (var f in Directory.GetFiles(ModelFixture.Dir(variant)))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    static Exception LoadError(string dir) =>
        Assert.ThrowsAny<Exception>(() => ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU).Model.Dispose());

    [Fact]
    public void ShardedCheckpointGivesTheSameTokens()
    {
        var dir = CopyFixture();
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(dir, "model.safetensors"));
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var half = tensors.Count / 2;
        SafetensorsTestWriter.Write(Path.Combine(dir, "model-00001-of-00002.safetensors"), tensors.Take(half));
        SafetensorsTestWriter.Write(Path.Combine(dir, "model-00002-of-00002.safetensors"), tensors.Skip(half));
        var map = tensors.Select((t, i) => $"\"{t.Name}\": \"model-0000{(i < half ? 1 : 2)}-of-00002.safetensors\"");
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), "{\"metadata\": {}, \"weight_map\": {" + string.Join(",", map) + "}}");
        var expected = ModelFixture.Expected(Variant)[0];
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var r = new BatchGenerator(model).Generate([expected.PromptTokenIds], new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true }, []);
            Assert.Equal(expected.TokenIds, r[0].TokenIds);
        }
    }

    [Fact]
    public void MissingWeightIsNamed()
    {
        var dir = CopyFixture();
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(dir, "model.safetensors"));
        SafetensorsTestWriter.Write(Path.Combine(dir, "model.safetensors"), tensors.Where(t => t.Name != "model.layers.1.mlp.up_proj.weight"));
        var e = LoadError(dir);
        Assert.IsType<WeightLoadException>(e);
        Assert.Contains("missing weight 'model.layers.1.mlp.up_proj.weight'", e.Message);
    }

    [Fact]
    public void UnexpectedWeightIsNamed()
    {
        var dir = CopyFixture();
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(dir, "model.safetensors"));
        tensors.Add(("model.layers.0.self_attn.surprise.weight", [2], [1f, 2f]));
        SafetensorsTestWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        var e = LoadError(dir);
        Assert.IsType<WeightLoadException>(e);
        Assert.Contains("unexpected weight(s)", e.Message);
        Assert.Contains("model.layers.0.self_attn.surprise.weight", e.Message);
    }

    [Fact]
    public void ShapeMismatchNamesTensorAndShapes()
    {
        var dir = CopyFixture();
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(dir, "model.safetensors"));
        int i = tensors.FindIndex(t => t.Name == "model.norm.weight");
        tensors[i] = (tensors[i].Name, [32], tensors[i].Data.Take(32).ToArray());
        SafetensorsTestWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        var e = LoadError(dir);
        Assert.Contains("weight 'model.norm.weight'", e.Message);
        Assert.Contains("[32]", e.Message);
        Assert.Contains("[64]", e.Message);
    }

    [Fact]
    public void TruncatedFileIsReported()
    {
        var dir = CopyFixture();
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 1000).ToArray());
        var e = LoadError(dir);
        Assert.IsType<WeightLoadException>(e);
        Assert.Contains("truncated", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void CorruptHeaderIsReported()
    {
        var dir = CopyFixture();
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        bytes[10] = (byte)'#';
        bytes[11] = (byte)'#';
        File.WriteAllBytes(path, bytes);
        var e = LoadError(dir);
        Assert.IsType<WeightLoadException>(e);
        Assert.Contains("corrupt", e.Message);
        Assert.Contains(path, e.Message);
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("truncated", LoadError(dir).Message);
    }

    [Fact]
    public void NoWeightFilesSuggestsDummy()
    {
        var dir = CopyFixture();
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var e = LoadError(dir);
        Assert.Contains("No weights", e.Message);
        Assert.Contains("dummy", e.Message);
    }

    [Fact]
    public void DummyLoadFormatNeedsOnlyConfig()
    {
        var dir = CopyFixture();
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32", LoadFormat = "dummy" }, torch.CPU);
        using (model)
        {
            var r = new BatchGenerator(model).Generate([[1, 2, 3]], new SamplingParams { Temperature = 0, MaxTokens = 4, IgnoreEos = true }, []);
            Assert.Equal(4, r[0].TokenIds.Count);
        }
    }

    [Fact]
    public void TiedEmbeddingsShareTheInputMatrix()
    {
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(ModelFixture.Dir("qwen2"), "model.safetensors"));
        Assert.DoesNotContain(tensors, t => t.Name == "lm_head.weight");
        var (model, _) = ModelLoader.Load(ModelFixture.Dir("qwen2"), new LoadOptions { Dtype = "float32" }, torch.CPU);
        model.Dispose();
    }

    [Fact]
    public void DtypeConversionLoadsHalfPrecision()
    {
        var (model, _) = ModelLoader.Load(ModelFixture.Dir(Variant), new LoadOptions { Dtype = "bfloat16" }, torch.CPU);
        using (model) Assert.Equal(torch.ScalarType.BFloat16, model.DType);
        Assert.Throws<ArgumentException>(() => ModelLoader.Load(ModelFixture.Dir(Variant), new LoadOptions { Dtype = "int3" }, torch.CPU));
    }
}
