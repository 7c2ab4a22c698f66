using System.Text.Json;
using Pipeline.Actors.Pooling;
using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;

namespace Pipeline.Actors.Tests.Pooling;

/// <summary>A real pooling model (the llama-embed fixture) run offline by the engine: results equal transformers' states.</summary>
public sealed class PoolingEngineTests : IDisposable
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "pooling", "llama-embed");
    readonly IPoolingModel _model = PoolingModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, torch.CPU).Model;

    /// <summary>(input ids, normalize(transformers' last_hidden_state[-1])) per fixture input.</summary>
    static readonly List<(int[] Ids, float[] Embedding)> Expected = LoadExpected();

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

    static void AssertClose(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        Assert.True(want.Zip(got).All(p => Math.Abs(p.First - p.Second) <= 1e-4), what);
    }

    static PoolingItem Embed(int[] ids) => new(new PoolingInput(ids), PoolingTask.Embed, PoolingParams.Default);

    [Fact]
    public void OfflineRunSplitsByTokenBudgetAndKeepsOrder()
    {
        var engine = new PoolingEngine(new PoolingRunner(_model), PoolingEngine.ConfigFor(_model.MaxInputLength, maxNumBatchedTokens: _model.MaxInputLength));
        var inputs = Enumerable.Range(0, 4).SelectMany(_ => Expected).ToList();
        var rows = engine.Run(inputs.Select(e => Embed(e.Ids)).ToList());
        for (int i = 0; i < inputs.Count; i++) AssertClose(inputs[i].Embedding, rows[i][0], $"input {i}");
        Assert.True(engine.Core.StepCount >= (int)Math.Ceiling(inputs.Sum(e => e.Ids.Length) / (double)_model.MaxInputLength));
        Assert.True(engine.Core.StepCount < inputs.Count, "requests were batched");
    }

    [Fact]
    public void AnInputLongerThanTheBudgetIsRefused()
    {
        var engine = new PoolingEngine(new PoolingRunner(_model), PoolingEngine.ConfigFor(16, maxNumBatchedTokens: 16));
        var ex = Assert.Throws<PoolingException>(() => engine.AddRequest(Embed(Enumerable.Range(1, 17).ToArray())));
        Assert.Contains("max_model_len (16)", ex.Message);
        Assert.Throws<ArgumentException>(() => PoolingEngine.ConfigFor(64, maxNumBatchedTokens: 16));
    }

    public void Dispose() => _model.Dispose();
}
