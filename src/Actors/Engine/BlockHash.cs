namespace Pipeline.Actors.Engine;

/// <summary>
/// 128-bit content hash of a full KV block: its tokens, its extra keys and, through the parent hash,
/// everything before it (vLLM's BlockHash). Equal hashes mean equal prefixes.
/// </summary>
public readonly record struct BlockHash(ulong Hi, ulong Lo)
{
    public override string ToString() => $"{Hi:x16}{Lo:x16}";
}
