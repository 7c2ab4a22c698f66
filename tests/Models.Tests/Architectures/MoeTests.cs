using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>The grouped-by-expert MoE layer against a plain per-token reference written out here.</summary>
public class MoeTests
{
    const int H = 16, I = 8, E = 5, T = 23;

    static Tensor Rand(Generator g, params long[] shape) => torch.randn(shape, ScalarType.Float32, generator: g);

    /// <summary>For each token alone: softmax, top-k, optional renormalisation, Σ w · down(silu(gate x) * up x).</summary>
    static Tensor Reference(Tensor x, Tensor router, Tensor w13, Tensor w2, int topK, bool renormalize)
    {
        var rows = new List<Tensor>();
        for (int t = 0; t < x.shape[0]; t++)
        {
            var xt = x[t];
            var probs = torch.softmax(torch.matmul(router, xt), 0).data<float>().ToArray();
            var chosen = Enumerable.Range(0, E).OrderByDescending(e => probs[e]).Take(topK).ToArray();
            double sum = renormalize ? chosen.Sum(e => probs[e]) : 1.0;
            var acc = torch.zeros(H);
            foreach (var e in chosen)
            {
                var gate = torch.matmul(w13[e].narrow(0, 0, I), xt);
                var up = torch.matmul(w13[e].narrow(0, I, I), xt);
                var y = torch.matmul(w2[e], nn.functional.silu(gate) * up);
                acc += y * (float)(probs[e] / sum);
            }
            rows.Add(acc);
        }
        return torch.stack(rows, 0);
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(1, true)]
    public void GroupedExpertsMatchPerTokenReference(int topK, bool renormalize)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(17);
        var x = Rand(g, T, H);
        var router = Rand(g, E, H);
        var w13 = Rand(g, E, 2 * I, H) * 0.3f;
        var w2 = Rand(g, E, H, I) * 0.3f;
        var block = new SparseMoeBlock(new Linear(router.clone(), null), new FusedMoe(w13.clone(), w2.clone(), x => nn.functional.silu(x)), topK, renormalize);
        var got = block.Forward(x);
        var want = Reference(x, router, w13, w2, topK, renormalize);
        Assert.True(torch.allclose(got, want, rtol: 1e-4, atol: 1e-5), $"max abs diff {(got - want).abs().max().item<float>()}");
    }

    /// <summary>The host-sync-free path CUDA decode steps take gives the grouped path's result.</summary>
    [Fact]
    public void DensePathEqualsGroupedPath()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(23);
        var x = Rand(g, T, H);
        var (w, ids) = MoeRouting.SoftmaxTopK(torch.matmul(x, Rand(g, E, H).t()), 2, renormalize: false);
        var moe = new FusedMoe(Rand(g, E, 2 * I, H) * 0.3f, Rand(g, E, H, I) * 0.3f, t => nn.functional.silu(t));
        var dense = moe.ForwardDense(x, w, ids);
        var grouped = moe.ForwardGrouped(x, w, ids);
        Assert.True(torch.allclose(dense, grouped, rtol: 1e-5, atol: 1e-6), $"max abs diff {(dense - grouped).abs().max().item<float>()}");
    }

    [Fact]
    public void RoutingPicksTheHighestProbabilitiesAndRenormalises()
    {
        using var scope = NewDisposeScope();
        var logits = torch.tensor(new float[] { 0f, 2f, 1f, -1f, 3f, 0.5f, 0f, 0f }, [2, 4]);
        var (w, ids) = MoeRouting.SoftmaxTopK(logits, 2, renormalize: true);
        Assert.Equal(new long[] { 1, 2, 0, 1 }, ids.data<long>().ToArray());
        var p = w.data<float>().ToArray();
        Assert.Equal(1.0 / (1 + Math.Exp(-1)), p[0], 5);
        Assert.Equal(1.0, p[0] + p[1], 5);
        Assert.Equal(1.0, p[2] + p[3], 5);
        var (raw, _) = MoeRouting.SoftmaxTopK(logits, 2, renormalize: false);
        var softmax = torch.softmax(logits, -1).data<float>().ToArray();
        Assert.Equal(softmax[1], raw.data<float>()[0], 5);
    }

    [Fact]
    public void SharedExpertIsAddedThroughItsSigmoidGate()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        var x = Rand(g, T, H);
        var router = Rand(g, E, H);
        var w13 = Rand(g, E, 2 * I, H) * 0.3f;
        var w2 = Rand(g, E, H, I) * 0.3f;
        var sGateUp = Rand(g, 2 * 12, H) * 0.3f;
        var sDown = Rand(g, H, 12) * 0.3f;
        var sGate = Rand(g, 1, H);
        var shared = new GatedMlp(new Linear(sGateUp.clone(), null, [12, 12]), new Linear(sDown.clone(), null), x => nn.functional.silu(x), isSilu: true);
        var block = new SparseMoeBlock(new Linear(router.clone(), null), new FusedMoe(w13.clone(), w2.clone(), x => nn.functional.silu(x)), 2, false,
            shared, new Linear(sGate.clone(), null));
        var got = block.Forward(x);
        var sharedOut = torch.matmul(nn.functional.silu(torch.matmul(x, sGateUp.narrow(0, 0, 12).t())) * torch.matmul(x, sGateUp.narrow(0, 12, 12).t()), sDown.t());
        var want = Reference(x, router, w13, w2, 2, false) + torch.sigmoid(torch.matmul(x, sGate.t())) * sharedOut;
        Assert.True(torch.allclose(got, want, rtol: 1e-4, atol: 1e-5), $"max abs diff {(got - want).abs().max().item<float>()}");
    }
}
