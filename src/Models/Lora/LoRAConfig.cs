namespace Pipeline.Models.Lora;

/// <summary>
/// vLLM's LoRA engine arguments: adapters one step can mix (--max-loras, one GPU slot each), the largest rank a slot
/// holds (--max-lora-rank) and adapters kept in CPU memory (--max-cpu-loras, at least --max-loras).
/// </summary>
public sealed record LoRAConfig(int MaxLoras = 1, int MaxLoraRank = 16, int? MaxCpuLoras = null)
{
    /// <summary>vLLM's accepted ranks.</summary>
    public static readonly int[] PossibleRanks = [1, 8, 16, 32, 64, 128, 256, 320, 512];

    public int CpuCapacity => MaxCpuLoras ?? MaxLoras;

    public void Validate()
    {
        if (MaxLoras < 1) throw new ArgumentException($"--max-loras must be at least 1, got {MaxLoras}");
        if (!PossibleRanks.Contains(MaxLoraRank))
            throw new ArgumentException($"--max-lora-rank must be one of {string.Join(", ", PossibleRanks)}, got {MaxLoraRank}");
        if (MaxCpuLoras is int c && c < MaxLoras)
            throw new ArgumentException($"--max-cpu-loras ({c}) must be at least --max-loras ({MaxLoras})");
    }
}
