using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>Bad inputs and bad requests give clear errors; STEP pooling and token-level outputs.</summary>
public class PoolingInputTests
{
    static IPoolingModel Load(string variant) =>
        PoolingModelLoader.Load(PoolingFixture.Dir(variant), new LoadOptions { Dtype = "float32" }, torch.CPU).Model;

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    [InlineData("qwen3-embed")]
    public void BadInputsAreNamed(string variant)
    {
        using var model = Load(variant);
        var runner = new PoolingRunner(model);
        var ex = Assert.Throws<PoolingException>(() => runner.Embed([[5, 6], []]));
        Assert.Contains("input 1 is empty", ex.Message);
        ex = Assert.Throws<PoolingException>(() => runner.Embed([[5, 512, 7]]));
        Assert.Contains("token id 512 at position 1 is outside the vocabulary [0, 512)", ex.Message);
        ex = Assert.Throws<PoolingException>(() => runner.Embed([[-1]]));
        Assert.Contains("token id -1", ex.Message);
        int max = model.MaxInputLength;
        ex = Assert.Throws<PoolingException>(() => runner.Embed([Enumerable.Repeat(5, max + 1).ToArray()]));
        Assert.Contains($"{max + 1} tokens, more than the model's maximum of {max}", ex.Message);
        Assert.Single(runner.Embed([Enumerable.Repeat(5, max).ToArray()]));
        Assert.Empty(runner.Embed([]));
    }

    [Fact]
    public void RobertaMaxLengthExcludesPaddingOffset()
    {
        using var model = Load("roberta");
        Assert.Equal(70 - 2, model.MaxInputLength);
    }

    [Fact]
    public void WrongTaskForModel()
    {
        using var model = Load("bert");
        var ex = Assert.Throws<PoolingException>(() => new PoolingRunner(model).Classify([[5, 6]]));
        Assert.Contains("no classification head", ex.Message);
        ex = Assert.Throws<PoolingException>(() => new PoolingRunner(model).Embed([[5, 6]], new PoolingParams { PoolingType = PoolingType.ALL }));
        Assert.Contains("EncodeTokens", ex.Message);
    }

    [Fact]
    public void TokenTypeIdsOutOfRange()
    {
        using var model = Load("xlm-roberta-score");
        var ex = Assert.Throws<PoolingException>(() => new PoolingRunner(model).Score([0, 5, 2, 2, 6, 2], [0, 0, 0, 1, 1, 1]));
        Assert.Contains("token type id 1 at position 3 is outside [0, 1)", ex.Message);
    }

    [Fact]
    public void RewardGivesOneRowPerTokenAndStepSelects()
    {
        using var model = Load("qwen3-embed");
        var runner = new PoolingRunner(model);
        int[] ids = [5, 9, 7, 9, 11];
        var all = runner.EncodeTokens([ids])[0];
        Assert.Equal(5, all.Length);
        Assert.Equal(64, all[0].Length);
        var step = runner.EncodeTokens([ids], new PoolingParams { PoolingType = PoolingType.STEP, StepTagId = 9, ReturnedTokenIds = [3, 4] })[0];
        Assert.Equal(2, step.Length);
        Assert.Equal([all[1][3], all[1][4]], step[0]);
        Assert.Equal([all[3][3], all[3][4]], step[1]);
        var soft = runner.EncodeTokens([ids], new PoolingParams { PoolingType = PoolingType.STEP, StepTagId = 9, ReturnedTokenIds = [3, 4], Softmax = true })[0];
        Assert.Equal(1.0, soft[0].Sum(), 1e-5);
    }
}

/// <summary>Encoder attention groups: sequences sorted by length, padded per group, every token covered once.</summary>
public class EncoderAttentionBatchTests
{
    [Fact]
    public void GroupsRespectTheBudgetAndCoverEveryToken()
    {
        int[] lengths = [3, 7, 12, 20, 5];
        using var batch = EncoderAttentionBatch.Build(lengths, torch.CPU, ScalarType.Float32, maxScoreElementsPerHead: 2 * 20 * 20);
        Assert.Equal([20, 7], batch.Groups.Select(g => g.MaxLen));   // [20, 12] then [7, 5, 3]
        Assert.Equal([2, 3], batch.Groups.Select(g => g.BatchSize));
        var rows = batch.Groups.SelectMany(g => g.ValidRows.data<long>().ToArray()).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, lengths.Sum()).Select(i => (long)i), rows);
    }

    [Fact]
    public void SmallGroupsGiveTheSameHiddenStates()
    {
        var expected = PoolingFixture.Expected("bert");
        var (m, _) = PoolingModelLoader.Load(PoolingFixture.Dir("bert"), new LoadOptions { Dtype = "float32" }, torch.CPU);
        using var model = (BertModel)m;
        var inputs = expected.Select(e => new PoolingInput(e.InputIds)).ToList();
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        var one = model.HiddenStates(inputs);
        model.AttentionGroupBudget = 1;
        var many = model.HiddenStates(inputs);
        Assert.True((one - many).abs().max().item<float>() <= 1e-5);
    }
}
