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
    Tensor? _unpacked;
    /// <summary>Per byte value, eight bools (as one ulong): true where the bit is clear (the token is disallowed).</summary>
    static readonly ulong[] ClearBits = Enumerable.Range(0, 256).Select(b =>
    {
        ulong v = 0;
        for (int j = 0; j < 8; j++) if ((b >> j & 1) == 0) v |= 1UL << (8 * j);
        return v;
    }).ToArray();
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

    /// <summary>
    /// On the CPU the device is the host: the packed rows are unpacked here with a table (eight tokens per byte read),
    /// which costs less than the tensor ops that unpack them on a GPU.
    /// </summary>
    Tensor UnpackOnHost(ReadOnlySpan<byte> bytes, int rows, int words)
    {
        long cols = (long)words * 32;
        if (_unpacked is null || _unpacked.shape[0] < rows)
        {
            _unpacked?.Dispose();
            _unpacked = torch.empty([Math.Max(rows, 64), cols], ScalarType.Bool).DetachFromDisposeScope();
        }
        var dst = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(_unpacked.bytes);
        for (int k = 0; k < bytes.Length; k++) dst[k] = ClearBits[bytes[k]];
        return _unpacked.narrow(0, 0, rows);
    }

    /// <summary>
    /// Sets the logits of disallowed tokens to -inf in place: the packed rows go up once (as bytes: the same memory,
    /// little-endian), are unpacked on the device by one AND against the eight bit values and one compare (on the CPU,
    /// by a table on the host), and one masked_fill applies them. Rows wider than the logits are cut; logits wider than the vocabulary are disallowed.
    /// </summary>
    public void ApplyBitmask(Tensor logits, int[] packed, int rows)
    {
        using var scope = NewDisposeScope();
        int words = Vocab.MaskWords;
        long width = logits.shape[1];
        var device = logits.device;
        if (_bitWeights is null || _bitWeights.device_type != device.type || _bitWeights.device_index != device.index)
        {
            _bitWeights?.Dispose();
            _bitWeights = torch.tensor(new byte[] { 1, 2, 4, 8, 16, 32, 64, 128 }, device: device).DetachFromDisposeScope();
        }
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(packed.AsSpan(0, rows * words));
        Tensor disallowed;
        if (device.type == DeviceType.CPU) disallowed = UnpackOnHost(bytes, rows, words);
        else
        {
            var bits = torch.tensor(bytes.ToArray(), [rows, (long)words * 4], ScalarType.Byte).pin_memory().to(device, non_blocking: true);
            disallowed = bits.unsqueeze(2).bitwise_and(_bitWeights).eq(0).view(rows, (long)words * 32);
        }
        if (disallowed.shape[1] > width) disallowed = disallowed.narrow(1, 0, width);
        else if (disallowed.shape[1] < width)
            disallowed = torch.cat([disallowed, torch.ones(rows, width - disallowed.shape[1], ScalarType.Bool, device)], 1);
        logits.masked_fill_(disallowed, Scalars.NegInf);
    }
}
