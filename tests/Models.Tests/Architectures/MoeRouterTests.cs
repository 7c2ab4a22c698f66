using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// Router variants on logits chosen so the rules matter, with the expected weights worked out by hand from
/// transformers' formulas (sparsemixer in modeling_phimoe.py, Ernie4_5_MoeSparseMoeBlock, DbrxRouter).
/// </summary>
public class MoeRouterTests
{
    /// <summary>A gate that returns its input: the router sees x as its logits.</summary>
    static Linear Identity(int n) => new(torch.eye(n, dtype: ScalarType.Float32), null);

    [Fact]
    public void SparseMixerWeighsEachChoiceWithinItsJitterBand()
    {
        using var router = new SparseMixerRouter(Identity(4), jitterEps: 0.01);
        // Row 0: 0.99 is within 2% of the max 1.0, so the first weight is softmax over {1.0, 0.99}; with expert 0
        // masked, 0.99 is alone in its band (0.5 is 49% below it), so the second weight is 1.
        // Row 1: every logit is far from the max: both weights are 1.
        using var x = torch.tensor(new float[] { 1.0f, 0.99f, 0.5f, -1f, -2f, 3f, 0f, 1f }).reshape(2, 4);
        var (weights, ids) = router.Route(x);
        Assert.Equal(new long[] { 0, 1, 1, 3 }, ids.data<long>().ToArray());
        var w = weights.data<float>().ToArray();
        Assert.Equal(1 / (1 + Math.Exp(-0.01)), w[0], 5);
        Assert.Equal(1.0, w[1], 5);
        Assert.Equal(1.0, w[2], 5);
        Assert.Equal(1.0, w[3], 5);
    }

    [Fact]
    public void CorrectionBiasChoosesButDoesNotWeigh()
    {
        // Probabilities of logits ln(0.5), ln(0.3), ln(0.2): 0.5, 0.3, 0.2. The bias lifts expert 2 above expert 1
        // for the choice; the weights are then 0.5 and 0.2 renormalised.
        // ERNIE 4.5's use of DeepSeek's router: softmax, one group, correction bias, renormalised.
        using var router = new GroupedTopKRouter(Identity(3), topK: 2, MoeScoring.Softmax, renormalize: true,
            eScoreCorrectionBias: torch.tensor(new float[] { 0f, 0f, 0.2f }));
        using var x = torch.tensor(new float[] { (float)Math.Log(0.5), (float)Math.Log(0.3), (float)Math.Log(0.2) }).reshape(1, 3);
        var (weights, ids) = router.Route(x);
        Assert.Equal(new long[] { 0, 2 }, ids.data<long>().ToArray());
        var w = weights.data<float>().ToArray();
        Assert.Equal(0.5 / 0.7, w[0], 5);
        Assert.Equal(0.2 / 0.7, w[1], 5);
    }

    [Fact]
    public void SoftmaxTopKDividesByThePNorm()
    {
        using var x = torch.tensor(new float[] { (float)Math.Log(0.6), (float)Math.Log(0.3), (float)Math.Log(0.1) }).reshape(1, 3);
        using var l2 = new SoftmaxTopKRouter(Identity(3), topK: 2, normP: 2.0);
        var w = l2.Route(x).Weights.data<float>().ToArray();
        double n = Math.Sqrt(0.6 * 0.6 + 0.3 * 0.3);
        Assert.Equal(0.6 / n, w[0], 5);
        Assert.Equal(0.3 / n, w[1], 5);
        using var none = new SoftmaxTopKRouter(Identity(3), topK: 2, normP: null);
        Assert.Equal(0.6, none.Route(x).Weights.data<float>()[0], 5);
    }
}
