using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>How a grouped top-k router turns router logits into expert scores.</summary>
public enum MoeScoring { Softmax, Sigmoid }

/// <summary>
/// DeepSeek's router (vLLM's grouped_topk): scores by softmax or sigmoid over the router logits, computed in float32.
/// With <see cref="NumGroups"/> > 1 the experts are split into that many groups, only the <see cref="TopKGroups"/>
/// best groups stay eligible (a group scores its best expert, or its best two with a correction bias), and the top
/// <see cref="TopK"/> experts are taken from them. The optional e_score_correction_bias (DeepSeek-V3's noaux_tc) only
/// steers the choice: the weights are the unbiased scores, renormalised when asked, then multiplied by
/// routed_scaling_factor.
/// </summary>
public sealed class GroupedTopKRouter(Linear gate, int topK, MoeScoring scoring, bool renormalize, int numGroups = 1, int topKGroups = 1,
    double routedScalingFactor = 1.0, Tensor? eScoreCorrectionBias = null) : IMoeRouter
{
    public Linear Gate { get; } = gate;
    public int TopK { get; } = topK;
    public MoeScoring Scoring { get; } = scoring;
    public bool Renormalize { get; } = renormalize;
    public int NumGroups { get; } = numGroups;
    public int TopKGroups { get; } = topKGroups;
    public double RoutedScalingFactor { get; } = routedScalingFactor;
    public Tensor? EScoreCorrectionBias { get; } = eScoreCorrectionBias;
    public int NumExperts => (int)Gate.OutFeatures;

    /// <summary>x [T, H] → float32 weights [T, k] and expert ids [T, k] (int64).</summary>
    public (Tensor Weights, Tensor Ids) Route(Tensor x)
    {
        using var scope = NewDisposeScope();
        var logits = nn.functional.linear(x.to_type(ScalarType.Float32), Gate.Weight.to_type(ScalarType.Float32));
        var scores = Scoring == MoeScoring.Softmax ? torch.softmax(logits, -1) : torch.sigmoid(logits);
        var choice = EScoreCorrectionBias is { } bias ? scores + bias.to_type(ScalarType.Float32).unsqueeze(0) : scores;
        if (NumGroups > 1)
        {
            long T = choice.shape[0], perGroup = NumExperts / NumGroups;
            var grouped = choice.view(T, NumGroups, perGroup);
            Tensor groupScores;
            if (EScoreCorrectionBias is null) groupScores = grouped.amax([-1L]);
            else { var (best2, _) = grouped.topk(2, -1); groupScores = best2.sum([-1L]); }
            var (_, groupIds) = groupScores.topk(TopKGroups, -1);
            var kept = torch.zeros([T, NumGroups], ScalarType.Float32, x.device).scatter_(1, groupIds, torch.ones(groupIds.shape, ScalarType.Float32, x.device));
            var dropped = kept.unsqueeze(-1).expand(T, NumGroups, perGroup).reshape(T, NumExperts).eq(Scalars.Of(0.0));
            choice = choice.masked_fill(dropped, Scalars.NegInf);
        }
        var (_, ids) = choice.topk(TopK, -1);
        var weights = scores.gather(1, ids);
        if (Renormalize) weights = weights / weights.sum(-1, keepdim: true);
        if (RoutedScalingFactor != 1.0) weights = weights.mul(Scalars.Of(RoutedScalingFactor));
        return (weights.MoveToOuterDisposeScope(), ids.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        Gate.Dispose();
        EScoreCorrectionBias?.Dispose();
    }
}
