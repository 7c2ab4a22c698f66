namespace Pipeline.Actors.Engine;

/// <summary>The longest cached prefix of a request: its blocks and the tokens they cover.</summary>
public sealed record ComputedBlocks(IReadOnlyList<KVCacheBlock> Blocks, int NumComputedTokens)
{
    public static ComputedBlocks Empty { get; } = new(Array.Empty<KVCacheBlock>(), 0);
}
