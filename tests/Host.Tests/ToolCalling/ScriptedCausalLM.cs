using Pipeline.Models.Architectures;
using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Host.Tests.ToolCalling;

/// <summary>
/// Test-only: a real (random-weight) model whose logits are replaced so that greedy decoding writes a given token
/// script, then EOS. Everything else (engine, scheduler, sampler, detokenizer, HTTP, parsers) is the real path. The
/// model runs its layers as usual; the hidden row of each token carries its position, and the logits head picks the
/// script's token for the position after the prompt (a prefill step, which starts at position 0 because prefix
/// caching is off, fixes where the prompt ends). One request at a time.
/// </summary>
public sealed class ScriptedCausalLM(ICausalLM inner, int eosTokenId) : ICausalLM
{
    volatile int[]? _script = [];
    volatile bool _thenRandom;
    int _promptEnd;

    /// <summary>The token ids of the last prompt the model saw whole (its prefill).</summary>
    public int[] LastPrompt { get; private set; } = [];

    /// <summary>The tokens the next request answers with (EOS follows); null: the random model's own logits.</summary>
    public void Answer(int[]? tokens, bool thenRandom = false)
    {
        _thenRandom = thenRandom;
        _script = tokens;
    }

    public ModelConfig Config => inner.Config;
    public ScalarType DType => inner.DType;
    public Device Device => inner.Device;
    public IReadOnlyList<Pipeline.Models.Layers.Attention> AttentionLayers => inner.AttentionLayers;
    public KVCacheConfig KVCacheConfig(int blockSize) => inner.KVCacheConfig(blockSize);
    public Tensor EmbedInputIds(Tensor inputIds) => inner.EmbedInputIds(inputIds);

    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var hidden = inner.Forward(inputIds, inputsEmbeds, ctx).clone();
        var positions = ctx.Positions.to(ScalarType.Int64).cpu();
        var p = positions.data<long>().ToArray();
        if (p.Length > 1 && p.Contains(0))
        {
            _promptEnd = (int)p.Max();
            if (inputIds is not null) LastPrompt = inputIds.to(ScalarType.Int64).cpu().data<long>().Select(x => (int)x).ToArray();
        }
        hidden[TensorIndex.Colon, 0] = positions.to(hidden.dtype).to(hidden.device);
        return hidden.MoveToOuterDisposeScope();
    }

    public Tensor ComputeLogits(Tensor hidden)
    {
        var script = _script;
        if (script == null) return inner.ComputeLogits(hidden);
        using var scope = NewDisposeScope();
        var rows = hidden[TensorIndex.Colon, 0].to(ScalarType.Float32).cpu().data<float>().ToArray();
        // After the script: EOS, or the random model's own logits (which a constraint may then shape).
        var logits = _thenRandom ? inner.ComputeLogits(hidden).to(ScalarType.Float32).cpu().clone() : full(rows.Length, Config.VocabSize, -30f, dtype: ScalarType.Float32);
        for (int i = 0; i < rows.Length; i++)
        {
            int step = (int)MathF.Round(rows[i]) - _promptEnd;
            bool scripted = step >= 0 && step < script.Length;
            if (!scripted && _thenRandom) continue;
            logits[i] = full(Config.VocabSize, -30f, dtype: ScalarType.Float32);
            logits[i, scripted ? script[step] : eosTokenId] = 30f;
        }
        return logits.to(hidden.device).MoveToOuterDisposeScope();
    }

    public void Dispose() => inner.Dispose();
}
