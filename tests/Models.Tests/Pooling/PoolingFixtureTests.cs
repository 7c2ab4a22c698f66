using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>Each tiny encoder/decoder pooling model against transformers' hidden states and logits.</summary>
public class PoolingFixtureTests
{
    static IPoolingModel Load(string variant) =>
        PoolingModelLoader.Load(PoolingFixture.Dir(variant), new LoadOptions { Dtype = "float32" }, torch.CPU).Model;

    static float[][] Rows(Tensor t)
    {
        var flat = t.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        int n = (int)t.shape[0], d = (int)t.shape[1];
        return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * d, d).ToArray()).ToArray();
    }

    [Theory]
    [MemberData(nameof(PoolingFixture.Base), MemberType = typeof(PoolingFixture))]
    public void BatchedHiddenStatesMatchTransformers(string variant)
    {
        var expected = PoolingFixture.Expected(variant);
        using var model = Load(variant);
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        var hidden = Rows(model.HiddenStates(expected.Select(e => new PoolingInput(e.InputIds)).ToList()));
        int t = 0;
        foreach (var (e, i) in expected.Select((e, i) => (e, i)))
            for (int j = 0; j < e.InputIds.Length; j++, t++)
            {
                double diff = Vec.MaxAbsDiff(hidden[t], e.LastHiddenState![j]);
                Assert.True(diff <= 1e-4 || Vec.Cosine(hidden[t], e.LastHiddenState[j]) >= 0.9999,
                    $"{variant} input {i} token {j}: max abs diff {diff}, cosine {Vec.Cosine(hidden[t], e.LastHiddenState[j])}");
            }
        Assert.Equal(t, hidden.Length);
    }

    [Theory]
    [MemberData(nameof(PoolingFixture.Base), MemberType = typeof(PoolingFixture))]
    public void EveryPoolingTypeMatchesPoolingOfTransformersStates(string variant)
    {
        var expected = PoolingFixture.Expected(variant);
        using var model = Load(variant);
        var runner = new PoolingRunner(model);
        var ids = expected.Select(e => e.InputIds).ToList();
        foreach (var type in new[] { PoolingType.CLS, PoolingType.MEAN, PoolingType.LAST, PoolingType.ALL })
        {
            var ours = runner.EncodeTokens(ids, new PoolingParams { PoolingType = type, Normalize = false });
            using var scope = NewDisposeScope();
            var theirs = expected.Select(e => torch.tensor(e.LastHiddenState!.SelectMany(r => r).ToArray(), [e.InputIds.Length, e.LastHiddenState![0].Length])).ToList();
            var flat = torch.cat(theirs, 0);
            var pooled = Pooler.Pool(flat, ids, type);
            for (int i = 0; i < ids.Count; i++)
            {
                var want = pooled[i].dim() == 1 ? [pooled[i].data<float>().ToArray()] : Rows(pooled[i]);
                Assert.Equal(want.Length, ours[i].Length);
                for (int r = 0; r < want.Length; r++)
                    Assert.True(Vec.Cosine(ours[i][r], want[r]) >= 0.9999, $"{variant} {type} input {i} row {r}: cosine {Vec.Cosine(ours[i][r], want[r])}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(PoolingFixture.Base), MemberType = typeof(PoolingFixture))]
    public void EmbedNormalizesAndTruncates(string variant)
    {
        var expected = PoolingFixture.Expected(variant);
        using var model = Load(variant);
        var runner = new PoolingRunner(model);
        var ids = expected.Select(e => e.InputIds).ToList();
        var raw = runner.Embed(ids, new PoolingParams { Normalize = false });
        var normed = runner.Embed(ids);
        var cut = runner.Embed(ids, new PoolingParams { Dimensions = 16 });
        var cutRaw = runner.Embed(ids, new PoolingParams { Dimensions = 16, Normalize = false });
        for (int i = 0; i < ids.Count; i++)
        {
            Assert.Equal(model.Config.HiddenSize, normed[i].Length);
            Assert.Equal(1.0, Vec.Norm(normed[i]), 1e-5);
            Assert.True(Vec.Cosine(raw[i], normed[i]) >= 0.99999);
            Assert.Equal(16, cut[i].Length);
            Assert.Equal(1.0, Vec.Norm(cut[i]), 1e-5);
            Assert.True(Vec.MaxAbsDiff(cutRaw[i], raw[i][..16]) <= 1e-6, "truncation without normalize keeps the leading values");
            var renorm = raw[i][..16].Select(x => (float)(x / Vec.Norm(raw[i][..16]))).ToArray();
            Assert.True(Vec.MaxAbsDiff(cut[i], renorm) <= 1e-5, "truncation then renormalization");
        }
    }

    [Theory]
    [MemberData(nameof(PoolingFixture.Classifiers), MemberType = typeof(PoolingFixture))]
    public void LogitsMatchTransformers(string variant)
    {
        var expected = PoolingFixture.Expected(variant);
        using var model = Load(variant);
        var runner = new PoolingRunner(model);
        var logits = runner.Classify(expected.Select(e => e.InputIds).ToList(), new PoolingParams { Activation = false });
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Vec.MaxAbsDiff(logits[i], expected[i].Logits!) <= 1e-4,
                $"{variant} input {i}: [{string.Join(", ", logits[i])}] vs transformers [{string.Join(", ", expected[i].Logits!)}]");
        var probs = runner.Classify(expected.Select(e => e.InputIds).ToList());
        for (int i = 0; i < expected.Count; i++)
        {
            var e = expected[i].Logits!;
            var want = e.Length == 1
                ? [(float)(1 / (1 + Math.Exp(-e[0])))]
                : e.Select(x => (float)(Math.Exp(x - e.Max()) / e.Sum(y => Math.Exp(y - e.Max())))).ToArray();
            Assert.True(Vec.MaxAbsDiff(probs[i], want) <= 1e-4, $"{variant} input {i}: activation");
        }
    }

    [Fact]
    public void CrossEncoderScoreIsSigmoidOfTheSingleLogit()
    {
        var expected = PoolingFixture.Expected("xlm-roberta-score");
        using var model = Load("xlm-roberta-score");
        var runner = new PoolingRunner(model);
        foreach (var e in expected)
        {
            Assert.Equal(1 / (1 + Math.Exp(-e.Logits![0])), runner.Score(e.InputIds), 1e-4);
            Assert.Equal(e.Logits[0], runner.Score(e.InputIds, p: new PoolingParams { Activation = false }), 1e-4);
        }
        using var cls = Load("bert-cls3");
        var ex = Assert.Throws<PoolingException>(() => new PoolingRunner(cls).Score(expected[0].InputIds));
        Assert.Contains("single-label", ex.Message);
    }

    [Theory]
    [MemberData(nameof(PoolingFixture.All), MemberType = typeof(PoolingFixture))]
    public void BatchedEqualsOneAtATime(string variant)
    {
        var expected = PoolingFixture.Expected(variant);
        using var model = Load(variant);
        var runner = new PoolingRunner(model);
        var ids = expected.Select(e => e.InputIds).ToList();
        Func<IReadOnlyList<int[]>, float[][]> run = model.NumLabels > 0
            ? x => runner.Classify(x, new PoolingParams { Activation = false })
            : x => runner.Embed(x, new PoolingParams { PoolingType = PoolingType.MEAN });
        var batched = run(ids);
        for (int i = 0; i < ids.Count; i++)
            Assert.True(Vec.MaxAbsDiff(batched[i], run([ids[i]])[0]) <= 1e-5, $"{variant} input {i}: batched differs from alone");
    }
}
