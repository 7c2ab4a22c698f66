using static TorchSharp.torch;

namespace Pipeline.Models.Runner;

/// <summary>
/// The runner's encoder outputs by image hash (vLLM's encoder_cache in the GPU model runner): filled when the scheduler
/// schedules an image's encoder input, read by every step (and every request) that computes that image's placeholder
/// rows, and emptied only when the scheduler evicts the hash.
/// </summary>
public sealed class EncoderCache : IDisposable
{
    readonly Dictionary<string, Tensor> _outputs = new();

    /// <summary>How many times the vision encoder has run (tests and metrics).</summary>
    public long NumEncoderRuns { get; private set; }
    public int Count => _outputs.Count;
    public bool Contains(string hash) => _outputs.ContainsKey(hash);
    public bool TryGet(string hash, out Tensor output) => _outputs.TryGetValue(hash, out output!);

    /// <summary>Encodes the image unless its hash is cached already.</summary>
    public void Encode(MultiModalInput input, Func<Tensor> encode)
    {
        if (_outputs.ContainsKey(input.Hash)) return;
        var output = encode().DetachFromDisposeScope();
        NumEncoderRuns++;
        int rows = input.IsEmbed?.Count(x => x) ?? input.Length;
        if (output.shape[0] != rows)
        {
            output.Dispose();
            throw new InvalidOperationException($"an image gives {output.shape[0]} feature rows for {rows} placeholder tokens");
        }
        _outputs[input.Hash] = output;
    }

    public void Free(IEnumerable<string> hashes)
    {
        foreach (var h in hashes)
            if (_outputs.Remove(h, out var t)) t.Dispose();
    }

    public void Dispose()
    {
        foreach (var t in _outputs.Values) t.Dispose();
        _outputs.Clear();
    }
}
