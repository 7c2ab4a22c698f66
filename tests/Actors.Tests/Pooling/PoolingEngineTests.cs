using Pipeline.Actors.Pooling;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;

using static Pipeline.Actors.Tests.Pooling.LlamaEmbedFixture;

namespace Pipeline.Actors.Tests.Pooling;

/// <summary>A real pooling model (the llama-embed fixture) run offline by the engine: results equal transformers' states.</summary>
public sealed class PoolingEngineTests : IDisposable
{
    readonly IPoolingModel _model = LlamaEmbedFixture.LoadModel();

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
