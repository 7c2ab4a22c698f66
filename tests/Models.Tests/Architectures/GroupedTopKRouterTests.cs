using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>DeepSeek's grouped top-k router against a per-token reference written out here from DeepSeek-V3's rule.</summary>
public class GroupedTopKRouterTests
{
    const int H = 12, E = 8, T = 19;

    /// <summary>One token: scores, + bias for the choice, keep the best groups, take the top k, weight by the unbiased scores.</summary>
    static (int[] Ids, double[] Weights) Reference(float[] logits, float[]? bias, bool sigmoid, int groups, int topKGroups, int k, bool renormalize, double scaling)
    {
        double[] scores = sigmoid
            ? logits.Select(l => 1.0 / (1.0 + Math.Exp(-l))).ToArray()
            : logits.Select(l => Math.Exp(l) / logits.Sum(m => Math.Exp(m))).ToArray();
        double[] choice = scores.Select((s, e) => s + (bias?[e] ?? 0)).ToArray();
        int per = E / groups;
        var groupScore = Enumerable.Range(0, groups).Select(g =>
        {
            var members = choice.Skip(g * per).Take(per).OrderByDescending(x => x);
            return bias is null ? members.First() : members.Take(2).Sum();
        }).ToArray();
        var keptGroups = Enumerable.Range(0, groups).OrderByDescending(g => groupScore[g]).Take(topKGroups).ToHashSet();
        var ids = Enumerable.Range(0, E).Where(e => keptGroups.Contains(e / per)).OrderByDescending(e => choice[e]).Take(k).ToArray();
        double sum = renormalize ? ids.Sum(e => scores[e]) : 1.0;
        return (ids, ids.Select(e => scores[e] / sum * scaling).ToArray());
    }

    [Theory]
    [InlineData(true, true, 4, 2, 3, true, 2.5)]    // DeepSeek-V3 / Dots1: sigmoid, correction bias, top-2 sum per group
    [InlineData(false, false, 4, 1, 2, false, 1.0)] // DeepSeek-V2 group_limited_greedy: softmax, best expert per group
    [InlineData(false, false, 1, 1, 2, false, 16.0)] // V2-Lite greedy
    [InlineData(true, true, 1, 1, 3, false, 1.0)]
    public void MatchesPerTokenReference(bool sigmoid, bool withBias, int groups, int topKGroups, int k, bool renormalize, double scaling)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        var x = torch.randn([T, H], generator: g);
        var gate = torch.randn([E, H], generator: g);
        // Biases of both signs, so an excluded group's expert (masked) must never beat a kept one.
        var bias = withBias ? torch.randn([E], generator: g) * 0.7f : null;
        var router = new GroupedTopKRouter(new Linear(gate.clone(), null), k, sigmoid ? MoeScoring.Sigmoid : MoeScoring.Softmax, renormalize,
            groups, topKGroups, scaling, bias?.clone());
        var (weights, ids) = router.Route(x);
        var logits = torch.matmul(x, gate.t());
        for (int t = 0; t < T; t++)
        {
            var (wantIds, wantWeights) = Reference(logits[t].data<float>().ToArray(), bias?.data<float>().ToArray(), sigmoid, groups, topKGroups, k, renormalize, scaling);
            var gotIds = ids[t].data<long>().Select(i => (int)i).ToArray();
            var gotWeights = weights[t].data<float>().ToArray();
            Assert.Equal(wantIds.Order(), gotIds.Order());
            for (int j = 0; j < k; j++)
                Assert.Equal(wantWeights[j], gotWeights[Array.IndexOf(gotIds, wantIds[j])], 1e-5);
        }
    }
}
