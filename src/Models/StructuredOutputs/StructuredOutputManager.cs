using Pipeline.Models.Layers;
using Pipeline.Models.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// The model runner's side of structured outputs (vLLM's StructuredOutputManager): binds compiled grammars to the
/// runner's vocabulary (an LRU of <see cref="CompiledGrammar"/>, whose automata and masks warm up across requests),
/// makes a matcher per sequence, and each step fills one packed int32 bitmask for the batch's sampling rows and applies
/// it to the logits on the device. Owned by one runner; not thread-safe.
/// </summary>
public sealed class StructuredOutputManager
{
    public const int Capacity = 64;
    readonly Lazy<TokenizerVocab> _vocab;
    readonly LruCache<string, CompiledGrammar> _compiled = new(Capacity);
    int[] _packed = [];
    Tensor? _bitWeights;

    /// <param name="vocab">Built on first use: decoding every token's bytes takes a moment on large vocabularies.</param>
    public StructuredOutputManager(Func<TokenizerVocab> vocab) => _vocab = new Lazy<TokenizerVocab>(vocab);
    public StructuredOutputManager(TokenizerVocab vocab) => _vocab = new Lazy<TokenizerVocab>(vocab);

    public TokenizerVocab Vocab => _vocab.Value;

    public CompiledGrammar CompiledFor(StructuredOutputsParams p) => _compiled.GetOrAdd(p.Key, _ => new CompiledGrammar(p.Compile(), Vocab));

    /// <summary>A matcher at the start of the grammar, advanced over <paramref name="outputTokens"/> (a resumed request).</summary>
    public GrammarMatcher NewMatcher(StructuredOutputsParams p, IEnumerable<int>? outputTokens = null)
    {
        var m = CompiledFor(p).NewMatcher();
        if (outputTokens != null) foreach (var t in outputTokens) m.AcceptToken(t);
        return m;
    }

    /// <summary>
    /// Packs the allowed tokens of each row (all ones for an unconstrained row) into one [rows, words] int32 buffer;
    /// null when no row is constrained. Host work only, so it can run while the device computes the logits.
    /// </summary>
    public int[]? FillBitmask(IReadOnlyList<GrammarMatcher?> rows)
    {
        if (!rows.Any(r => r != null)) return null;
        int words = Vocab.MaskWords;
        int size = rows.Count * words;
        if (_packed.Length < size) _packed = new int[size];
        for (int r = 0; r < rows.Count; r++)
        {
            var row = _packed.AsSpan(r * words, words);
            if (rows[r] is { } m) m.FillMask(row);
            else row.Fill(-1);
        }
        return _packed;
    }

    /// <summary>Sets the logits of disallowed tokens to -inf in place: one upload, one unpack, one masked_fill.</summary>
    public void ApplyBitmask(Tensor logits, int[] packed, int rows)
    {
        using var scope = NewDisposeScope();
        int words = Vocab.MaskWords;
        long width = logits.shape[1];
        var device = logits.device;
        if (_bitWeights is null || _bitWeights.device != device)
        {
            _bitWeights?.Dispose();
            _bitWeights = torch.tensor(Enumerable.Range(0, 32).Select(i => 1 << i).ToArray(), device: device).DetachFromDisposeScope();
        }
        var bits = torch.tensor(packed.AsSpan(0, rows * words).ToArray(), [rows, words], ScalarType.Int32);
        if (device.type != DeviceType.CPU) bits = bits.pin_memory().to(device, non_blocking: true);
        var disallowed = bits.unsqueeze(2).bitwise_and(_bitWeights).eq(0).view(rows, (long)words * 32);
        if (disallowed.shape[1] > width) disallowed = disallowed.narrow(1, 0, width);
        else if (disallowed.shape[1] < width)
            disallowed = torch.cat([disallowed, torch.ones(rows, width - disallowed.shape[1], ScalarType.Bool, device)], 1);
        logits.masked_fill_(disallowed, Scalars.NegInf);
    }
}
