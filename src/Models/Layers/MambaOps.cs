using Pipeline.Models.Cache;
using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>A state-space mixer: one recurrent state per request, kept in the KV cache's state slots.</summary>
public interface IMambaMixer : IDisposable
{
    /// <summary>Which of the cache's state tensors this layer owns (its rank among the model's state-space layers).</summary>
    int StateIndex { get; }
    MambaSpec Spec(int blockSize, ScalarType dtype);
    /// <summary>[T, hidden] → [T, hidden]; reads and updates the state of each sequence's slot.</summary>
    Tensor Forward(Tensor x, ForwardContext ctx);
}

/// <summary>
/// The pieces Mamba 1 and 2 share, over the step's padded layout (<see cref="MambaStepInputs"/>): a sequence that has
/// computed tokens before this step continues its slot's state, one that has none starts from zeros, which is what a
/// causal conv1d's zero padding and an empty SSM state are. Padding positions get dt = 0, so they leave the state as it is.
/// </summary>
public static class MambaOps
{
    /// <summary>Flat rows [T, C] → padded [B, L, C] (zeros on padding).</summary>
    public static Tensor Pad(Tensor flat, MambaStepInputs m)
    {
        var withZero = torch.cat([flat, flat.new_zeros(1, flat.shape[1])], 0);
        return withZero.index_select(0, m.PaddedRows).view(m.NumSeqs, m.MaxQueryLen, flat.shape[1]);
    }

    /// <summary>Padded [B, L, C] → flat rows [T, C].</summary>
    public static Tensor Unpad(Tensor padded, MambaStepInputs m) =>
        padded.reshape(-1, padded.shape[^1]).index_select(0, m.FlatPositions);

    /// <summary>Each sequence's state from its slot, or zeros where it starts this step: [B, ...state shape].</summary>
    public static Tensor InitialState(Tensor states, MambaStepInputs m, ScalarType dtype)
    {
        var s = states.index_select(0, m.StateSlots).to_type(dtype);
        var keep = m.HasInitialState.to_type(dtype).view([m.NumSeqs, .. Enumerable.Repeat(1L, (int)s.dim() - 1)]);
        return s.mul_(keep);
    }

    /// <summary>
    /// Depthwise causal conv1d (weight [C, 1, K]) over padded x [B, L, C], continuing each sequence's last K - 1 inputs
    /// from <paramref name="convStates"/> and writing its new last K - 1 inputs back. Returns the conv output [B, L, C].
    /// </summary>
    public static Tensor CausalConv1d(Tensor x, Tensor convStates, Tensor weight, Tensor? bias, MambaStepInputs m)
    {
        long b = x.shape[0], c = x.shape[2], k = weight.shape[2];
        var full = torch.cat([InitialState(convStates, m, x.dtype), x.transpose(1, 2)], 2);   // [B, C, K-1+L]
        var y = nn.functional.conv1d(full, weight, bias, groups: c);                            // [B, C, L]
        // Sequence b's last K-1 inputs sit at columns [len_b, len_b + K - 1) of `full`.
        var idx = (m.QueryLens.view(b, 1) + torch.arange(k - 1, ScalarType.Int64, x.device)).view(b, 1, k - 1).expand(b, c, k - 1);
        convStates.index_copy_(0, m.StateSlots, full.gather(2, idx).to_type(convStates.dtype));
        return y.transpose(1, 2);
    }

    /// <summary>
    /// The selective scan, step by step over the padded length (vectorised over sequences, heads and channels):
    /// h_t = exp(dt_t A) h_(t-1) + dt_t x_t B_t, y_t = h_t · C_t. Shapes (float32): <paramref name="state"/> [B, H, P, N]
    /// (updated in place to the final state); dt [B, L, H] (0 on padding); A [H, 1, N] or [H, 1, 1]; x [B, L, H, P];
    /// B and C [B, L, H or 1, N]. Returns y [B, L, H, P].
    /// </summary>
    public static Tensor SelectiveScan(Tensor state, Tensor dt, Tensor a, Tensor x, Tensor bm, Tensor cm)
    {
        long len = dt.shape[1];
        var ys = new Tensor[len];
        for (long t = 0; t < len; t++)
        {
            using var scope = NewDisposeScope();
            var dtt = dt.select(1, t).unsqueeze(-1).unsqueeze(-1);                      // [B, H, 1, 1]
            var dA = (dtt * a).exp_();                                                  // [B, H, 1, N|1]
            var dBx = (dtt * x.select(1, t).unsqueeze(-1)) * bm.select(1, t).unsqueeze(2); // [B, H, P, N]
            state.mul_(dA).add_(dBx);
            ys[t] = (state * cm.select(1, t).unsqueeze(2)).sum(-1).MoveToOuterDisposeScope(); // [B, H, P]
        }
        var y = torch.stack(ys, 1);
        foreach (var t in ys) t.Dispose();
        return y;
    }

    /// <summary>
    /// Mamba 2's gated RMSNorm: x · silu(gate), normalised over groups of <paramref name="groupSize"/> channels (the whole
    /// width when 0), in float32, then scaled by the weight in x's dtype. With <paramref name="normBeforeGate"/> (Falcon-H1's
    /// option) x is normalised and scaled first and gated after.
    /// </summary>
    public static Tensor GatedRmsNorm(Tensor x, Tensor gate, Tensor weight, double eps, long groupSize = 0, bool normBeforeGate = false)
    {
        var dtype = x.dtype;
        var silu = nn.functional.silu(gate.to_type(ScalarType.Float32));
        var h = x.to_type(ScalarType.Float32);
        if (!normBeforeGate) h = h * silu;
        var shape = h.shape;
        long width = shape[^1];
        if (groupSize > 0 && groupSize < width) h = h.view([.. shape[..^1], width / groupSize, groupSize]);
        h = h * torch.rsqrt(h.square().mean([-1L], keepdim: true).add_(Scalars.Of(eps)));
        if (!normBeforeGate) return weight * h.view(shape).to_type(dtype);
        return (weight.to_type(ScalarType.Float32) * h.view(shape) * silu).to_type(dtype);
    }

    /// <summary>RMS-normalises the last dimension without a weight, in float32 (Falcon-Mamba's B, C and dt).</summary>
    public static Tensor RmsNormNoWeight(Tensor x, double eps)
    {
        var h = x.to_type(ScalarType.Float32);
        return (h * torch.rsqrt(h.square().mean([-1L], keepdim: true).add_(Scalars.Of(eps)))).to_type(x.dtype);
    }
}
