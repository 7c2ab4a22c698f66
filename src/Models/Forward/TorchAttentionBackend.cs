using Pipeline.Models.Cache;
using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// Attention in eager TorchSharp ops, for CPU and as the reference. New K/V are written to their slots first; each
/// sequence group then gathers its keys and values from the cache and attends with an additive mask. The cache is
/// head-major ([Hkv, slots, D]): a gather along the slots then yields per-head [L, D] matrices that the score and
/// value products read in place, where a slot-major cache needs a transposing copy of every gathered K and V. Scores and
/// softmax follow transformers' eager attention (scores in the model dtype, softmax in float32). Grouped-query
/// attention broadcasts KV heads instead of copying them. ALiBi layers add their per-head linear bias to the mask.
/// Multi-head latent attention runs over its latent cache (<see cref="ForwardMla"/>).
/// </summary>
public sealed class TorchAttentionBackend : IAttentionBackend, IMlaAttentionBackend
{
    public static readonly TorchAttentionBackend Instance = new();

    public string Name => "torch-eager";
    public bool NeedsBlockTable => false;
    public bool FusesRotary => false;
    public bool Supports(Attention layer) => true;

    public long[] KVCacheShape(int numBlocks, FullAttentionSpec spec) => [spec.NumKvHeads, (long)numBlocks * spec.BlockSize, spec.HeadSize];

    public AttentionMetadata BuildMetadata(StepBatch batch, KVCacheConfig kvConfig) => kvConfig.HasAttention
        ? TorchAttentionMetadata.Build(batch, kvConfig.SlidingWindows, kvConfig.DType)
        : new TorchAttentionMetadata(batch); // state-space layers only: nothing to attend


    public Tensor Forward(Attention layer, Tensor q, Tensor k, Tensor v, RotaryCosSin rope, Tensor kCache, Tensor vCache, AttentionMetadata metadata)
    {
        if (rope.FusedWithCacheWrite) throw new InvalidOperationException("the eager backend does not fuse rotary");
        var meta = (TorchAttentionMetadata)metadata;
        kCache.index_copy_(1, meta.Batch.SlotMapping, k.transpose(0, 1));
        vCache.index_copy_(1, meta.Batch.SlotMapping, v.transpose(0, 1));
        return Paged(layer, q, kCache, vCache, meta);
    }

    /// <summary>
    /// MLA with the up-projections absorbed, for prefill, chunked prefill and decode alike (vLLM's decode path):
    /// q_nope · W_UK gives a query in latent space, so each head attends over the cached rows [latent, k_pe] as one
    /// shared key head, with the latent part as the value; W_UV then maps each head's latent output to v_head_dim.
    /// The scores equal those of up-projected keys (q_nope · (W_UK c) = (W_UK^T q_nope) · c), so the scale is unchanged.
    /// </summary>
    public Tensor ForwardMla(Attention layer, Tensor qNope, Tensor qPe, Tensor kvCNormed, Tensor kPe, MlaWeights weights, Tensor latentCache, AttentionMetadata metadata)
    {
        var meta = (TorchAttentionMetadata)metadata;
        var dims = layer.Mla ?? throw new ArgumentException($"layer {layer.LayerIndex} is not an MLA layer");
        using var scope = NewDisposeScope();
        long T = qNope.shape[0], H = qNope.shape[1];
        latentCache.index_copy_(1, meta.Batch.SlotMapping, torch.cat([kvCNormed, kPe], -1).unsqueeze(0));
        var qLatent = torch.matmul(qNope.transpose(0, 1), weights.UK).transpose(0, 1);      // [T, H, lora]
        var q = torch.cat([qLatent, qPe], -1);                                               // [T, H, lora + rope]
        var latentOut = Paged(layer, q, latentCache, latentCache.narrow(-1, 0, dims.KvLoraRank), meta).view(T, H, dims.KvLoraRank);
        var o = torch.matmul(latentOut.transpose(0, 1), weights.UVT).transpose(0, 1);        // [T, H, v]
        return o.reshape(T, H * dims.VHeadDim).MoveToOuterDisposeScope();
    }

    /// <summary>q [T, H, D] over the cached keys [Hkv, slots, D] and values [Hkv, slots, Dv] → [T, H * Dv].</summary>
    static Tensor Paged(Attention layer, Tensor q, Tensor kCache, Tensor vCache, TorchAttentionMetadata meta)
    {
        long T = q.shape[0], H = q.shape[1], D = q.shape[2], Hkv = kCache.shape[0], G = H / Hkv, Dv = vCache.shape[2];
        var output = torch.empty([T, H * Dv], q.dtype, q.device);
        if (meta.Decode is { } dec)
        {
            using var scope = NewDisposeScope();
            long B = dec.TokenIndices.shape[0], L = dec.MaxLen;
            var qd = q.index_select(0, dec.TokenIndices).view(B, Hkv, G, D).transpose(0, 1);            // [Hkv,B,G,D]
            var kd = kCache.index_select(1, dec.Slots).view(Hkv, B, L, D);
            var vd = vCache.index_select(1, dec.Slots).view(Hkv, B, L, Dv);
            var mask = dec.Masks.For(layer.SlidingWindow).view(1, B, 1, L);
            if (layer.AlibiSlopes != null)
                mask = mask + AlibiBias(layer, q, meta.Batch.Positions.index_select(0, dec.TokenIndices).view(B, 1), L).view(B, Hkv, G, L).transpose(0, 1);
            var o = Attend(qd, kd, vd, mask, layer, [Hkv, 1, G, 1]);                                 // [Hkv,B,G,Dv]
            output.index_copy_(0, dec.TokenIndices, o.transpose(0, 1).reshape(B, H * Dv));
        }
        foreach (var p in meta.Prefills)
        {
            using var scope = NewDisposeScope();
            long Q = p.QueryLen, L = p.Slots.shape[0];
            var qp = q.narrow(0, p.QueryStart, Q).view(Q, Hkv, G, D).permute(1, 2, 0, 3);          // [Hkv,G,Q,D]
            var kp = kCache.index_select(1, p.Slots).unsqueeze(1);                                 // [Hkv,1,L,D]
            var vp = vCache.index_select(1, p.Slots).unsqueeze(1);
            // Encoder-only layers attend to all of the sequence's keys (no causal or window mask).
            var mask = layer.Causal ? p.Masks.For(layer.SlidingWindow).view(1, 1, Q, L) : torch.zeros([1, 1, Q, L], q.dtype, q.device);
            if (layer.AlibiSlopes != null)
                mask = mask + AlibiBias(layer, q, meta.Batch.Positions.narrow(0, p.QueryStart, Q).view(Q, 1), L).permute(1, 0, 2).reshape(Hkv, G, Q, L);
            var o = Attend(qp, kp, vp, mask, layer, [Hkv, G, 1, 1]);                              // [Hkv,G,Q,Dv]
            output.narrow(0, p.QueryStart, Q).copy_(o.permute(2, 0, 1, 3).reshape(Q, H * Dv));
        }
        return output;
    }

    /// <summary>
    /// ALiBi's bias slope_h * (key position - query position) as [rows, H, L] for queries at
    /// <paramref name="queryPositions"/> [rows, 1] over keys 0..L-1 (keys past a query are masked anyway).
    /// </summary>
    static Tensor AlibiBias(Attention layer, Tensor like, Tensor queryPositions, long L)
    {
        var slopes = torch.tensor(layer.AlibiSlopes!, device: like.device).view(1, -1, 1);
        var relative = torch.arange(L, ScalarType.Int64, like.device).view(1, L).sub(queryPositions).to_type(ScalarType.Float32);
        return slopes.mul(relative.unsqueeze(1)).to_type(like.dtype);
    }

    /// <param name="sinkShape">how the [H] sink logits broadcast over the scores (heads ordered KV head, then group).</param>
    static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor mask, Attention layer, long[] sinkShape)
    {
        var scores = torch.matmul(q, k.transpose(-1, -2)).mul(Scalars.Of(layer.Scale));
        if (layer.LogitSoftcap is double cap) scores = scores.div(Scalars.Of(cap)).tanh().mul(Scalars.Of(cap));
        var logits = scores.add(mask);
        if (layer.Sinks is { } sinks)
        {
            // The sink is one more logit per head in the softmax, with no value.
            var sink = sinks.to_type(logits.dtype).view(sinkShape).expand([.. logits.shape[..^1], 1]);
            var withSink = torch.softmax(torch.cat([logits, sink], -1), -1, ScalarType.Float32);
            return torch.matmul(withSink.narrow(-1, 0, logits.shape[^1]).to_type(q.dtype), v);
        }
        var probs = torch.softmax(logits, -1, ScalarType.Float32).to_type(q.dtype);
        return torch.matmul(probs, v);
    }
}
