using System.Text.Json;
using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;

namespace Pipeline.Actors.Tests.Pooling;

/// <summary>The llama-embed fixture (a tiny LlamaModel from transformers) and its expected last-token embeddings.</summary>
public static class LlamaEmbedFixture
{
    public static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "pooling", "llama-embed");

    public static IPoolingModel LoadModel() => PoolingModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, torch.CPU).Model;

    /// <summary>(input ids, normalize(transformers' last_hidden_state[-1])) per fixture input.</summary>
    public static readonly List<(int[] Ids, float[] Embedding)> Expected = LoadExpected();

    static List<(int[], float[])> LoadExpected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        return doc.RootElement.GetProperty("inputs").EnumerateArray().Select(e =>
        {
            var last = e.GetProperty("last_hidden_state").EnumerateArray().Last().EnumerateArray().Select(x => x.GetSingle()).ToArray();
            double norm = Math.Sqrt(last.Sum(x => (double)x * x));
            return (e.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(), last.Select(x => (float)(x / norm)).ToArray());
        }).ToList();
    }

    public static void AssertClose(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        Assert.True(want.Zip(got).All(p => Math.Abs(p.First - p.Second) <= 1e-4), what);
    }

    public static PoolingItem Embed(params int[] ids) => new(new PoolingInput(ids), PoolingTask.Embed, PoolingParams.Default);
}
