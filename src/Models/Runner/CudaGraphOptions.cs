namespace Pipeline.Models.Runner;

/// <summary>Whether and how decode steps are captured in CUDA graphs (vLLM's --enforce-eager turns them off).</summary>
public sealed record CudaGraphOptions(bool EnforceEager, int MaxNumSeqs, int MaxModelLen)
{
    /// <summary>Decode steps with a longer sequence than this run eagerly (the captured block table's width).</summary>
    public const int MaxCapturedContext = 16384;
}
